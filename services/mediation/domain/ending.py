"""How a case ends and what follows: termination (SPC-Online Art.25) with the reason and the
routes the parties were told (PML Art.26), return of a failed court-related case to its court
(SPC-Invited Art.21), follow-up visits on performance and closing (PML Art.31), and the hold
and report for suspected false mediation (虚假调解, DOMAIN.md §4)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from liandiao.legaltime import Deadline, HolidayCalendar, Period, Unit, deadline, is_expired, to_china_date
from services.mediation.domain.errors import (
    GroundNotAllowed,
    HoldAlreadyActive,
    HoldNotActive,
    invalid,
)
from services.mediation.domain.events import (
    CaseClosed,
    CaseResumed,
    CaseReturnedToCourt,
    CaseSuspended,
    FalseMediationCleared,
    FalseMediationReported,
    FollowUpRecorded,
    MediationEvent,
    MediationTerminated,
    ref,
)
from services.mediation.domain.model import (
    Actor,
    Case,
    CaseSource,
    ClosingReason,
    Closure,
    CourtNextStep,
    Decision,
    ExtensionStatus,
    FollowUp,
    FollowUpResult,
    Hold,
    HoldKind,
    Policy,
    Suspension,
    Termination,
    TerminationGround,
)
from services.mediation.domain.rules import check, refuse_after_effect, transition
from services.mediation.domain.states import Action, AgreementState, CaseState, SessionState

# PML Art.26: "告知当事人可以依法通过仲裁、行政、司法等途径维护自己的权利".
STATUTORY_ROUTES: tuple[str, ...] = ("arbitration", "administrative", "litigation")
# A failed court-related case goes back to its court, which the parties are told.
COURT_ROUTES: dict[CaseSource, tuple[str, ...]] = {
    CaseSource.COURT_DELEGATION: ("the court registers the case if the party insists",),
    CaseSource.COURT_COMMISSION: ("the case returns to trial",),
}
EXPIRY_REASON = "period expired without agreed extension"

# Practice, not statute: PML Art.31 says the committee follows up, not for how long.
FOLLOW_UP_PERIOD = Period(
    "follow_up", 3, Unit.MONTHS,
    "practice, unconfirmed (PML Art.31: the committee follows up on performance)", configurable=True,
)


def mediator_ids(case: Case) -> tuple[str, ...]:
    """Presiding mediator first, then the others in the order they joined."""
    return (case.presiding.person_id, *(m.person_id for m in case.mediators if not m.presiding))


def default_routes(case: Case) -> tuple[str, ...]:
    """What a sweep tells the parties when it ends a case: their court's next step, or the
    routes PML Art.26 names."""
    return COURT_ROUTES.get(case.source, STATUTORY_ROUTES)


# ---- termination -----------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Terminate:
    ground: TerminationGround
    reason: str
    routes_told: tuple[str, ...]
    actor: Actor


def decide_terminate(case: Case, command: Terminate, now: datetime) -> Decision:
    """Ends the mediation on one ground of SPC-Online Art.25. A failure of a court-delegated or
    commissioned case returns it to its court (SPC-Invited Art.21); the parties' own settlement
    is not a failure and ends the case here (the court is told by the same event)."""
    ground = command.ground
    if ground is TerminationGround.AGREEMENT:
        raise GroundNotAllowed("an agreement ends mediation by taking effect: sign and seal it, or record it "
                               "orally")
    action = Action.RETURN_TO_COURT if ground.failure and case.source.court_related else Action.TERMINATE
    check(case, action, command.actor, now)
    refuse_after_effect(case, action)
    if ground is TerminationGround.PERIOD_EXPIRED and not (case.clock.running and is_expired(case.clock.current, now)):
        raise GroundNotAllowed(f"the period runs until {case.clock.current.last_day}; it has not expired")
    if not command.reason.strip():
        raise invalid("details", "record the reason the mediation ends (PML Art.26)")
    routes = tuple(r.strip() for r in command.routes_told if r.strip())
    if ground.failure and not routes:
        raise invalid("routes_told", "tell the parties their other routes: arbitration, administrative, "
                                     "litigation (PML Art.26)")
    return _end(case, action, ground, command.reason.strip(), routes, command.actor, now)


def _end(case: Case, action: Action, ground: TerminationGround, reason: str, routes: tuple[str, ...],
         actor: Actor, now: datetime) -> Decision:
    returned = action is Action.RETURN_TO_COURT
    next_step = None
    if returned:
        next_step = (CourtNextStep.RESUME_TRIAL if case.source is CaseSource.COURT_COMMISSION
                     else CourtNextStep.REGISTER_IF_PARTY_INSISTS)
    cancelled = tuple(s.session_id for s in case.sessions if s.state is SessionState.SCHEDULED)
    sessions = tuple(replace(s, state=SessionState.CANCELLED, cancel_reason=f"case ended: {ground.value}")
                     if s.session_id in cancelled else s for s in case.sessions)
    requests = tuple(replace(r, status=ExtensionStatus.LAPSED) if r.status is ExtensionStatus.PENDING else r
                     for r in case.extension_requests)
    agreements = tuple(replace(a, state=AgreementState.VOID) if a.state is AgreementState.DRAFT else a
                       for a in case.agreements)
    clock = case.clock
    if not clock.running:
        clock = replace(clock, suspensions=close_open_suspension(clock.suspensions, now))
    termination = Termination(ground=ground, reason=reason, routes_told=routes, at=now, by=actor,
                              returned_to_court=case.referring_org_id if returned else "", court_next_step=next_step)
    after = transition(case, action, actor, now, f"{ground.value}: {reason}", sessions=sessions,
                       extension_requests=requests, agreements=agreements, clock=clock, holds=(),
                       termination=termination)
    events: list[MediationEvent] = [MediationTerminated(
        **ref(case), at=now, ground=ground, reason=reason, routes_told=routes,
        source=case.source, organization_id=case.organization_id, referring_org_id=case.referring_org_id,
        returned_to_court=returned, mediator_ids=mediator_ids(case), cancelled_session_ids=cancelled)]
    if next_step is not None:
        events.append(CaseReturnedToCourt(**ref(case), at=now, court_id=case.referring_org_id,
                                          next_step=next_step, ground=ground, reason=reason, source=case.source))
    return Decision(after, tuple(events))


def terminate_on_expiry(case: Case, now: datetime) -> Decision:
    """The sweep's termination: ground "period expired without agreed extension"."""
    action = Action.RETURN_TO_COURT if case.source.court_related else Action.TERMINATE
    return _end(case, action, TerminationGround.PERIOD_EXPIRED, EXPIRY_REASON, default_routes(case),
                Actor.system(case.organization_id), now)


