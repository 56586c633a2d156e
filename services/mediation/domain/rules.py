"""Mediation rules: which statutory period a case runs on, who may act, and the one way every
action moves the case (the transition table, then a timeline entry).

SPC-Invited Art.27 / SPC-Online Art.24: a court-delegated pre-filing mediation
(委派) has 30 days; a commissioned post-filing one (委托) 15 days under the
ordinary procedure and 7 under the simplified. The clock starts when the mediator
confirms acceptance on the platform. People's mediation on its own (including
police referrals) runs about one month: practice, configurable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any
from uuid import UUID

from liandiao.legaltime import Deadline, HolidayCalendar, NaiveDatetime, Period, deadline, statutory
from services.mediation.domain.content import PartySide
from services.mediation.domain.errors import ActorNotAllowed, TransitionNotAllowed, invalid
from services.mediation.domain.events import CaseOpened
from services.mediation.domain.model import (
    Actor,
    ActorRole,
    Case,
    CaseSource,
    Clock,
    CourtProcedure,
    Decision,
    MediatorOnCase,
    Party,
    Policy,
    TimelineEntry,
)
from services.mediation.domain.states import CASE_TRANSITIONS, Action, CaseState, Target


def mediation_period(source: str, court_procedure: str, peoples_mediation_days: int | None = None) -> Period:
    if source == "court_delegation":
        return statutory.DELEGATED_PRE_FILING_MEDIATION
    if source == "court_commission":
        if court_procedure == "simplified":
            return statutory.COMMISSIONED_MEDIATION_SIMPLIFIED
        return statutory.COMMISSIONED_MEDIATION_ORDINARY
    period = statutory.PEOPLES_MEDIATION
    return period.configured(peoples_mediation_days) if peoples_mediation_days else period


def case_deadline(accepted_at: datetime, source: str, court_procedure: str, calendar: HolidayCalendar,
                  peoples_mediation_days: int | None = None) -> Deadline:
    return deadline(accepted_at, mediation_period(source, court_procedure, peoples_mediation_days), calendar)


# ---- who may act --------------------------------------------------------------------------

_M, _C, _P, _O, _Y = ActorRole.MEDIATOR, ActorRole.CLERK, ActorRole.PARTY, ActorRole.OFFICIAL, ActorRole.SYSTEM

# Which roles may take each action. A mediator must be one of the case's mediators, a clerk of
# the case's committee, a party one of its parties; officials are scoped by region at the edge.
ALLOWED_ROLES: Mapping[Action, frozenset[ActorRole]] = MappingProxyType({
    Action.OPEN: frozenset({_M}),
    **{a: frozenset({_M}) for a in (
        Action.SCHEDULE_SESSION, Action.RESCHEDULE_SESSION, Action.CANCEL_SESSION, Action.RECORD_SESSION,
        Action.RECORD_NO_SHOW, Action.REQUEST_EXTENSION, Action.SUSPEND_FOR_APPRAISAL, Action.END_APPRAISAL,
        Action.DRAFT_AGREEMENT, Action.EDIT_AGREEMENT, Action.DISCARD_DRAFT, Action.RECORD_ORAL_AGREEMENT)},
    # A party states its own choice or consent online, or the mediator records what it said.
    Action.RECORD_PUBLICITY_CHOICE: frozenset({_M, _P}),
    Action.RECORD_EXTENSION_CONSENT: frozenset({_M, _P}),
    Action.SIGN_AGREEMENT: frozenset({_M, _P}),
    Action.ADD_MEDIATOR: frozenset({_M, _C}),
    Action.REMOVE_MEDIATOR: frozenset({_M, _C}),
    Action.SET_PRESIDING: frozenset({_M, _C}),
    Action.APPLY_SEAL: frozenset({_M, _C}),
    Action.AGREEMENT_TAKES_EFFECT: frozenset({_M, _P, _C, _Y}),
    Action.REMIND_EXPIRY: frozenset({_Y}),
    # A mediator, the committee, the judicial office or a rule may flag; only the committee or
    # the judicial office clears it, not the mediator whose case it is.
    Action.FLAG_FALSE_MEDIATION: frozenset({_M, _C, _O, _Y}),
    Action.CLEAR_FALSE_MEDIATION: frozenset({_C, _O}),
    Action.TERMINATE: frozenset({_M, _Y}),
    Action.RETURN_TO_COURT: frozenset({_M, _Y}),
    Action.RECORD_FOLLOW_UP: frozenset({_M, _C}),
    Action.RECORD_PERFORMANCE: frozenset({_M, _C}),
    Action.CLOSE: frozenset({_M, _C, _Y}),
})


def authorize(case: Case, action: Action, actor: Actor) -> None:
    """Raises ActorNotAllowed unless `actor` may take `action` on `case`."""
    if actor.role not in ALLOWED_ROLES[action]:
        raise ActorNotAllowed(action, actor.person_id, f"a {actor.role.value} may not")
    if actor.role is ActorRole.MEDIATOR and case.mediator(actor.person_id) is None:
        raise ActorNotAllowed(action, actor.person_id, "not a mediator of this case")
    if actor.role is ActorRole.CLERK and actor.organization_id != case.organization_id:
        raise ActorNotAllowed(action, actor.person_id, "a clerk of another organization")
    if actor.role is ActorRole.PARTY and case.party(actor.person_id) is None:
        raise ActorNotAllowed(action, actor.person_id, "not a party of this case")


# ---- the one way a case moves -----------------------------------------------------------------

def next_state(state: CaseState, action: Action) -> Target:
    """The table's answer, or TransitionNotAllowed naming the state and the action."""
    try:
        return CASE_TRANSITIONS[state][action]
    except KeyError:
        raise TransitionNotAllowed(state, action) from None


