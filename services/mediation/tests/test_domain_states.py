"""The case state machine: the table itself, every disallowed (state, action) refused with the
state and the action named, the timeline entry of every transition, and who may act."""

from __future__ import annotations

from datetime import timedelta

import pytest

from liandiao.errors import PermissionDenied, RuleViolation
from services.mediation.domain import agreement as ag
from services.mediation.domain import clock, ending, sessions
from services.mediation.domain.content import AgreementMode
from services.mediation.domain.errors import ActorNotAllowed, TransitionNotAllowed
from services.mediation.domain.model import (
    Actor,
    ActorRole,
    CaseSource,
    FollowUpResult,
    InPerson,
    Participant,
    ParticipantRole,
    Policy,
    Publicity,
    TerminationGround,
)
from services.mediation.domain.rules import ALLOWED_ROLES, next_state
from services.mediation.domain.states import (
    AGREEMENT_TRANSITIONS,
    CASE_TRANSITIONS,
    CLOCK_STATES,
    RESUME,
    SESSION_TRANSITIONS,
    TERMINAL_STATES,
    Action,
    AgreementState,
    CaseState,
    SessionState,
)
from services.mediation.tests.domain_builders import (
    APPLICANT,
    CAL,
    CLERK,
    CO_MEDIATOR,
    MEDIATOR,
    OTHER_CLERK,
    STRANGER,
    at,
    complete_content,
    drafted,
    effective,
    in_session,
    new_case,
    party_actor,
)

S, A = CaseState, Action
NOW = at(2026, 3, 5)

# The table as the issue describes it, written out independently of states.py.
EXPECTED_MOVES = [
    (S.OPENED, A.SCHEDULE_SESSION, S.IN_SESSION),
    (S.OPENED, A.DRAFT_AGREEMENT, S.AGREEMENT_DRAFTED),
    (S.OPENED, A.RECORD_ORAL_AGREEMENT, S.AGREEMENT_DRAFTED),
    (S.OPENED, A.SUSPEND_FOR_APPRAISAL, S.SUSPENDED),
    (S.OPENED, A.FLAG_FALSE_MEDIATION, S.SUSPENDED),
    (S.OPENED, A.TERMINATE, S.TERMINATED),
    (S.OPENED, A.RETURN_TO_COURT, S.RETURNED_TO_COURT),
    (S.IN_SESSION, A.SCHEDULE_SESSION, S.IN_SESSION),
    (S.IN_SESSION, A.RECORD_SESSION, S.IN_SESSION),
    (S.IN_SESSION, A.DRAFT_AGREEMENT, S.AGREEMENT_DRAFTED),
    (S.IN_SESSION, A.SUSPEND_FOR_APPRAISAL, S.SUSPENDED),
    (S.IN_SESSION, A.TERMINATE, S.TERMINATED),
    (S.SUSPENDED, A.END_APPRAISAL, RESUME),
    (S.SUSPENDED, A.CLEAR_FALSE_MEDIATION, RESUME),
    (S.SUSPENDED, A.TERMINATE, S.TERMINATED),
    (S.SUSPENDED, A.RETURN_TO_COURT, S.RETURNED_TO_COURT),
    (S.AGREEMENT_DRAFTED, A.EDIT_AGREEMENT, S.AGREEMENT_DRAFTED),
    (S.AGREEMENT_DRAFTED, A.SIGN_AGREEMENT, S.AGREEMENT_DRAFTED),
    (S.AGREEMENT_DRAFTED, A.APPLY_SEAL, S.AGREEMENT_DRAFTED),
    (S.AGREEMENT_DRAFTED, A.DISCARD_DRAFT, S.IN_SESSION),
    (S.AGREEMENT_DRAFTED, A.AGREEMENT_TAKES_EFFECT, S.AGREEMENT_EFFECTIVE),
    (S.AGREEMENT_DRAFTED, A.TERMINATE, S.TERMINATED),
    (S.AGREEMENT_EFFECTIVE, A.RECORD_FOLLOW_UP, S.AGREEMENT_EFFECTIVE),
    (S.AGREEMENT_EFFECTIVE, A.CLOSE, S.CLOSED),
    (S.AGREEMENT_EFFECTIVE, A.FLAG_FALSE_MEDIATION, S.SUSPENDED),
]
EXPECTED_REFUSALS = [
    (S.OPENED, A.SIGN_AGREEMENT),
    (S.OPENED, A.RECORD_SESSION),  # nothing is scheduled before the first session
    (S.OPENED, A.END_APPRAISAL),
    (S.OPENED, A.CLOSE),
    (S.SUSPENDED, A.SCHEDULE_SESSION),  # the clock is stopped: no mediation meanwhile
    (S.SUSPENDED, A.SIGN_AGREEMENT),
    (S.SUSPENDED, A.REMIND_EXPIRY),
    (S.AGREEMENT_DRAFTED, A.RECORD_ORAL_AGREEMENT),  # drop the written draft first
    (S.AGREEMENT_DRAFTED, A.CLOSE),
    (S.AGREEMENT_EFFECTIVE, A.TERMINATE),
    (S.AGREEMENT_EFFECTIVE, A.EDIT_AGREEMENT),
    (S.AGREEMENT_EFFECTIVE, A.SCHEDULE_SESSION),
    (S.AGREEMENT_EFFECTIVE, A.REQUEST_EXTENSION),
]


