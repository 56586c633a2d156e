"""Case numbers (案号): （2026）蒙0502民特123号 = （year）court code + case type + sequence + 号.

SPC rules on case numbers (人民法院案件案号规定): the year is the year the case is docketed
(立案); the court code (法院代字) is the province's one-character abbreviation followed, for an
intermediate court, by the two prefecture digits of its GB/T 2260 code and, for a basic court,
by its four prefecture+county digits (蒙0502: Inner Mongolia 15, Tongliao 05, Horqin 02); a high
court is the abbreviation alone. A tribunal's cases carry its basic court's code. Confirmations
are special-procedure cases, type 民特; those after the court's own pre-filing mediation are
诉前调确 (since 2022). Sequences run per court code, year and type; the store hands them out
gapless and race-safe; this module only formats and parses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from services.confirmation.domain.errors import InvalidCaseNumber
from services.confirmation.domain.model import Agreement, Court, CourtLevel


class CaseType(StrEnum):
    CIVIL_SPECIAL = "民特"
    PRE_FILING_CONFIRMATION = "诉前调确"


# GB/T 2260 province codes -> the abbreviations courts use (mainland provinces only).
PROVINCE_ABBREVIATIONS: MappingProxyType[str, str] = MappingProxyType({
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙",
    "21": "辽", "22": "吉", "23": "黑",
    "31": "沪", "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣", "37": "鲁",
    "41": "豫", "42": "鄂", "43": "湘", "44": "粤", "45": "桂", "46": "琼",
    "50": "渝", "51": "川", "52": "贵", "53": "云", "54": "藏",
    "61": "陕", "62": "甘", "63": "青", "64": "宁", "65": "新",
})
_DIGITS_AFTER_PROVINCE = {CourtLevel.HIGH: 0, CourtLevel.INTERMEDIATE: 2, CourtLevel.BASIC: 4}

_ABBREVIATIONS = "".join(PROVINCE_ABBREVIATIONS.values())
_TYPES = "|".join(re.escape(t.value) for t in CaseType)
_PATTERN = re.compile(
    rf"[（(](?P<year>\d{{4}})[）)](?P<court>[{_ABBREVIATIONS}兵](?:\d{{2}}){{0,2}})"
    rf"(?P<type>{_TYPES})(?P<seq>[1-9]\d{{0,8}})号"
)


def court_code(court: Court) -> str:
    """The court code of the court that numbers this court's cases (a tribunal: its basic court)."""
    seat = court.seat
    if seat.case_code:
        return seat.case_code
    abbreviation = PROVINCE_ABBREVIATIONS.get(seat.region_code[:2])
    if abbreviation is None:
        raise ValueError(f"court {seat.court_id}: no court abbreviation for region {seat.region_code}; set case_code")
    return abbreviation + seat.region_code[2:2 + _DIGITS_AFTER_PROVINCE[seat.level]]


def case_type_for(agreement: Agreement, court: Court) -> CaseType:
    """诉前调确 when this court delegated the mediation before filing (its pre-filing mediation)."""
    if agreement.delegating_court_id and agreement.delegating_court_id == court.court_id:
        return CaseType.PRE_FILING_CONFIRMATION
    return CaseType.CIVIL_SPECIAL


@dataclass(frozen=True, order=True)
class CaseNumber:
    year: int
    court_code: str
    case_type: CaseType
    sequence: int

    def __post_init__(self) -> None:
        if not 1000 <= self.year <= 9999:
            raise InvalidCaseNumber(f"year {self.year} is not four digits")
        if isinstance(self.sequence, bool) or not 1 <= self.sequence <= 999_999_999:
            raise InvalidCaseNumber(f"sequence {self.sequence} must be 1 or more")
        text = self.text
        if _PATTERN.fullmatch(text) is None:
            raise InvalidCaseNumber(f"court code {self.court_code!r} is not a court code")

    @property
    def text(self) -> str:
        return f"（{self.year}）{self.court_code}{self.case_type.value}{self.sequence}号"

    def __str__(self) -> str:
        return self.text

    @property
    def counter_key(self) -> tuple[str, int, CaseType]:
        """What a sequence runs per: court code, year, type."""
        return (self.court_code, self.year, self.case_type)


def format_case_number(court: Court, year: int, case_type: CaseType, sequence: int) -> CaseNumber:
    return CaseNumber(year, court_code(court), case_type, sequence)


def parse_case_number(text: str) -> CaseNumber:
    """Full-width brackets are the form; ASCII brackets are read and normalized to it."""
    match = _PATTERN.fullmatch(text.strip())
    if match is None:
        raise InvalidCaseNumber(f"{text!r} is not a case number like （2026）蒙0502民特123号")
    return CaseNumber(int(match["year"]), match["court"], CaseType(match["type"]), int(match["seq"]))
