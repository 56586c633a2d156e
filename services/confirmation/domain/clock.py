"""The court's clock: when it must accept, when it must rule, reminders, and what is overdue.

- Accept or refuse within 3 days of receiving the application (SPC-2011 Art.4). When materials
  were missing, the 3 days run again from the day the court has them all: a court cannot
  decide on an incomplete file, and the deadline it set to supplement them (SPC-Interp Art.354)
  would otherwise always overrun the 3 days. (Same logic as SPC-Interp Art.208 for complaints:
  the time to decide runs once the materials are complete.)
- Rule within 15 days of acceptance; once, by 10 more, with the court president's approval
  (SPC-2011 Art.5). The statutory ceiling is 30 days from 立案 (CPL 2023 Art.187); counted from
  the same acceptance it always ends on or after the 25-day deadline, so it is shown, not
  enforced separately.
- Counting is CPL 2023 Art.85 with the holiday calendar (liandiao.legaltime).
- A late acceptance or ruling is still valid; it is flagged `late` and listed as overdue for
  the tribunal's head until it is done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from liandiao.legaltime import (
    Deadline,
    HolidayCalendar,
    deadline,
    is_expired,
    start_of_china_day,
    statutory,
    to_china_date,
    working_days_between,
)
from services.confirmation.domain.application import Application
from services.confirmation.domain.states import Status


class DeadlineKind(StrEnum):
    ACCEPT = "accept"  # SPC-2011 Art.4: the court's
    DECIDE = "decide"  # SPC-2011 Art.5: the court's
    SUPPLEMENT = "supplement"  # SPC-Interp Art.354/356: the applicants', set by the court (Art.357)


class Audience(StrEnum):
    """Who a reminder is for: the court (its clerks before acceptance, the judge after) or the
    applicants (what they still owe the court)."""

    COURT = "court"
    APPLICANTS = "applicants"


AUDIENCE = {DeadlineKind.ACCEPT: Audience.COURT, DeadlineKind.DECIDE: Audience.COURT,
            DeadlineKind.SUPPLEMENT: Audience.APPLICANTS}


def acceptance_deadline(clock_from: datetime, calendar: HolidayCalendar) -> Deadline:
    return deadline(clock_from, statutory.CONFIRMATION_ACCEPTANCE, calendar)


def decision_deadline(accepted_at: datetime, calendar: HolidayCalendar, *, extended: bool = False) -> Deadline:
    period = statutory.CONFIRMATION_DECISION_EXTENDED if extended else statutory.CONFIRMATION_DECISION
    return deadline(accepted_at, period, calendar)


def ceiling_deadline(accepted_at: datetime, calendar: HolidayCalendar) -> Deadline:
    return deadline(accepted_at, statutory.SPECIAL_PROCEDURE_CEILING, calendar)


def court_deadline(app: Application) -> tuple[DeadlineKind, Deadline] | None:
    """The deadline the court is working against now, if any (none while the applicants owe
    materials before acceptance, or once the application is decided)."""
    if app.status is Status.FILED:
        return DeadlineKind.ACCEPT, app.accept_by
    if app.status in (Status.ACCEPTED, Status.REVIEW_AWAITING_SUPPLEMENT) and app.decide_by is not None:
        return DeadlineKind.DECIDE, app.decide_by
    return None


def running_deadlines(app: Application) -> tuple[tuple[DeadlineKind, Deadline], ...]:
    """Every deadline running now: the court's (if any) and, while the court waits for
    materials, the applicants' supplement deadline (both run during review, Art.356)."""
    out = [current] if (current := court_deadline(app)) is not None else []
    if app.status in (Status.AWAITING_SUPPLEMENT, Status.REVIEW_AWAITING_SUPPLEMENT) and app.supplement_by:
        out.append((DeadlineKind.SUPPLEMENT, app.supplement_by))
    return tuple(out)


@dataclass(frozen=True)
class ReminderPolicy:
    """Remind `working_days` working days before each deadline's last day (0: on the last day
    itself), from 00:00 China time that day. Practice, not statute: configuration
    (LIANDIAO_CONFIRMATION_REMINDER_WORKING_DAYS)."""

    working_days: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.working_days, bool) or not 0 <= self.working_days <= 10:
            raise ValueError("working_days: a whole number of working days, 0 to 10")


def reminder_day(d: Deadline, working_days: int, calendar: HolidayCalendar) -> date:
    """The working day on which exactly `working_days` working days remain before the last day
    (Art.85 puts a last day on a working day; make-up working days count, rest days do not)."""
    day = d.last_day
    for _ in range(working_days):
        day -= timedelta(days=1)
        while calendar.is_rest_day(day):
            day -= timedelta(days=1)
    return day


def reminder_time(d: Deadline, working_days: int, calendar: HolidayCalendar) -> datetime:
    return start_of_china_day(reminder_day(d, working_days, calendar))


def _reminded(app: Application, kind: DeadlineKind, d: Deadline) -> bool:
    return any(k == kind.value and day == d.last_day.isoformat() for k, day, _ in app.reminders_sent)


@dataclass(frozen=True)
class DueReminder:
    kind: DeadlineKind
    deadline: Deadline
    working_days_left: int  # working days after today up to and including the last day

    @property
    def audience(self) -> Audience:
        return AUDIENCE[self.kind]


def due_reminders(app: Application, now: datetime, policy: ReminderPolicy,
                  calendar: HolidayCalendar) -> tuple[DueReminder, ...]:
    """The reminders to send now: one per running deadline whose reminder day has come, once per
    deadline (its kind and last day: an extension moves the last day and earns a new one), none
    after the deadline passed (the application is then overdue instead)."""
    out = []
    for kind, d in running_deadlines(app):
        if is_expired(d, now) or _reminded(app, kind, d) or now < reminder_time(d, policy.working_days, calendar):
            continue
        out.append(DueReminder(kind, d, working_days_between(now, d.last_day, calendar)))
    return tuple(out)


def next_reminder_at(app: Application, policy: ReminderPolicy, calendar: HolidayCalendar,
                     now: datetime) -> datetime | None:
    """When the sweep must look at this application for a reminder (None: none pending; a
    deadline already past is overdue, not reminded)."""
    times = [reminder_time(d, policy.working_days, calendar) for kind, d in running_deadlines(app)
             if not _reminded(app, kind, d) and not is_expired(d, now)]
    return min(times) if times else None


@dataclass(frozen=True)
class Overdue:
    application_id: str
    court_id: str
    case_number: str  # empty before acceptance
    kind: DeadlineKind
    last_day: date
    days_overdue: int  # China days after the last day: 1 on the first day late


def overdue(app: Application, now: datetime) -> Overdue | None:
    current = court_deadline(app)
    if current is None or not is_expired(current[1], now):
        return None
    kind, d = current
    return Overdue(app.application_id, app.court.court_id, app.case_number.text if app.case_number else "", kind,
                   d.last_day, (to_china_date(now) - d.last_day).days)


def overdue_list(apps: Iterable[Application], now: datetime) -> tuple[Overdue, ...]:
    """For the tribunal's head: overdue applications, the longest overdue first."""
    found = [o for a in apps if (o := overdue(a, now)) is not None]
    return tuple(sorted(found, key=lambda o: (-o.days_overdue, o.last_day, o.application_id)))