@pytest.mark.parametrize("state, action, target", EXPECTED_MOVES)
def test_table_moves(state, action, target):
    assert next_state(state, action) is target


@pytest.mark.parametrize("state, action", EXPECTED_REFUSALS)
def test_table_refusals(state, action):
    assert action not in CASE_TRANSITIONS[state]


def test_every_state_has_a_row_and_the_three_ends_are_terminal():
    assert set(CASE_TRANSITIONS) == set(CaseState)
    assert TERMINAL_STATES == {S.TERMINATED, S.RETURNED_TO_COURT, S.CLOSED}
    assert CLOCK_STATES == {S.OPENED, S.IN_SESSION, S.AGREEMENT_DRAFTED}
    assert set(ALLOWED_ROLES) == set(Action)


DISALLOWED = [(s, a) for s in CaseState for a in Action if a not in CASE_TRANSITIONS[s]]


@pytest.mark.parametrize("state, action", DISALLOWED, ids=[f"{s.value}-{a.value}" for s, a in DISALLOWED])
def test_every_disallowed_transition_is_refused_naming_state_and_action(state, action):
    with pytest.raises(TransitionNotAllowed) as refused:
        next_state(state, action)
    assert refused.value.state is state and refused.value.action is action
    assert state.value in str(refused.value) and action.value in str(refused.value)
    assert isinstance(refused.value, RuleViolation) and refused.value.rule == "case.transition"


def test_sub_machines_have_terminal_states():
    assert SESSION_TRANSITIONS[SessionState.SCHEDULED]
    assert not any(SESSION_TRANSITIONS[s] for s in (SessionState.HELD, SessionState.NO_SHOW, SessionState.CANCELLED))
    assert AGREEMENT_TRANSITIONS[AgreementState.DRAFT]
    assert not AGREEMENT_TRANSITIONS[AgreementState.EFFECTIVE] and not AGREEMENT_TRANSITIONS[AgreementState.VOID]


# ---- the decide functions go through the table --------------------------------------------------

def _ended(which: str):
    if which == "terminated":
        return ending.decide_terminate(new_case(), ending.Terminate(
            ground=TerminationGround.POSITIONS_TOO_FAR_APART, reason="分歧过大", routes_told=("litigation",),
            actor=MEDIATOR), NOW).case
    if which == "returned_to_court":
        return ending.decide_terminate(new_case(CaseSource.COURT_DELEGATION), ending.Terminate(
            ground=TerminationGround.PARTY_REFUSES_TO_CONTINUE, reason="被申请人拒绝继续调解",
            routes_told=("the court registers the case if the party insists",), actor=MEDIATOR), NOW).case
    return ending.decide_record_performance(effective(new_case(), NOW), ending.RecordPerformance(
        note="转账凭证已上传", actor=MEDIATOR), NOW).case


