"""Sessions: in person or by video, participants, public or private (PML Art.23), rescheduling,
no-shows, the session record (调解记录, PML Art.27); several mediators, one presiding
(SPC-Invited Art.13)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from liandiao.errors import InvalidInput
from services.mediation.domain.errors import (
    ActorNotAllowed,
    PresidingMediatorRequired,
    SessionActionNotAllowed,
    SessionNotFound,
    SessionOutsidePeriod,
)
from services.mediation.domain.events import MediatorsChanged, SessionHeld, SessionNoShow, SessionRescheduled
from services.mediation.domain.model import (
    CaseSource,
    CourtProcedure,
    InPerson,
    Participant,
    ParticipantRole,
    Publicity,
    SessionRecord,
    SessionResult,
    Statement,
    Video,
)
from services.mediation.domain.sessions import (
    AddMediator,
    CancelSession,
    RecordNoShow,
    RecordPublicityChoice,
    RecordSession,
    RemoveMediator,
    RescheduleSession,
    ScheduleSession,
    SetPresiding,
    decide_add_mediator,
    decide_cancel_session,
    decide_publicity_choice,
    decide_record_no_show,
    decide_record_session,
    decide_remove_mediator,
    decide_reschedule_session,
    decide_schedule_session,
    decide_set_presiding,
    publicity,
)
from services.mediation.domain.states import CaseState, SessionState
from services.mediation.tests.domain_builders import (
    APPLICANT,
    CLERK,
    CO_MEDIATOR,
    MEDIATOR,
    RESPONDENT,
    at,
    new_case,
    party_actor,
)

NOW = at(2026, 3, 3, 9)
WHEN = at(2026, 3, 6, 14)
EVERYONE = (Participant("med-1", ParticipantRole.MEDIATOR), Participant("p-a", ParticipantRole.PARTY),
            Participant("p-r", ParticipantRole.PARTY))


def schedule(case, venue=InPerson("双喜村村委会调解室"), when=WHEN, participants=EVERYONE, session_id="s-1", now=NOW,
             actor=MEDIATOR):
    return decide_schedule_session(case, ScheduleSession(session_id=session_id, scheduled_for=when, venue=venue,
                                                         participants=participants, actor=actor), now)


def test_first_session_puts_the_case_in_session():
    decision = schedule(new_case())
    case = decision.case
    assert case.state is CaseState.IN_SESSION
    (session,) = case.sessions
    assert (session.number, session.state, session.scheduled_for) == (1, SessionState.SCHEDULED, WHEN)
    assert session.venue == InPerson("双喜村村委会调解室") and session.participants == EVERYONE
    (event,) = decision.events
    assert event.session_id == "s-1" and event.venue == session.venue and event.publicity is Publicity.PRIVATE
    second = schedule(case, venue=Video("https://meet.example.cn/r/123"), session_id="s-2").case
    assert second.sessions[1].number == 2 and second.state is CaseState.IN_SESSION


@pytest.mark.parametrize("venue, field", [
    (InPerson("  "), "place"),
    (Video("http://meet.example.cn/r/1"), "link"),
    (Video("meet.example.cn/r/1"), "link"),
])
def test_a_venue_needs_a_place_or_an_https_link(venue, field):
    with pytest.raises(InvalidInput) as bad:
        schedule(new_case(), venue=venue)
    assert bad.value.violations[0].field == field


@pytest.mark.parametrize("participants, field, reason", [
    ((Participant("p-a", ParticipantRole.PARTY),), "participants", "at least one of the case's mediators"),
    ((*EVERYONE, Participant("p-x", ParticipantRole.PARTY)), "participants[3]", "not a party"),
    ((*EVERYONE, Participant("med-9", ParticipantRole.MEDIATOR)), "participants[3]", "not a mediator"),
    ((*EVERYONE, Participant("i-1", ParticipantRole.INTERPRETER)), "participants[3]", "give the name"),
    ((*EVERYONE, Participant("p-a", ParticipantRole.PARTY)), "participants[3]", "listed twice"),
])
def test_participants_are_checked(participants, field, reason):
    with pytest.raises(InvalidInput) as bad:
        schedule(new_case(), participants=participants)
    assert bad.value.violations[0].field == field and reason in bad.value.violations[0].reason


def test_an_interpreter_with_a_name_may_attend():
    interpreter = Participant("i-1", ParticipantRole.INTERPRETER, name="巴特尔（蒙古语翻译）")
    assert schedule(new_case(), participants=(*EVERYONE, interpreter)).case.sessions[0].participants[-1] == interpreter


def test_a_session_is_planned_in_the_future_and_within_the_period():
    with pytest.raises(InvalidInput, match="future"):
        schedule(new_case(), when=NOW)
    # commissioned, simplified: accepted 2 Mar, last day Mon 9 Mar, expires 10 Mar 00:00 CST
    case = new_case(CaseSource.COURT_COMMISSION, CourtProcedure.SIMPLIFIED)
    assert schedule(case, when=at(2026, 3, 9, 23, 59)).case.sessions
    with pytest.raises(SessionOutsidePeriod, match="2026-03-09"):
        schedule(case, when=at(2026, 3, 10, 0, 0))


def test_publicity_is_private_unless_every_party_asks_for_public():
    case = new_case()
    assert publicity(case) is Publicity.PRIVATE
    one = decide_publicity_choice(case, RecordPublicityChoice(party_id="p-a", choice=Publicity.PUBLIC,
                                                              actor=party_actor(APPLICANT)), NOW)
    assert one.events[0].publicity is Publicity.PRIVATE
    both = decide_publicity_choice(one.case, RecordPublicityChoice(party_id="p-r", choice=Publicity.PUBLIC,
                                                                   actor=MEDIATOR), NOW)
    assert both.events[0].publicity is Publicity.PUBLIC and publicity(both.case) is Publicity.PUBLIC
    assert schedule(both.case).case.sessions[0].publicity is Publicity.PUBLIC
    changed = decide_publicity_choice(both.case, RecordPublicityChoice(party_id="p-r", choice=Publicity.PRIVATE,
                                                                       actor=party_actor(RESPONDENT)), NOW).case
    assert schedule(changed).case.sessions[0].publicity is Publicity.PRIVATE
    with pytest.raises(ActorNotAllowed, match="chooses for itself"):
        decide_publicity_choice(case, RecordPublicityChoice(party_id="p-r", choice=Publicity.PUBLIC,
                                                            actor=party_actor(APPLICANT)), NOW)


def test_reschedule_keeps_the_history():
    case = schedule(new_case()).case
    later = at(2026, 3, 9, 9)
    decision = decide_reschedule_session(case, RescheduleSession(session_id="s-1", scheduled_for=later,
                                                                 reason="被申请人住院", actor=MEDIATOR), NOW)
    (session,) = decision.case.sessions
    assert session.scheduled_for == later and session.state is SessionState.SCHEDULED
    assert session.reschedules[0].previous == WHEN and session.reschedules[0].reason == "被申请人住院"
    assert isinstance(decision.events[0], SessionRescheduled) and decision.events[0].previous == WHEN
    with pytest.raises(InvalidInput, match="reason"):
        decide_reschedule_session(case, RescheduleSession(session_id="s-1", scheduled_for=later, reason="",
                                                          actor=MEDIATOR), NOW)
    with pytest.raises(SessionNotFound):
        decide_reschedule_session(case, RescheduleSession(session_id="s-9", scheduled_for=later, reason="r",
                                                          actor=MEDIATOR), NOW)


def test_no_show_after_the_time_only():
    case = schedule(new_case()).case
    command = RecordNoShow(session_id="s-1", absent_party_ids=("p-r",), actor=MEDIATOR)
    with pytest.raises(InvalidInput, match="not yet missed"):
        decide_record_no_show(case, command, WHEN - timedelta(minutes=1))
    decision = decide_record_no_show(case, command, WHEN + timedelta(minutes=30))
    assert decision.case.sessions[0].state is SessionState.NO_SHOW
    assert decision.case.sessions[0].absent_party_ids == ("p-r",)
    assert isinstance(decision.events[0], SessionNoShow)
    with pytest.raises(SessionActionNotAllowed, match="no_show"):
        decide_reschedule_session(decision.case, RescheduleSession(
            session_id="s-1", scheduled_for=at(2026, 3, 10), reason="再约", actor=MEDIATOR), WHEN + timedelta(hours=1))
    with pytest.raises(InvalidInput, match="not a party"):
        decide_record_no_show(case, RecordNoShow(session_id="s-1", absent_party_ids=("p-x",), actor=MEDIATOR),
                              WHEN + timedelta(hours=1))


def _record(**changes):
    record = dict(
        started_at=WHEN, ended_at=WHEN + timedelta(hours=2), place="双喜村村委会调解室", participants=EVERYONE,
        statements=(Statement("p-a", "院墙被损坏约三米，要求赔偿并修复。"), Statement("p-r", "同意修复，赔偿数额有异议。")),
        undisputed_facts=("李四施工时损坏张三院墙", " "), result=SessionResult.PARTIAL_AGREEMENT,
        result_note="修复达成一致，赔偿数额下次再议")
    record.update(changes)
    return SessionRecord(**record)


def test_session_record_keeps_time_place_participants_statements_facts_result():
    case = schedule(new_case()).case
    decision = decide_record_session(case, RecordSession(session_id="s-1", record=_record(), actor=MEDIATOR),
                                     WHEN + timedelta(hours=3))
    session = decision.case.sessions[0]
    assert session.state is SessionState.HELD
    record = session.record
    assert record.started_at == WHEN and record.place == "双喜村村委会调解室" and record.participants == EVERYONE
    assert [s.speaker_id for s in record.statements] == ["p-a", "p-r"]
    assert record.undisputed_facts == ("李四施工时损坏张三院墙",)
    assert record.result is SessionResult.PARTIAL_AGREEMENT
    assert isinstance(decision.events[0], SessionHeld) and decision.events[0].record == record
    assert "partial_agreement" in decision.case.timeline[-1].reason


@pytest.mark.parametrize("changes, field", [
    ({"ended_at": WHEN + timedelta(hours=5)}, "record.ended_at"),  # after it is recorded
    ({"ended_at": WHEN - timedelta(hours=1)}, "record.ended_at"),
    ({"place": ""}, "record.place"),
    ({"statements": (Statement("p-x", "…"),)}, "record.statements[0]"),
    ({"participants": (Participant("p-a", ParticipantRole.PARTY),)}, "record.participants"),
])
def test_a_bad_record_is_refused(changes, field):
    case = schedule(new_case()).case
    with pytest.raises(InvalidInput) as bad:
        decide_record_session(case, RecordSession(session_id="s-1", record=_record(**changes), actor=MEDIATOR),
                              WHEN + timedelta(hours=3))
    assert bad.value.violations[0].field == field


def test_a_held_session_is_not_held_again_and_a_cancelled_one_not_recorded():
    case = schedule(new_case()).case
    held = decide_record_session(case, RecordSession(session_id="s-1", record=_record(), actor=MEDIATOR),
                                 WHEN + timedelta(hours=3)).case
    with pytest.raises(SessionActionNotAllowed, match="held"):
        decide_record_session(held, RecordSession(session_id="s-1", record=_record(), actor=MEDIATOR),
                              WHEN + timedelta(hours=4))
    cancelled = decide_cancel_session(case, CancelSession(session_id="s-1", reason="双方已自行和解", actor=MEDIATOR),
                                      NOW).case
    assert cancelled.sessions[0].state is SessionState.CANCELLED
    with pytest.raises(SessionActionNotAllowed, match="cancelled"):
        decide_record_session(cancelled, RecordSession(session_id="s-1", record=_record(), actor=MEDIATOR),
                              WHEN + timedelta(hours=3))


# ---- several mediators, one presiding -------------------------------------------------------------

def _add(case, actor=MEDIATOR):
    return decide_add_mediator(case, AddMediator(person_id="med-2", organization_id="lawfirm-9",
                                                 reason="疑难复杂：律师调解员加入", actor=actor), NOW)


def test_several_mediators_exactly_one_presiding():
    decision = _add(new_case())
    case = decision.case
    assert [(m.person_id, m.presiding) for m in case.mediators] == [("med-1", True), ("med-2", False)]
    assert isinstance(decision.events[0], MediatorsChanged)
    moved = decide_set_presiding(case, SetPresiding(person_id="med-2", reason="双方当事人协商确定", actor=MEDIATOR),
                                 NOW).case
    assert [(m.person_id, m.presiding) for m in moved.mediators] == [("med-1", False), ("med-2", True)]
    assert sum(m.presiding for m in moved.mediators) == 1
    with pytest.raises(PresidingMediatorRequired):
        decide_remove_mediator(moved, RemoveMediator(person_id="med-2", reason="回避", actor=CO_MEDIATOR), NOW)
    removed = decide_remove_mediator(moved, RemoveMediator(person_id="med-1", reason="工作调动", actor=CO_MEDIATOR),
                                     NOW).case
    assert [m.person_id for m in removed.mediators] == ["med-2"] and removed.presiding.person_id == "med-2"


def test_only_the_presiding_mediator_or_the_committee_changes_the_mediators():
    case = _add(new_case()).case
    with pytest.raises(ActorNotAllowed, match="presiding"):
        decide_set_presiding(case, SetPresiding(person_id="med-2", reason="自荐", actor=CO_MEDIATOR), NOW)
    assert decide_set_presiding(case, SetPresiding(person_id="med-2", reason="双方当事人协商确定", actor=CLERK), NOW)
    with pytest.raises(InvalidInput, match="already"):
        _add(case)
    with pytest.raises(InvalidInput, match="reason"):
        decide_set_presiding(case, SetPresiding(person_id="med-2", reason="", actor=MEDIATOR), NOW)