# ---- follow-up and closing -------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class RecordFollowUp:
    visit_id: str
    visited_on: date
    result: FollowUpResult
    notes: str
    next_visit_on: date | None
    actor: Actor


def decide_follow_up(case: Case, command: RecordFollowUp, now: datetime) -> Decision:
    """A follow-up visit (回访, PML Art.31). Performed: the case closes. Partly or not
    performed: the next visit must be set (the committee keeps urging performance)."""
    check(case, Action.RECORD_FOLLOW_UP, command.actor, now)
    agreement = case.agreement
    effective_on = agreement.effective_on if agreement and agreement.effective_on else to_china_date(now)
    today = to_china_date(now)
    if not effective_on <= command.visited_on <= today:
        raise invalid("visited_on", f"a visit lies between the effective date {effective_on} and today {today}")
    if any(f.visit_id == command.visit_id for f in case.follow_ups):
        raise invalid("visit_id", "already recorded")
    performed = command.result is FollowUpResult.PERFORMED
    if performed and command.next_visit_on is not None:
        raise invalid("next_visit_on", "performance is complete: no next visit")
    if not performed and command.next_visit_on is None:
        raise invalid("next_visit_on", "partly or not performed: set the next visit")
    if command.next_visit_on is not None and command.next_visit_on <= command.visited_on:
        raise invalid("next_visit_on", "must be after the visit")
    visit = FollowUp(visit_id=command.visit_id, visited_on=command.visited_on, result=command.result,
                     notes=command.notes.strip(), next_visit_on=command.next_visit_on, recorded_at=now,
                     by=command.actor)
    after = transition(case, Action.RECORD_FOLLOW_UP, command.actor, now,
                       f"follow-up visit {command.visited_on}: {command.result.value}",
                       follow_ups=(*case.follow_ups, visit))
    events: list[MediationEvent] = [FollowUpRecorded(
        **ref(case), at=now, visit_id=visit.visit_id, result=visit.result,
        next_visit_on=visit.next_visit_on)]
    if performed:
        after = _close(after, ClosingReason.PERFORMED, command.actor, now, "performance recorded at a follow-up visit")
        events.append(CaseClosed(**ref(case), at=now, reason=ClosingReason.PERFORMED))
    return Decision(after, tuple(events))


@dataclass(frozen=True, kw_only=True)
class RecordPerformance:
    note: str  # e.g. "bank transfer receipt 2026-03-02 uploaded"
    actor: Actor


def decide_record_performance(case: Case, command: RecordPerformance, now: datetime) -> Decision:
    """The agreement was performed (proof in the case file): the case closes."""
    check(case, Action.RECORD_PERFORMANCE, command.actor, now)
    if not command.note.strip():
        raise invalid("note", "say how performance was shown")
    after = transition(case, Action.RECORD_PERFORMANCE, command.actor, now, command.note.strip())
    after = _close(after, ClosingReason.PERFORMED, command.actor, now, "performance recorded")
    return Decision(after, (CaseClosed(**ref(case), at=now, reason=ClosingReason.PERFORMED),))