ATTEMPTS = {
    "schedule": lambda c: sessions.decide_schedule_session(c, sessions.ScheduleSession(
        session_id="s-x", scheduled_for=NOW + timedelta(days=1), venue=InPerson("室"),
        participants=(Participant(MEDIATOR.person_id, ParticipantRole.MEDIATOR),), actor=MEDIATOR), NOW),
    "draft": lambda c: ag.decide_draft_agreement(c, ag.DraftAgreement(
        agreement_id="ag-x", mode=AgreementMode.WRITTEN, actor=MEDIATOR, content=complete_content(c)), NOW),
    "extension": lambda c: clock.decide_request_extension(c, clock.RequestExtension(
        request_id="x-1", days=10, reason="需要时间", actor=MEDIATOR), NOW, Policy()),
    "appraisal": lambda c: clock.decide_suspend_for_appraisal(c, clock.SuspendForAppraisal(
        reason="伤情鉴定", actor=MEDIATOR), NOW),
    "terminate": lambda c: ending.decide_terminate(c, ending.Terminate(
        ground=TerminationGround.OTHER, reason="其他", routes_told=("litigation",), actor=MEDIATOR), NOW),
    "flag": lambda c: ending.decide_flag_false_mediation(c, ending.FlagFalseMediation(
        reason="疑似串通", actor=CLERK), NOW),
    "follow_up": lambda c: ending.decide_follow_up(c, ending.RecordFollowUp(
        visit_id="v-x", visited_on=NOW.date(), result=FollowUpResult.PERFORMED, notes="", next_visit_on=None,
        actor=MEDIATOR), NOW),
}


@pytest.mark.parametrize("ended", ["terminated", "returned_to_court", "closed"])
@pytest.mark.parametrize("attempt", list(ATTEMPTS))
def test_an_ended_case_refuses_every_action(ended, attempt):
    case = _ended(ended)
    assert case.state.value == ended
    with pytest.raises(TransitionNotAllowed) as refused:
        ATTEMPTS[attempt](case)
    assert refused.value.state is case.state


def test_a_no_show_cannot_be_recorded_once_the_agreement_is_effective():
    case = effective(in_session(new_case()), NOW)
    with pytest.raises(TransitionNotAllowed, match="record_no_show is not allowed while the case is "
                                                   "agreement_effective"):
        sessions.decide_record_no_show(case, sessions.RecordNoShow(
            session_id="s-1", absent_party_ids=("p-a",), actor=MEDIATOR), NOW)


# ---- the timeline -------------------------------------------------------------------------------

def test_opening_is_the_first_timeline_entry():
    case = new_case(CaseSource.COURT_DELEGATION)
    (entry,) = case.timeline
    assert entry.action == "open" and entry.from_state is None and entry.to_state is S.OPENED
    assert entry.actor == MEDIATOR and entry.at == at(2026, 3, 2)
    assert "delegated_pre_filing_mediation" in entry.reason and "2026-04-01" in entry.reason


def test_every_transition_adds_one_entry_with_who_when_and_why():
    case = new_case()
    steps = [
        (in_session, "schedule_session", S.OPENED, S.IN_SESSION, MEDIATOR),
        (lambda c: drafted(c, NOW), "draft_agreement", S.IN_SESSION, S.AGREEMENT_DRAFTED, MEDIATOR),
        (lambda c: ending.decide_flag_false_mediation(c, ending.FlagFalseMediation(
            reason="疑似串通虚构债务", actor=CLERK), NOW).case,
         "flag_false_mediation", S.AGREEMENT_DRAFTED, S.SUSPENDED, CLERK),
    ]
    for step, action, before, after, actor in steps:
        count = len(case.timeline)
        case = step(case)
        assert len(case.timeline) == count + 1
        entry = case.timeline[-1]
        assert (entry.action, entry.from_state, entry.to_state, entry.actor) == (action, before, after, actor)
        assert entry.reason and entry.at.tzinfo is not None
    assert "疑似串通虚构债务" in case.timeline[-1].reason
    assert case.timeline[-1].actor.organization_id == CLERK.organization_id


