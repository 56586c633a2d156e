"""Errors of the legal-time library. Each one names what the caller must do."""

from __future__ import annotations

CALENDAR_FILE_ENV = "LIANDIAO_CALENDAR_FILE"


class LegalTimeError(Exception):
    """Base class for every error raised by liandiao.legaltime."""


class CalendarNotLoaded(LegalTimeError, LookupError):
    """A date falls in a year whose official holiday schedule is not loaded.

    Working days and the roll-forward of CPL 2023 Art.85 depend on the State Council's
    yearly schedule; guessing it (weekends only) would move legal deadlines, so we refuse.
    """

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            f"the official holiday schedule for {year} is not loaded: legal deadlines touching "
            f"{year} cannot be computed. Add the State Council's {year} schedule to the file "
            f"named by {CALENDAR_FILE_ENV} (see liandiao/legaltime/data/README.md)."
        )


class CalendarDataError(LegalTimeError, ValueError):
    """A calendar data file is missing, unreadable or inconsistent."""


class NotConfigurable(LegalTimeError, ValueError):
    """A statutory period was given a different length; only practice values may change."""

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        super().__init__(
            f"period {name!r} is fixed by law ({source}) and cannot be configured"
        )


class NaiveDatetime(LegalTimeError, ValueError):
    """A datetime without tzinfo was given; its instant, and so its China date, is unknown."""

    def __init__(self, value: object) -> None:
        super().__init__(
            f"naive datetime {value!r}: pass an aware datetime (e.g. UTC) or a date in China time"
        )
