"""Deadline arithmetic: pure functions of a start, a named period and the holiday calendar.

Counting (CPL 2023 Art.85): the day on which a period starts is not counted; the period runs
from the next day. If the last day of a period falls on a statutory rest day (法定休假日), the
period ends on the first day after it.

Roll-forward decision. Art.85 says 法定休假日 ("statutory rest days"), not only the festival
holidays: weekly rest days are statutory rest days too (State Council rules on working hours,
Art.7: Saturday and Sunday are the weekly rest days), and the civil-law counting rule this
mirrors (Civil Code Art.203) uses the same term. The SPC's former civil-law opinion (民通意见
Art.198, repealed 2021) spelled it out: "Sunday or another statutory rest day", and where rest
days are shifted, the actual rest day counts. So the last day rolls forward past ANY rest day of
the official calendar (a holiday-period day, or a Saturday/Sunday that is not a make-up working
day) to the next working day; a make-up working day (调休上班) is a working day and ends a period.

Units:
- CALENDAR_DAYS: last day = start day + N days, then roll forward.
- WORKING_DAYS: the Nth working day after the start day (rest days skipped, make-up days count).
  It is a working day by construction, so there is nothing to roll.
- MONTHS / YEARS: the same day number N months (12·N) later, or the month's last day if there is
  none (Civil Code Art.202), then roll forward.

Days are China days (UTC+8): an aware instant is converted before its date is taken. The last
day ends at 24:00 China time (Civil Code Art.203); `expires_at` is that bound as an exclusive
instant, 00:00 China time of the next day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .calendar import HolidayCalendar
from .chinatime import start_of_china_day, to_china_date
from .errors import NaiveDatetime
from .periods import Period, Unit

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Deadline:
    """A computed deadline, to be stored on the event that started the clock."""

    period: Period
    started_on: date  # China date of the start event; not counted (CPL 2023 Art.85)
    nominal_last_day: date  # before rolling past rest days
    last_day: date  # the last day on which the act is in time
    expires_at: datetime  # exclusive: 00:00 China time after last_day
    # Counted across a year whose official schedule was not loaded (weekends only,
    # see HolidayCalendar.weekend_fallback): recompute once operators load it.
    provisional: bool = False

    @property
    def rolled_forward(self) -> bool:
        return self.last_day != self.nominal_last_day


def add_months(day: date, months: int) -> date:
    """Same day number `months` later, or that month's last day (Civil Code Art.202)."""
    years, month_index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month_index + 1
    return date(year, month, min(day.day, _days_in_month(year, month)))


def _days_in_month(year: int, month: int) -> int:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return (first_of_next - _DAY).day


def nominal_last_day(start: date | datetime, period: Period) -> date:
    """The last day before any roll-forward; needs no calendar (not for working-day periods).

    For long periods whose end year has no published schedule yet (e.g. the 2-year enforcement
    period), store this and compute the real deadline once that year's schedule is loaded.
    """
    started_on = to_china_date(start)
    if period.unit is Unit.CALENDAR_DAYS:
        return started_on + timedelta(days=period.length)
    if period.unit is Unit.MONTHS:
        return add_months(started_on, period.length)
    if period.unit is Unit.YEARS:
        return add_months(started_on, 12 * period.length)
    raise ValueError(
        f"{period.name}: a working-day period has no calendar-free last day"
    )


def roll_forward(day: date, calendar: HolidayCalendar) -> date:
    """`day` if it is a working day, else the next working day (CPL 2023 Art.85)."""
    while calendar.is_rest_day(day):
        day += _DAY
    return day


def nth_working_day_after(day: date, n: int, calendar: HolidayCalendar) -> date:
    """The `n`th working day after `day` (`day` itself never counts)."""
    for _ in range(n):
        day = calendar.next_working_day(day)
    return day


def deadline(
    start: date | datetime, period: Period, calendar: HolidayCalendar
) -> Deadline:
    """The deadline of `period` started by an event at `start` (aware instant or China date).

    Raises CalendarNotLoaded when a day the count depends on lies in a year without a schedule.
    """
    started_on = to_china_date(start)
    if period.unit is Unit.WORKING_DAYS:
        nominal = last = nth_working_day_after(started_on, period.length, calendar)
    else:
        nominal = nominal_last_day(started_on, period)
        last = roll_forward(nominal, calendar)
    return Deadline(
        period=period,
        started_on=started_on,
        nominal_last_day=nominal,
        last_day=last,
        expires_at=start_of_china_day(last + _DAY),
        provisional=any(not calendar.covers(y) for y in range(started_on.year, last.year + 1)),
    )


def is_expired(deadline: Deadline, now: datetime) -> bool:
    """True once `now` (an aware instant) is past the end of the deadline's last day in China."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise NaiveDatetime(now)
    return now >= deadline.expires_at


def working_days_between(
    after: date | datetime, until: date | datetime, calendar: HolidayCalendar
) -> int:
    """Working days d with after < d <= until (China days): "which working day is `until`?"

    An answer on working day 3 of a 3-working-day period is in time; on day 4 it is late.
    """
    first, last = to_china_date(after), to_china_date(until)
    if last < first:
        raise ValueError(f"{until!r} is before {after!r}")
    count, day = 0, first + _DAY
    while day <= last:
        count += calendar.is_working_day(day)
        day += _DAY
    return count
