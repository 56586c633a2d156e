"""The official holiday calendar: which days in China are working days and which are rest days.

The State Council publishes each year's schedule (国务院办公厅关于X年部分节假日安排的通知) late in
the year before. It lists the holiday periods (法定节假日, including the weekend days inside a
period) and the make-up working days (调休上班), which are always a Saturday or a Sunday.
The schedule is data: shipped in data/cn_calendar.json and extended or corrected by operators
through the file named by LIANDIAO_CALENDAR_FILE (see data/README.md).

A day is a rest day when it lies in a holiday period, or when it is a Saturday or Sunday that is
not a make-up working day (weekly rest days, State Council rules on working hours, Art.7).
Every other day is a working day. A date in a year whose schedule is not loaded raises
CalendarNotLoaded: this module never guesses.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import CALENDAR_FILE_ENV, CalendarDataError, CalendarNotLoaded

FORMAT_VERSION = 1
_SATURDAY = 5


@dataclass(frozen=True)
class YearSchedule:
    """One year's official schedule, as published by the State Council."""

    year: int
    holidays: tuple[tuple[date, str], ...]  # (day, holiday name), one entry per day
    makeup_working_days: frozenset[date]
    source: str = ""

    def __post_init__(self) -> None:
        days = [day for day, _ in self.holidays]
        if len(days) != len(set(days)):
            raise CalendarDataError(f"{self.year}: a holiday date is listed twice")
        for day in (*days, *self.makeup_working_days):
            # A schedule may touch the neighbouring year (e.g. a make-up day on 31 December).
            if abs(day.year - self.year) > 1:
                raise CalendarDataError(
                    f"{self.year}: date {day} is too far from the year"
                )
        both = set(days) & self.makeup_working_days
        if both:
            raise CalendarDataError(
                f"{self.year}: both holiday and make-up day: {sorted(both)}"
            )
        weekdays = sorted(
            d for d in self.makeup_working_days if d.weekday() < _SATURDAY
        )
        if weekdays:
            raise CalendarDataError(
                f"{self.year}: make-up working days must fall on a weekend: {weekdays}"
            )


@dataclass(frozen=True)
class HolidayCalendar:
    """Working and rest days for the years whose official schedules are loaded."""

    schedules: tuple[YearSchedule, ...]
    # When True, a year without an official schedule counts ordinary weekends only
    # instead of raising; deadlines that touch such a year come out *provisional*
    # (see deadlines.deadline). Services run this way so that a case opened in
    # December is not refused while the State Council's next schedule is pending.
    weekend_fallback: bool = False
    _names: Mapping[date, str] = field(init=False, repr=False, compare=False)
    _makeup: frozenset[date] = field(init=False, repr=False, compare=False)
    _years: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        years = [s.year for s in self.schedules]
        if len(years) != len(set(years)):
            raise CalendarDataError("a year has more than one schedule")
        names = {day: name for s in self.schedules for day, name in s.holidays}
        makeup = frozenset(d for s in self.schedules for d in s.makeup_working_days)
        clash = names.keys() & makeup
        if clash:
            raise CalendarDataError(f"schedules disagree about {sorted(clash)}")
        object.__setattr__(self, "_names", MappingProxyType(names))
        object.__setattr__(self, "_makeup", makeup)
        object.__setattr__(self, "_years", frozenset(years))

    @property
    def years(self) -> frozenset[int]:
        return self._years

    def covers(self, day: date | int) -> bool:
        """True when the official schedule of the day's year (or of that year) is loaded."""
        year = day if isinstance(day, int) else _plain_date(day).year
        return year in self._years

    def is_statutory_holiday(self, day: date) -> bool:
        """A day of an official holiday period (法定节假日), weekends inside the period included."""
        return self._checked(day) in self._names

    def is_makeup_working_day(self, day: date) -> bool:
        """A Saturday or Sunday on which people work to make up for a holiday (调休上班)."""
        return self._checked(day) in self._makeup

    def is_rest_day(self, day: date) -> bool:
        """A statutory holiday, or an ordinary Saturday/Sunday that is not a make-up working day."""
        day = self._checked(day)
        if day in self._names:
            return True
        if day in self._makeup:
            return False
        return day.weekday() >= _SATURDAY

    def is_working_day(self, day: date) -> bool:
        return not self.is_rest_day(day)

    def holiday_name(self, day: date) -> str | None:
        return self._names.get(self._checked(day))

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day = _plain_date(day) + timedelta(days=1)
        while self.is_rest_day(day):
            day += timedelta(days=1)
        return day

    def with_weekend_fallback(self) -> HolidayCalendar:
        """This calendar, counting only weekends in years it has no schedule for."""
        return replace(self, weekend_fallback=True)

    def _checked(self, day: date) -> date:
        day = _plain_date(day)
        if day.year not in self._years and not self.weekend_fallback:
            raise CalendarNotLoaded(day.year)
        return day


