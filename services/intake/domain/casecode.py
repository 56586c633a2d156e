"""The parties' case code (一案一码): what is printed on a registration's receipt and
typed on the status page.

Ten characters of Douglas Crockford's base32 alphabet: digits and capital letters
without I, L, O and U, so that nothing reads as another character (1/I/L, 0/O) and no
accidental word forms. Nine are random (45 bits from ``secrets``), the tenth a check
character (Luhn mod 32), which catches every single mistyped character and every swap of
two neighbours except one pair of values (0 and 31, i.e. "0" and "Z"; pinned in the
tests). The code carries no date, region or sequence: knowing one code tells nothing of
another, nor of the dispute behind it.

Typing is forgiving where it cannot be wrong: lower case, spaces and hyphens are ignored,
and I/L are read as 1 and O as 0, as Crockford's decoding prescribes."""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_LENGTH = 9
LENGTH = RANDOM_LENGTH + 1
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_ALIASES = {"I": "1", "L": "1", "O": "0"}
_IGNORED = " -\u3000\u2010\u2011\u2012\u2013\u2014\uff0d"   # spaces and the hyphens phones type


def check_character(body: str) -> str:
    """The Luhn mod 32 check character of ``body`` (characters of ALPHABET)."""
    n = len(ALPHABET)
    total, factor = 0, 2
    for c in reversed(body):
        addend = factor * _VALUE[c]
        total += addend // n + addend % n
        factor = 3 - factor
    return ALPHABET[(n - total % n) % n]


def is_valid(code: str) -> bool:
    """Whether ``code`` (canonical: ALPHABET characters only) has its check character right."""
    return (len(code) == LENGTH and all(c in _VALUE for c in code)
            and check_character(code[:-1]) == code[-1])


def new_code() -> str:
    """A fresh code, canonical form (ten characters, no hyphen)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + check_character(body)


def canonical(text: str) -> str | None:
    """The code a person typed, in canonical form, or None when it cannot be a code
    (wrong length, a character outside the alphabet, or a check character that does
    not match: a typo)."""
    cleaned = "".join(_ALIASES.get(c, c) for c in text.upper() if c not in _IGNORED)
    return cleaned if is_valid(cleaned) else None


def shown(code: str) -> str:
    """How a code is printed and displayed: two groups of five, "7KQ4M-2XH9P"."""
    return f"{code[:5]}-{code[5:]}"


def lookup_input(code: str) -> str:
    """What the keyed hash of a code is taken over (liandiao.pii fingerprint): the
    canonical code under a label of its own, so that it can never equal the
    fingerprint of an ID number or any other value fingerprinted with the same key."""
    return f"liandiao/case-code/v1:{code}"
