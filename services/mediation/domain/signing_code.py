"""The one-time code that confirms a party's online e-signature (SPC-Online Art.19).

An e-signature is reliable when the signing data is under the signer's sole control and a later
change to it is detectable (Electronic Signature Law Art.13). The code, sent by SMS to the
party's own phone, is that control: whoever enters it holds the phone. So the code must be
unguessable, short-lived, tied to one party and one text, and good once.

Pinned numbers (practice of SMS verification, not statute; chosen here and tested at their
boundaries):
- CODE_DIGITS = 6: one in a million per guess;
- VALID_MINUTES = 10: good until issued_at + 10 minutes, refused from that instant on;
- MAX_ATTEMPTS = 5: the fifth wrong entry spends the code; a new one must be asked for.
  With 5 guesses at 10^-6 each, a stranger's chance is 5 in a million per code.

The code is never stored: only SM3(challenge_id ":" code), salted by the challenge id so two
equal codes do not share a hash. A new code for the same party and agreement voids the old one.
Pure: randomness and `now` come in as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from hmac import compare_digest

from liandiao.errors import RuleViolation
from liandiao.signing import sm3_hex
from services.mediation.domain.errors import invalid

CODE_DIGITS = 6
VALID_MINUTES = 10
MAX_ATTEMPTS = 5


@dataclass(frozen=True, kw_only=True)
class Challenge:
    challenge_id: str
    agreement_id: str
    party_id: str
    digest: str  # the agreement text the code signs
    code_hash: str
    issued_at: datetime
    expires_at: datetime
    attempts: int = 0  # wrong entries so far
    used_at: datetime | None = None


def code_hash(challenge_id: str, code: str) -> str:
    return sm3_hex(f"{challenge_id}:{code}".encode())


def make_code(number: int) -> str:
    """`number` from a CSPRNG (secrets.randbelow(10**CODE_DIGITS)), written with its zeros."""
    if not 0 <= number < 10**CODE_DIGITS:
        raise ValueError("a code is drawn below 10**CODE_DIGITS")
    return f"{number:0{CODE_DIGITS}d}"


def issue(challenge_id: str, agreement_id: str, party_id: str, digest: str, code: str, now: datetime) -> Challenge:
    return Challenge(challenge_id=challenge_id, agreement_id=agreement_id, party_id=party_id, digest=digest,
                     code_hash=code_hash(challenge_id, code), issued_at=now,
                     expires_at=now + timedelta(minutes=VALID_MINUTES))


class CodeRefused(RuleViolation):
    """The code cannot confirm a signature any more (expired, used, spent, another text)."""

    def __init__(self, why: str) -> None:
        super().__init__("agreement.one-time-code", why)


@dataclass(frozen=True)
class CodeCheck:
    """The challenge after the entry, and the error to raise (None: the code is good)."""

    challenge: Challenge
    error: Exception | None


def check_code(challenge: Challenge | None, code: str, digest: str, now: datetime) -> CodeCheck | None:
    """Check an entered code. None when no code was ever asked for. A wrong entry counts an
    attempt (the caller stores the counted challenge even though the signature is refused);
    a good one marks the challenge used."""
    code = code.strip()
    if challenge is None:
        return None
    if challenge.used_at is not None:
        return CodeCheck(challenge, CodeRefused("this code was already used; ask for a new one"))
    if now >= challenge.expires_at:
        return CodeCheck(challenge, CodeRefused(f"the code expired at {challenge.expires_at.isoformat()} "
                                                f"({VALID_MINUTES} minutes); ask for a new one"))
    if challenge.attempts >= MAX_ATTEMPTS:
        return CodeCheck(challenge, CodeRefused(f"{MAX_ATTEMPTS} wrong entries spent the code; ask for a new one"))
    if challenge.digest != digest:
        return CodeCheck(challenge, CodeRefused("the code was sent for another version of the agreement's text"))
    if not compare_digest(code_hash(challenge.challenge_id, code), challenge.code_hash):
        counted = replace(challenge, attempts=challenge.attempts + 1)
        left = MAX_ATTEMPTS - counted.attempts
        why = f"wrong code; {left} attempt(s) left" if left else "wrong code; the code is spent, ask for a new one"
        return CodeCheck(counted, invalid("one_time_code", why))
    return CodeCheck(replace(challenge, used_at=now), None)
