"""The performance file (业绩档案) of a mediator: cases and their outcomes, offers
left unanswered, parties' feedback and complaints, training and periodic
evaluations (DOMAIN §6; SPC-Invited Art.10, 28; SPC-Online Art.29). Pure: no I/O.

Removal (除名) is a court's or bureau's decision; the file only flags what a
reviewer should look at, with the rule behind it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from liandiao.errors import FieldViolation, InvalidInput, shown
from services.personnel.limits import COURSE, EARLIEST_YEAR, EVALUATION_NOTES, FEEDBACK, in_calendar

MAX_TRAINING_HOURS = 200
_PERIOD = re.compile(r"^(\d{4})(?:-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?$")


class Outcome(StrEnum):
    OPEN = "open"
    AGREEMENT = "agreement"
    FAILED = "failed"
    # The parties settled between themselves and withdrew (SPC-Online Art.25, first
    # ground after agreement): the case ends without an agreement, but it is not the
    # mediator's failure, so it is counted apart.
    SETTLED = "settled"


class EvaluationResult(StrEnum):
    """Grades of a periodic evaluation (practice, not statute)."""
    EXCELLENT = "excellent"                       # 优秀
    COMPETENT = "competent"                       # 称职
    BASICALLY_COMPETENT = "basically_competent"   # 基本称职
    INCOMPETENT = "incompetent"                   # 不称职


@dataclass(frozen=True)
class ReviewPolicy:
    """When the file flags a mediator for review. Practice, not statute: the numbers
    are configuration (LIANDIAO_PERSONNEL_LAPSED_OFFERS_REVIEW, ..._COMPLAINTS_REVIEW)."""
    lapsed_offers: int = 3     # "repeatedly" refusing assignments without reason (SPC-Invited Art.28)
    complaints: int = 2


@dataclass(frozen=True)
class Facts:
    outcomes: Sequence[Outcome]      # one per accepted case
    offers_lapsed: int
    scores: Sequence[int]
    complaints: int
    training_hours: float
    incompetent_evaluations: Sequence[str] = ()   # periods graded 不称职


@dataclass(frozen=True)
class Summary:
    cases_accepted: int
    agreements: int
    failures: int
    open_cases: int
    settled: int
    offers_lapsed: int
    feedback_count: int
    feedback_average: float
    complaints: int
    training_hours: float
    review_flags: tuple[str, ...]


def summarise(f: Facts, policy: ReviewPolicy) -> Summary:
    flags = []
    if f.offers_lapsed >= policy.lapsed_offers:
        flags.append(f"{f.offers_lapsed} offers lapsed without an answer: repeatedly refusing assignments without "
                     "reason is a ground for removal (SPC-Invited Art.28)")
    if f.complaints >= policy.complaints:
        flags.append(f"{f.complaints} complaints by parties: review them against the removal grounds "
                     "(SPC-Invited Art.28, SPC-Online Art.29)")
    for period in f.incompetent_evaluations:
        flags.append(f"evaluated incompetent (不称职) for {period}")
    return Summary(
        cases_accepted=len(f.outcomes),
        agreements=sum(1 for o in f.outcomes if o is Outcome.AGREEMENT),
        failures=sum(1 for o in f.outcomes if o is Outcome.FAILED),
        open_cases=sum(1 for o in f.outcomes if o is Outcome.OPEN),
        settled=sum(1 for o in f.outcomes if o is Outcome.SETTLED),
        offers_lapsed=f.offers_lapsed,
        feedback_count=len(f.scores),
        feedback_average=round(sum(f.scores) / len(f.scores), 2) if f.scores else 0.0,
        complaints=f.complaints,
        training_hours=round(f.training_hours, 1),
        review_flags=tuple(flags),
    )


def check_feedback(score: int, complaint: str) -> str:
    bad = []
    if not 1 <= score <= 5:
        bad.append(FieldViolation("score", "from 1 (poor) to 5 (very good)"))
    if len(complaint) > FEEDBACK:
        bad.append(FieldViolation("complaint", f"at most {FEEDBACK} characters"))
    if bad:
        raise InvalidInput(bad)
    return complaint.strip()


def check_training(course: str, hours: float, held_on: str, today: date) -> date:
    bad = []
    day = None
    if not course.strip():
        bad.append(FieldViolation("course", "required"))
    elif len(course) > COURSE:
        bad.append(FieldViolation("course", f"at most {COURSE} characters"))
    if not 0 < hours <= MAX_TRAINING_HOURS or (hours * 2) != int(hours * 2):
        bad.append(FieldViolation("hours", f"more than 0 and at most {MAX_TRAINING_HOURS}, in half hours"))
    try:
        day = date.fromisoformat(held_on)
        if day > today:
            bad.append(FieldViolation("date", "a training is recorded once it was held"))
        elif not in_calendar(day):
            bad.append(FieldViolation("date", f"a training held since {EARLIEST_YEAR}"))
    except ValueError:
        bad.append(FieldViolation("date", f"an ISO date like 2026-03-02, got {shown(held_on)}"))
    if bad:
        raise InvalidInput(bad)
    assert day is not None
    return day


def check_evaluation(period: str, result: EvaluationResult | None, notes: str, today: date) -> str:
    """Returns the period; an evaluation covers a year, half, quarter or month that has begun."""
    bad = []
    m = _PERIOD.match(period.strip())
    if not m:
        bad.append(FieldViolation("period", "a year (2025), half (2025-H1), quarter (2025-Q3) or month (2025-07)"))
    elif int(m.group(1)) > today.year or (int(m.group(1)) == today.year and _first_month(m.group(2)) > today.month):
        bad.append(FieldViolation("period", "the period has not begun"))
    elif int(m.group(1)) < EARLIEST_YEAR:
        bad.append(FieldViolation("period", f"a period since {EARLIEST_YEAR}"))
    if result is None:
        bad.append(FieldViolation("result", "required"))
    if len(notes) > EVALUATION_NOTES:
        bad.append(FieldViolation("notes", f"at most {EVALUATION_NOTES} characters"))
    if bad:
        raise InvalidInput(bad)
    return period.strip()


def _first_month(part: str | None) -> int:
    if not part:
        return 1
    if part[0] == "H":
        return 1 if part == "H1" else 7
    if part[0] == "Q":
        return 3 * (int(part[1]) - 1) + 1
    return int(part)
