"""Citizen identity numbers (GB 11643-1999 公民身份号码) and the cards that share their scheme.

Eighteen characters: address code(6) birth date YYYYMMDD(8) sequence(3, odd = male) check(1).
The check character is ISO 7064 MOD 11-2: S = Σ d_i·w_i over the first 17 digits with
w = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, check = "10X98765432"[S mod 11].

The same layout and check are used by

* residence permits for Hong Kong, Macao and Taiwan residents (港澳台居民居住证, 2018), whose
  address code is 810000, 820000 or 830000;
* the 2023 foreigner's permanent residence ID card (外国人永久居留身份证), which starts with 9,
  followed by the issuing province(2) and nationality(3); its address part is not a region code.

Legacy 15-digit numbers (issued before GB 11643-1999) are address(6) YYMMDD(6) sequence(3) with
no check character; the century is always 19.

Address codes of mainland numbers are deliberately checked only down to the province. A number
keeps the GB/T 2260 code its holder was first registered under, and counties are merged, renamed
and renumbered every year (e.g. 110103 崇文区, now part of 110101), so an old but genuine number
routinely carries a code missing from the current list; rejecting it would refuse real people.
Province codes have been stable since Hainan (46, 1988) and Chongqing (50, 1997) were created.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from liandiao.ids.divisions import DivisionLevel, lookup
from liandiao.ids.errors import InvalidIdentifier
from liandiao.ids.masking import mask_id

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
PERMIT_ADDRESS_CODES = frozenset({"810000", "820000", "830000"})
_DIGITS = frozenset("0123456789")


class IdKind(enum.Enum):
    MAINLAND = "mainland"
    HK_MACAO_TW_PERMIT = "hk_macao_tw_permit"
    FOREIGNER_PR_2023 = "foreigner_pr_2023"
    LEGACY_15 = "legacy_15"


class Sex(enum.Enum):
    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True, slots=True, repr=False)
class ResidentId:
    """A checked ID number. ``number`` is normalised (upper-case X, no surrounding spaces).

    ``region_code`` is the 6-digit address code; ``None`` for the foreigner card, whose leading
    digits are a province and a nationality rather than a division.
    """

    number: str
    kind: IdKind
    birth_date: date
    sex: Sex
    region_code: str | None

    def __repr__(self) -> str:
        # The number is personal information (PIPL): keep it out of logs and tracebacks.
        return f"ResidentId(number={mask_id(self.number)!r}, kind={self.kind.name})"


def check_character(first17: str) -> str:
    """GB 11643-1999 check character for the first 17 digits."""
    if len(first17) != 17 or not set(first17) <= _DIGITS:
        raise InvalidIdentifier(
            "the check character is computed from exactly 17 digits"
        )
    total = sum(
        int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True)
    )
    return CHECK_CHARACTERS[total % 11]


def parse_resident_id(text: str, *, today: date) -> ResidentId:
    """Check an 18- or 15-character ID number; ``today`` bounds the birth date.

    Raises ``InvalidIdentifier`` naming the first fault found, structure before checksum, so a
    mistyped date is reported as a bad date rather than as a wrong check character.
    """
    number = text.strip()
    if number.endswith("x"):
        number = number[:-1] + "X"
    if len(number) == 18:
        return _parse_18(number, today)
    if len(number) == 15:
        return _parse_legacy(number, today)
    raise InvalidIdentifier(
        f"an ID number has 18 characters (15 for a legacy number), got {len(number)}"
    )


def _parse_18(number: str, today: date) -> ResidentId:
    _require_digits(number[:17])
    if number[17] not in _DIGITS and number[17] != "X":
        raise InvalidIdentifier(f"character 18 ({number[17]!r}) must be a digit or X")
    kind = _kind_of(number[:6])
    birth_date = _birth_date(number[6:14], today)
    expected = check_character(number[:17])
    if number[17] != expected:
        raise InvalidIdentifier(
            f"check character should be {expected}, not {number[17]}"
        )
    return ResidentId(
        number=number,
        kind=kind,
        birth_date=birth_date,
        sex=_sex(number[16]),
        region_code=None if kind is IdKind.FOREIGNER_PR_2023 else number[:6],
    )


def _parse_legacy(number: str, today: date) -> ResidentId:
    _require_digits(number)
    _require_mainland_province(number[:6])
    return ResidentId(
        number=number,
        kind=IdKind.LEGACY_15,
        birth_date=_birth_date("19" + number[6:12], today),
        sex=_sex(number[14]),
        region_code=number[:6],
    )


def _require_digits(part: str) -> None:
    for position, character in enumerate(part, start=1):
        if character not in _DIGITS:
            raise InvalidIdentifier(
                f"character {position} ({character!r}) must be a digit"
            )


def _kind_of(address: str) -> IdKind:
    if address.startswith("9"):
        return IdKind.FOREIGNER_PR_2023
    if address in PERMIT_ADDRESS_CODES:
        return IdKind.HK_MACAO_TW_PERMIT
    if address[:2] in ("81", "82", "83"):
        raise InvalidIdentifier(
            f"address code {address} is not a residence-permit code (810000, 820000, 830000)"
        )
    _require_mainland_province(address)
    return IdKind.MAINLAND


def _require_mainland_province(address: str) -> None:
    division = lookup(address[:2])
    if division is None or division.level is not DivisionLevel.PROVINCE:
        raise InvalidIdentifier(
            f"address code {address} does not start with a province code"
            f" ({address[:2]} is not one)"
        )


def _birth_date(yyyymmdd: str, today: date) -> date:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        raise InvalidIdentifier(f"birth date {yyyymmdd} is not a date") from None
    if born > today:
        raise InvalidIdentifier(f"birth date {yyyymmdd} is in the future")
    return born


def _sex(sequence_last_digit: str) -> Sex:
    return Sex.MALE if int(sequence_last_digit) % 2 else Sex.FEMALE
