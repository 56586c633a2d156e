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
)
from services.confirmation.domain.application import Application
from services.confirmation.domain.states import Status


class DeadlineKind(StrEnum):
    ACCEPT = "accept"  # SPC-2011 Art.4
    DECIDE = "decide"  # SPC-2011 Art.5


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


@dataclass(frozen=True)
class ReminderPolicy:
    """Remind the judge `lead_days` calendar days before each deadline's last day (0: on the last
    day itself), at 00:00 China time. Practice, not statute: configuration."""

    lead_days: tuple[int, ...] = (1,)

    def __post_init__(self) -> None:
        if not self.lead_days or any(isinstance(d, bool) or d < 0 for d in self.lead_days):
            raise ValueError("lead_days: one or more whole days, none negative")
        if len(set(self.lead_days)) != len(self.lead_days):
            raise ValueError("lead_days: each lead once")


def reminder_time(d: Deadline, lead_days: int) -> datetime:
    return start_of_china_day(d.last_day - timedelta(days=lead_days))


def due_reminder(app: Application, now: datetime, policy: ReminderPolicy) -> tuple[DeadlineKind, Deadline, int] | None:
    """The reminder to send now, if one is due: of the leads whose time has come, the shortest
    (a sweep that comes late sends one reminder, the most urgent, not a burst). Nothing after the
    deadline has passed: the application is then overdue instead."""
    current = court_deadline(app)
    if current is None:
        return None
    kind, d = current
    if is_expired(d, now):
        return None
    due = [lead for lead in policy.lead_days if reminder_time(d, lead) <= now]
    if not due:
        return None
    lead = min(due)
    sent = [s for k, day, s in app.reminders_sent if k == kind.value and day == d.last_day.isoformat()]
    if any(s <= lead for s in sent):
        return None
    return kind, d, lead


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
