"""After the ruling: objection windows and the enforcement deadline, as pure functions.

SPC-Interp Art.372: a party who thinks a special-procedure ruling wrong objects to the court
that made it within 15 days of receiving it; an interested third party (利害关系人) within six
months of the day it knew or should have known its civil rights were harmed. Counting: CPL
2023 Art.85 (the start day not counted, the last day rolled past rest days); months by Civil
Code Art.202 (liandiao.legaltime).

CPL 2023 Art.250: enforcement of a confirmed agreement is applied for within 2 years, from the
last day of the performance period the document sets (the last instalment's), or from the day
the document takes effect if it sets none (para.2). Two years ahead usually lies in a year whose
holiday schedule is not published: that deadline is counted on weekends and marked provisional
(the project's rule for unpublished years), to be recounted once the year is loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from liandiao.legaltime import Deadline, HolidayCalendar, deadline, is_expired, statutory, to_china_date
from services.confirmation.domain.model import Term


def party_objection_window(received: date | datetime, calendar: HolidayCalendar) -> Deadline:
    """From the party's receipt (service) of the ruling: 15 days."""
    return deadline(received, statutory.PARTY_OBJECTION_TO_CONFIRMATION, calendar)


def third_party_objection_window(knew: date | datetime, calendar: HolidayCalendar) -> Deadline:
    """From the day the third party knew or should have known of the harm: 6 months."""
    return deadline(knew, statutory.THIRD_PARTY_OBJECTION_TO_CONFIRMATION, calendar)


def objection_in_time(window: Deadline, now: datetime) -> bool:
    return not is_expired(window, now)


def enforcement_start(terms: Iterable[Term], effective: date | datetime) -> date:
    """The day the 2 years run from: the last performance day the terms set, but never before the
    ruling takes effect (enforcement cannot be applied for before there is an enforceable ruling)."""
    effective_on = to_china_date(effective)
    due = [t.due_on for t in terms if t.due_on is not None]
    return max([effective_on, *due])


def enforcement_deadline(terms: Iterable[Term], effective: date | datetime, calendar: HolidayCalendar) -> Deadline:
    return deadline(enforcement_start(terms, effective), statutory.ENFORCEMENT_APPLICATION,
                    calendar.with_weekend_fallback())
