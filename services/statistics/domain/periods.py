"""Calendar periods of the statistics: a year, a quarter or a month in China Standard
Time, written "2026", "2026-Q2", "2026-05". A period is the half-open interval
[00:00 CST of its first day, 00:00 CST of the day after its last day): an event at
midnight on 1 July belongs to July, never to June. Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from liandiao.errors import FieldViolation, InvalidInput

CST = ZoneInfo("Asia/Shanghai")
FIRST_YEAR, LAST_YEAR = 2000, 2100
_FORM = re.compile(r"^(\d{4})(?:-(Q[1-4]|\d{2}))?$")


class PeriodKind(StrEnum):
    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"


@dataclass(frozen=True, order=True)
class Period:
    year: int
    kind: PeriodKind
    number: int = 0   # the quarter (1-4) or month (1-12); 0 for a year

    @property
    def first_month(self) -> int:
        return {PeriodKind.YEAR: 1, PeriodKind.QUARTER: 3 * self.number - 2, PeriodKind.MONTH: self.number}[self.kind]

    @property
    def month_count(self) -> int:
        return {PeriodKind.YEAR: 12, PeriodKind.QUARTER: 3, PeriodKind.MONTH: 1}[self.kind]

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.first_month, 1, tzinfo=CST)

    @property
    def end(self) -> datetime:
        month0 = self.first_month - 1 + self.month_count
        return datetime(self.year + month0 // 12, month0 % 12 + 1, 1, tzinfo=CST)

    def months(self) -> tuple[Period, ...]:
        return tuple(Period(self.year, PeriodKind.MONTH, self.first_month + i) for i in range(self.month_count))

    def previous_year(self) -> Period:
        """The same period one year earlier: the comparison (同比) of the board."""
        return Period(self.year - 1, self.kind, self.number)

    def __str__(self) -> str:
        if self.kind is PeriodKind.YEAR:
            return f"{self.year:04d}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.year:04d}-Q{self.number}"
        return f"{self.year:04d}-{self.number:02d}"


_HINT = 'a year "2026", a quarter "2026-Q2" or a month "2026-05"'


def parse_period(text: str, field: str = "period") -> Period:
    """A period from its written form, or InvalidInput naming ``field``."""
    found = _FORM.match(text)
    if not found:
        raise InvalidInput(FieldViolation(field, "required: " + _HINT if not text else "is not " + _HINT))
    year = int(found.group(1))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(FieldViolation(field, f"year must be {FIRST_YEAR}..{LAST_YEAR}"))
    part = found.group(2)
    if part is None:
        return Period(year, PeriodKind.YEAR)
    if part.startswith("Q"):
        return Period(year, PeriodKind.QUARTER, int(part[1]))
    month = int(part)
    if not 1 <= month <= 12:
        raise InvalidInput(FieldViolation(field, "month must be 01..12"))
    return Period(year, PeriodKind.MONTH, month)


def parse_month(text: str, field: str) -> Period:
    """External figures are reported per month (the systems' own reporting cycle); a
    quarter or a year is the sum of its months on the board."""
    period = parse_period(text, field)
    if period.kind is not PeriodKind.MONTH:
        raise InvalidInput(FieldViolation(field, 'external figures are reported per month, e.g. "2026-05"'))
    return period
