"""Coordination reminders (pure): each county's coordination group of the "four offices and
one court" (the liaison officers of its police stations, tribunals and judicial offices) is
reminded of its monthly meeting, quarterly analysis and annual summary on a schedule from
configuration (``[[coordination]]`` in routing.toml). Times are China Standard Time; a
reminder is due once per period, and one missed by more than ``grace`` (the service was down
for days) is not sent late."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from liandiao.legaltime import CHINA_TZ

PERIODS = {"month": 1, "quarter": 3, "year": 12}
NAMESPACE = UUID("6c1d7a0e-3b8f-4f3e-9a51-1d0c0a7e2b10")   # source ids of reminders, stable across replicas


class CoordinationError(ValueError):
    """The schedule is wrong; the message names the entry and the field."""


@dataclass(frozen=True)
class Reminder:
    name: str                 # its template is "coordination/<name>"
    every: str                # month | quarter | year
    day: int = 1              # day of the period's first month
    hour: int = 9             # China Standard Time
    channels: tuple[str, ...] = ("sms",)
    grace: timedelta = timedelta(days=1)


def due(r: Reminder, now: datetime) -> datetime | None:
    """The period's due moment if it has come and is within ``grace``, else None."""
    local = now.astimezone(CHINA_TZ)
    step = PERIODS[r.every]
    month = (local.month - 1) // step * step + 1
    at = datetime(local.year, month, r.day, r.hour, tzinfo=CHINA_TZ)
    if at > local:   # not yet this period: the previous one's
        month -= step
        year = local.year + (month - 1) // 12
        at = datetime(year, (month - 1) % 12 + 1, r.day, r.hour, tzinfo=CHINA_TZ)
    return at if local - at <= r.grace else None


def period_label(r: Reminder, at: datetime) -> str:
    """What the reminder is about: the month, the quarter or the year just ended (zh)."""
    local = at.astimezone(CHINA_TZ)
    if r.every == "month":
        return f"{local.year}年{local.month}月"
    before = local.replace(day=1) - timedelta(days=1)
    if r.every == "quarter":
        return f"{before.year}年第{(before.month - 1) // 3 + 1}季度"
    return f"{before.year}年度"


def source_id(r: Reminder, at: datetime) -> UUID:
    """One id per reminder and period: every replica, every tick, makes the same deliveries once."""
    return uuid5(NAMESPACE, f"coordination:{r.name}:{at.isoformat()}")


def parse(entries: Any, templates: set[str], channels: tuple[str, ...]) -> tuple[Reminder, ...]:
    out = []
    for i, e in enumerate(entries or []):
        where = f"coordination[{i}]"
        if not isinstance(e, Mapping):
            raise CoordinationError(f"{where}: a table")
        unknown = set(e) - {"name", "every", "day", "hour", "channels", "grace_hours"}
        if unknown:
            raise CoordinationError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        name = e.get("name", "")
        if f"coordination/{name}" not in templates:
            raise CoordinationError(f"{where}.name: {name!r} has no zh-CN text coordination/{name}")
        if e.get("every") not in PERIODS:
            raise CoordinationError(f"{where}.every: {e.get('every')!r}; one of {', '.join(PERIODS)}")
        day, hour, grace = e.get("day", 1), e.get("hour", 9), e.get("grace_hours", 24)
        if not isinstance(day, int) or not 1 <= day <= 28:
            raise CoordinationError(f"{where}.day: {day!r} is not 1-28 (every month has it)")
        if not isinstance(hour, int) or not 0 <= hour <= 23:
            raise CoordinationError(f"{where}.hour: {hour!r} is not 0-23")
        if not isinstance(grace, int | float) or grace <= 0:
            raise CoordinationError(f"{where}.grace_hours: must be a positive number")
        chans = e.get("channels", ["sms"])
        if not chans or any(c not in channels for c in chans):
            raise CoordinationError(f"{where}.channels: {chans!r}; each one of {', '.join(channels)}")
        out.append(Reminder(name, e["every"], day, hour, tuple(chans), timedelta(hours=grace)))
    return tuple(out)
