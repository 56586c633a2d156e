"""China Standard Time: the clock in which legal days begin and end.

A legal day is a calendar day in China (UTC+8, no daylight saving since 1991). Instants are
stored in UTC; they are converted here, once, before any date is taken. Periods are never
computed by adding 24-hour steps to a UTC instant.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import NaiveDatetime


def _china_tz() -> tzinfo:
    try:
        return ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:
        # No tz database on this machine: China has kept UTC+8 without DST since 1991.
        return timezone(timedelta(hours=8), "CST")


CHINA_TZ: tzinfo = _china_tz()


def to_china_date(value: date | datetime) -> date:
    """The calendar day in China of an aware instant; a plain date is taken as a China date."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetime(value)
        return value.astimezone(CHINA_TZ).date()
    return value


def start_of_china_day(day: date) -> datetime:
    """00:00 China time on `day`, as an aware datetime."""
    return datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ)