def _plain_date(day: date) -> date:
    # datetime is a subclass of date but never equals one: reject it rather than miss holidays.
    if isinstance(day, datetime):
        raise TypeError("pass a date; convert an instant with to_china_date() first")
    return day


# ---- reading the data ---------------------------------------------------------------------


def parse_schedules(
    doc: Mapping[str, Any], origin: str = "calendar data"
) -> dict[int, YearSchedule]:
    """Year schedules from a decoded calendar document (format described in data/README.md)."""
    if not isinstance(doc, Mapping) or doc.get("format") != FORMAT_VERSION:
        raise CalendarDataError(
            f'{origin}: expected an object with "format": {FORMAT_VERSION}'
        )
    years = doc.get("years")
    if not isinstance(years, Mapping):
        raise CalendarDataError(f'{origin}: "years" must be an object keyed by year')
    try:
        return {int(key): _parse_year(int(key), block) for key, block in years.items()}
    except CalendarDataError as exc:
        raise CalendarDataError(f"{origin}: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise CalendarDataError(f"{origin}: malformed entry ({exc!r})") from exc


def _parse_year(year: int, block: Mapping[str, Any]) -> YearSchedule:
    holidays: list[tuple[date, str]] = []
    for entry in block["holidays"]:
        first, last = (
            date.fromisoformat(entry["first"]),
            date.fromisoformat(entry["last"]),
        )
        if last < first:
            raise CalendarDataError(
                f"{year}: holiday {entry['name']!r} ends before it starts"
            )
        holidays.extend(
            (first + timedelta(days=i), str(entry["name"]))
            for i in range((last - first).days + 1)
        )
    makeup = frozenset(
        date.fromisoformat(e["date"]) for e in block["makeup_working_days"]
    )
    return YearSchedule(year, tuple(holidays), makeup, str(block.get("source", "")))


def calendar_from_schedules(schedules: Iterable[YearSchedule]) -> HolidayCalendar:
    return HolidayCalendar(tuple(sorted(schedules, key=lambda s: s.year)))


def parse_calendar(doc: Mapping[str, Any]) -> HolidayCalendar:
    """A calendar from one decoded document only (no shipped data): for tools and tests."""
    return calendar_from_schedules(parse_schedules(doc).values())


def _read_document(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CalendarDataError(f"cannot read calendar file {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise CalendarDataError(
            f"calendar file {path} is not valid JSON: {exc}"
        ) from exc


def _shipped_document() -> Any:
    text = (
        resources.files("liandiao.legaltime")
        .joinpath("data", "cn_calendar.json")
        .read_text("utf-8")
    )
    return json.loads(text)


def load_calendar(path: str | os.PathLike[str] | None = None) -> HolidayCalendar:
    """The shipped schedules, overlaid with an operator file.

    The operator file is `path`, or else the file named by $LIANDIAO_CALENDAR_FILE, if any.
    A year present in the operator file replaces the shipped year as a whole; new years extend
    the calendar. Results are cached per operator file: edit the file, then restart the process.
    """
    if path is None:
        path = os.environ.get(CALENDAR_FILE_ENV) or None
    return _load_cached(os.fspath(path) if path is not None else None)


@functools.lru_cache(maxsize=8)
def _load_cached(override: str | None) -> HolidayCalendar:
    schedules = parse_schedules(_shipped_document(), "shipped cn_calendar.json")
    if override is not None:
        operator = Path(override)
        schedules.update(parse_schedules(_read_document(operator), str(operator)))
    return calendar_from_schedules(schedules.values())


def shipped_calendar() -> HolidayCalendar:
    """The schedules shipped with the library only, ignoring any operator file."""
    return _load_cached(None)


def clear_calendar_cache() -> None:
    """Forget loaded calendars (tests; a process that re-reads its operator file)."""
    _load_cached.cache_clear()