def test_resume_returns_to_the_state_the_case_was_suspended_from():
    case = drafted(in_session(new_case()), NOW)
    held = clock.decide_suspend_for_appraisal(case, clock.SuspendForAppraisal(reason="房屋损坏鉴定", actor=MEDIATOR),
                                              NOW).case
    assert held.state is S.SUSPENDED and held.suspended_from is S.AGREEMENT_DRAFTED
    back = clock.decide_end_appraisal(held, clock.EndAppraisal(reason="鉴定意见已出", actor=MEDIATOR),
                                      NOW + timedelta(days=3), CAL).case
    assert back.state is S.AGREEMENT_DRAFTED and back.suspended_from is None
    assert back.timeline[-1].to_state is S.AGREEMENT_DRAFTED


# ---- who may act --------------------------------------------------------------------------------

@pytest.mark.parametrize("actor, why", [
    (STRANGER, "not a mediator of this case"),
    (OTHER_CLERK, "a clerk of another organization"),
    (Actor("p-zz", "", ActorRole.PARTY), "a party may not"),
    (Actor("system", "x", ActorRole.SYSTEM), "a system may not"),
])
def test_outsiders_are_refused(actor, why):
    with pytest.raises(ActorNotAllowed, match=why) as refused:
        sessions.decide_add_mediator(new_case(), sessions.AddMediator(
            person_id="med-3", organization_id="lawfirm-3", reason="疑难案件", actor=actor), NOW)
    assert isinstance(refused.value, PermissionDenied)


def test_a_party_of_another_case_is_refused_even_where_parties_may_act():
    with pytest.raises(ActorNotAllowed, match="not a party of this case"):
        sessions.decide_publicity_choice(new_case(), sessions.RecordPublicityChoice(
            party_id="p-zz", choice=Publicity.PUBLIC, actor=Actor("p-zz", "", ActorRole.PARTY)), NOW)


def test_a_party_may_record_its_own_choice_but_not_schedule():
    case = new_case()
    with pytest.raises(ActorNotAllowed, match="a party may not"):
        sessions.decide_schedule_session(case, sessions.ScheduleSession(
            session_id="s-1", scheduled_for=NOW + timedelta(days=1), venue=InPerson("室"),
            participants=(Participant(MEDIATOR.person_id, ParticipantRole.MEDIATOR),), actor=party_actor(APPLICANT)),
            NOW)
    chosen = sessions.decide_publicity_choice(case, sessions.RecordPublicityChoice(
        party_id=APPLICANT.party_id, choice=Publicity.PUBLIC, actor=party_actor(APPLICANT)), NOW)
    assert chosen.case.timeline[-1].actor == party_actor(APPLICANT)


def test_a_co_mediator_acts_on_the_case_once_added():
    with pytest.raises(ActorNotAllowed):
        in_session_by(new_case(), CO_MEDIATOR)
    case = sessions.decide_add_mediator(new_case(), sessions.AddMediator(
        person_id=CO_MEDIATOR.person_id, organization_id=CO_MEDIATOR.organization_id, reason="疑难案件",
        actor=MEDIATOR), NOW).case
    assert in_session_by(case, CO_MEDIATOR).timeline[-1].actor == CO_MEDIATOR


def in_session_by(case, actor):
    return sessions.decide_schedule_session(case, sessions.ScheduleSession(
        session_id="s-9", scheduled_for=NOW + timedelta(days=1), venue=InPerson("室"),
        participants=(Participant(actor.person_id, ParticipantRole.MEDIATOR),), actor=actor), NOW).case