def require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise NaiveDatetime(now)


def check(case: Case, action: Action, actor: Actor, now: datetime) -> Target:
    """Raises unless `actor` may take `action` on `case` in its current state; decide
    functions call it before validating their command, so the state is refused first."""
    require_aware(now)
    authorize(case, action, actor)
    return next_state(case.state, action)


def refuse_after_effect(case: Case, action: Action) -> None:
    """A case held after its agreement took effect is still an agreement: only a court sets it
    aside (CPL 2023 Art.206; SPC-Interp Art.372), so it is not terminated, re-timed or held for
    appraisal; the table cannot tell (the state is SUSPENDED either way), this does."""
    if case.state is CaseState.SUSPENDED and case.suspended_from is CaseState.AGREEMENT_EFFECTIVE:
        raise TransitionNotAllowed(CaseState.AGREEMENT_EFFECTIVE, action)


def transition(case: Case, action: Action, actor: Actor, now: datetime, reason: str, **changes: Any) -> Case:
    """`case` after `action`: checks who acts and the table, applies `changes` (fields of the
    case), sets the next state and appends the timeline entry (who, when, why)."""
    target = check(case, action, actor, now)
    updated = replace(case, **changes) if changes else case
    if isinstance(target, CaseState):
        resolved = target
    elif updated.holds:  # RESUME while another hold remains
        resolved = CaseState.SUSPENDED
    elif updated.suspended_from is not None:
        resolved = updated.suspended_from
    else:
        raise ValueError(f"case {case.case_id} is suspended but does not know from which state")
    if resolved is CaseState.SUSPENDED:
        suspended_from = updated.suspended_from if case.state is CaseState.SUSPENDED else case.state
    else:
        suspended_from = None
    entry = TimelineEntry(now, action.value, case.state, resolved, actor, reason)
    return replace(updated, state=resolved, suspended_from=suspended_from, timeline=(*updated.timeline, entry))


# ---- opening ----------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class OpenCase:
    """From routing's `dispute-assigned`: the mediator accepted; the clock starts now."""

    case_id: UUID
    dispute_id: UUID
    region_code: str
    dispute_type: str
    summary: str = ""
    source: CaseSource
    court_procedure: CourtProcedure = CourtProcedure.NONE
    organization_id: str
    referring_org_id: str = ""
    parties: tuple[Party, ...]
    mediator_id: str
    accepted_at: datetime


def open_case(command: OpenCase, calendar: HolidayCalendar, policy: Policy) -> Decision:
    """A new case, opened, with its statutory deadline from the acceptance (SPC-Invited
    Art.27) and the accepting mediator presiding."""
    require_aware(command.accepted_at)
    sides = {p.side for p in command.parties}
    if PartySide.APPLICANT not in sides or PartySide.RESPONDENT not in sides:
        raise invalid("parties", "a case needs at least one applicant and one respondent")
    if len({p.party_id for p in command.parties}) != len(command.parties):
        raise invalid("parties", "party ids must be unique")
    if command.source.court_related and not command.referring_org_id:
        raise invalid("referring_org_id", "a court-related case names its court")
    due = case_deadline(command.accepted_at, command.source.value, command.court_procedure.value, calendar,
                        policy.peoples_mediation_days)
    actor = Actor(command.mediator_id, command.organization_id, ActorRole.MEDIATOR)
    entry = TimelineEntry(command.accepted_at, Action.OPEN.value, None, CaseState.OPENED, actor,
                          f"mediator accepted; {due.period.name} ({due.period.source}) ends {due.last_day}")
    case = Case(
        case_id=command.case_id, dispute_id=command.dispute_id, region_code=command.region_code,
        dispute_type=command.dispute_type, summary=command.summary, source=command.source,
        court_procedure=command.court_procedure, organization_id=command.organization_id,
        referring_org_id=command.referring_org_id, parties=command.parties,
        mediators=(MediatorOnCase(command.mediator_id, command.organization_id, presiding=True),),
        state=CaseState.OPENED, clock=Clock(accepted_at=command.accepted_at, base=due, current=due),
        timeline=(entry,),
    )
    event = CaseOpened(case_id=case.case_id, dispute_id=case.dispute_id, at=command.accepted_at,
                       organization_id=case.organization_id, mediator_id=command.mediator_id,
                       source=case.source, deadline=due)
    return Decision(case, (event,))
