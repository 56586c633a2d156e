"""A named legal period: its length, its unit and the rule it comes from."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from .errors import NotConfigurable


class Unit(Enum):
    """How a period is counted (CPL 2023 Art.85; months and years per Civil Code Art.202)."""

    # 日: every day counts; the last day rolls past rest days.
    CALENDAR_DAYS = "calendar_days"
    # 工作日: only working days of the official calendar count.
    WORKING_DAYS = "working_days"
    # 月: the same day number N months later, or that month's last day.
    MONTHS = "months"
    # 年: the same day N years later (28 February for 29 February).
    YEARS = "years"


@dataclass(frozen=True)
class Period:
    """A legal or practice time limit.

    `source` cites the rule (e.g. "CPL 2023 Art.205"). `configurable` marks practice values
    that a region may change; statutory lengths are fixed.
    """

    name: str
    length: int
    unit: Unit
    source: str
    configurable: bool = False

    def __post_init__(self) -> None:
        if not self.name or not self.source:
            raise ValueError("a period needs a name and a source")
        if (
            isinstance(self.length, bool)
            or not isinstance(self.length, int)
            or self.length < 1
        ):
            raise ValueError(f"period {self.name!r}: length must be a positive integer")

    def configured(self, length: int) -> Period:
        """This practice period with a region's length; refuses to alter a statutory one."""
        if not self.configurable:
            raise NotConfigurable(self.name, self.source)
        return replace(self, length=length)