def follow_up_deadline(case: Case, calendar: HolidayCalendar, policy: Policy) -> Deadline | None:
    """The end of follow-up: `policy.follow_up_months` after the last performance deadline of
    the agreement's terms, or after its effective date if later or if no term has one (one cannot
    judge performance before it is due)."""
    agreement = case.agreement
    if agreement is None or agreement.effective_on is None:
        return None
    start = max([agreement.effective_on, *(t.deadline for t in agreement.content.terms if t.deadline)])
    return deadline(start, FOLLOW_UP_PERIOD.configured(policy.follow_up_months), calendar)


def decide_follow_up_expiry(case: Case, now: datetime, calendar: HolidayCalendar, policy: Policy) -> Decision | None:
    """The sweep closes an effective case whose follow-up period is over without a
    performance record; nothing otherwise."""
    if case.state is not CaseState.AGREEMENT_EFFECTIVE:
        return None
    due = follow_up_deadline(case, calendar, policy)
    if due is None or not is_expired(due, now):
        return None
    actor = Actor.system(case.organization_id)
    after = _close(case, ClosingReason.FOLLOW_UP_PERIOD_ENDED, actor, now,
                   f"follow-up period ended {due.last_day} ({due.period.source})")
    return Decision(after, (CaseClosed(**ref(case), at=now,
                                       reason=ClosingReason.FOLLOW_UP_PERIOD_ENDED),))


def _close(case: Case, reason: ClosingReason, actor: Actor, now: datetime, why: str) -> Case:
    return transition(case, Action.CLOSE, actor, now, why, closure=Closure(reason, now))


# ---- suspected false mediation ----------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class FlagFalseMediation:
    reason: str  # e.g. "the parties appear to collude to defeat a creditor"
    actor: Actor


def decide_flag_false_mediation(case: Case, command: FlagFalseMediation, now: datetime) -> Decision:
    """Suspected false mediation (collusion, forged evidence) is suspended and reported to the
    judicial office and, for a court-related case, to the court (DOMAIN.md §4). The statutory
    clock keeps running (no rule excludes this time), but the sweep does not end a held case."""
    check(case, Action.FLAG_FALSE_MEDIATION, command.actor, now)
    if case.hold(HoldKind.FALSE_MEDIATION):
        raise HoldAlreadyActive(HoldKind.FALSE_MEDIATION.value)
    if not command.reason.strip():
        raise invalid("reason", "say what is suspected")
    reason = command.reason.strip()
    hold = Hold(HoldKind.FALSE_MEDIATION, now, reason, command.actor)
    after = transition(case, Action.FLAG_FALSE_MEDIATION, command.actor, now, f"suspected false mediation: {reason}",
                       holds=(*case.holds, hold))
    court = case.referring_org_id if case.source.court_related else ""
    agreement = case.agreement
    return Decision(after, (
        CaseSuspended(**ref(case), at=now, kind=HoldKind.FALSE_MEDIATION, reason=reason),
        FalseMediationReported(**ref(case), at=now, reason=reason,
                               reported_by=command.actor.person_id, region_code=case.region_code,
                               organization_id=case.organization_id, court_id=court,
                               agreement_id=agreement.agreement_id if agreement else ""),
    ))


@dataclass(frozen=True, kw_only=True)
class ClearFalseMediation:
    reason: str
    actor: Actor


def decide_clear_false_mediation(case: Case, command: ClearFalseMediation, now: datetime) -> Decision:
    """The suspicion is cleared (by the committee or the judicial office, not the case's own
    mediator): the hold ends and the case goes back to where it was, unless another hold remains.
    A confirmed suspicion is a termination instead (ground "other", with the finding)."""
    check(case, Action.CLEAR_FALSE_MEDIATION, command.actor, now)
    if case.hold(HoldKind.FALSE_MEDIATION) is None:
        raise HoldNotActive(HoldKind.FALSE_MEDIATION.value)
    if not command.reason.strip():
        raise invalid("reason", "say why the suspicion is cleared")
    holds = tuple(h for h in case.holds if h.kind is not HoldKind.FALSE_MEDIATION)
    after = transition(case, Action.CLEAR_FALSE_MEDIATION, command.actor, now,
                       f"false mediation suspicion cleared: {command.reason.strip()}", holds=holds)
    court = case.referring_org_id if case.source.court_related else ""
    return Decision(after, (
        CaseResumed(**ref(case), at=now, kind=HoldKind.FALSE_MEDIATION,
                    deadline=after.clock.current, days_not_counted=0),
        FalseMediationCleared(**ref(case), at=now, reason=command.reason.strip(), court_id=court),
    ))


def close_open_suspension(suspensions: tuple[Suspension, ...], at: datetime) -> tuple[Suspension, ...]:
    return (*suspensions[:-1], replace(suspensions[-1], ended_at=at))

