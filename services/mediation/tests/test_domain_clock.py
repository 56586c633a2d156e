"""The statutory clock, pinned at its boundaries (SPC-Invited Art.27, SPC-Online Art.24; CPL 2023
Art.85 counting): 30 days delegated, 15 / 7 commissioned, a configured people's period; periods
ending in the 2026 National Day and Spring Festival holidays; extension only with every party's
consent; appraisal days not counted; the reminder; expiry. Expected dates worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from liandiao.errors import InvalidInput
from services.mediation.domain.clock import (
    EndAppraisal,
    RecordConsent,
    RequestExtension,
    SuspendForAppraisal,
    decide_end_appraisal,
    decide_expiry,
    decide_extension_consent,
    decide_reminder,
    decide_request_extension,
    decide_suspend_for_appraisal,
    reminder_day,
)
from services.mediation.domain.ending import EXPIRY_REASON, FlagFalseMediation, decide_flag_false_mediation
from services.mediation.domain.errors import (
    ActorNotAllowed,
    ConsentAlreadyRecorded,
    ExtensionPending,
    HoldAlreadyActive,
    NoPendingExtension,
    PeriodExpired,
)
from services.mediation.domain.events import (
    CaseResumed,
    CaseReturnedToCourt,
    ExpiryReminderDue,
    ExtensionConsentRecorded,
    ExtensionGranted,
    ExtensionRefused,
    MediationTerminated,
)
from services.mediation.domain.model import (
    ActorRole,
    CaseSource,
    CourtNextStep,
    CourtProcedure,
    ExtensionStatus,
    Party,
    PartySide,
    Policy,
    TerminationGround,
)
from services.mediation.domain.states import CaseState
from services.mediation.tests.domain_builders import (
    APPLICANT,
    CAL,
    CLERK,
    MEDIATOR,
    RESPONDENT,
    at,
    first_moment_after,
    in_session,
    last_moment,
    new_case,
    party_actor,
)

D = date.fromisoformat
DELEGATED, COMMISSIONED = CaseSource.COURT_DELEGATION, CaseSource.COURT_COMMISSION
ORDINARY, SIMPLIFIED = CourtProcedure.ORDINARY, CourtProcedure.SIMPLIFIED


# ---- length by source, day N in time, day N+1 expired ------------------------------------------

@pytest.mark.parametrize("source, procedure, accepted, last_day, days", [
    # accepted Mon 2 Mar 2026: day 1 is 3 Mar. Day 30 = Wed 1 Apr, day 15 = Tue 17 Mar, day 7 = Mon 9 Mar,
    # all working days, so nothing rolls.
    (DELEGATED, CourtProcedure.NONE, "2026-03-02", "2026-04-01", 30),
    (COMMISSIONED, ORDINARY, "2026-03-02", "2026-03-17", 15),
    (COMMISSIONED, SIMPLIFIED, "2026-03-02", "2026-03-09", 7),
    (CaseSource.PARTY_APPLICATION, CourtProcedure.NONE, "2026-03-02", "2026-04-01", 30),
    (CaseSource.POLICE_REFERRAL, CourtProcedure.NONE, "2026-03-02", "2026-04-01", 30),
])
def test_day_n_is_in_time_and_day_n_plus_one_ends_the_case(source, procedure, accepted, last_day, days):
    case = new_case(source, procedure, accepted_at=at(*map(int, accepted.split("-"))))
    due = case.clock.current
    assert due.period.length == days and due.last_day == D(last_day) and not due.rolled_forward
    assert (due.last_day - due.started_on).days == days
    assert decide_expiry(case, last_moment(D(last_day))) is None  # 23:59:59 of day N
    decision = decide_expiry(case, first_moment_after(D(last_day)))  # 00:00 of day N+1
    assert decision is not None
    terminated = next(e for e in decision.events if isinstance(e, MediationTerminated))
    assert terminated.ground is TerminationGround.PERIOD_EXPIRED and terminated.reason == EXPIRY_REASON
    assert decision.case.termination is not None and decision.case.termination.by.role is ActorRole.SYSTEM


@pytest.mark.parametrize("days", [45, 20])
def test_peoples_mediation_period_is_the_configured_one(days):
    case = new_case(accepted_at=at(2026, 3, 2), policy=Policy(peoples_mediation_days=days))
    expected = D("2026-03-02") + timedelta(days=days)  # 16 Apr (Thu) / 22 Mar (Sun) -> Mon 23 Mar
    last = expected if CAL.is_working_day(expected) else CAL.next_working_day(expected)
    assert case.clock.current.last_day == last
    assert decide_expiry(case, last_moment(last)) is None
    assert decide_expiry(case, first_moment_after(last)) is not None


def test_expiry_of_a_delegated_case_returns_it_to_the_court_and_a_commissioned_one_to_trial():
    for source, procedure, step in ((DELEGATED, CourtProcedure.NONE, CourtNextStep.REGISTER_IF_PARTY_INSISTS),
                                    (COMMISSIONED, SIMPLIFIED, CourtNextStep.RESUME_TRIAL)):
        case = new_case(source, procedure)
        decision = decide_expiry(case, first_moment_after(case.clock.current.last_day))
        assert decision is not None and decision.case.state is CaseState.RETURNED_TO_COURT
        back = next(e for e in decision.events if isinstance(e, CaseReturnedToCourt))
        assert back.court_id == case.referring_org_id and back.next_step is step
        assert back.ground is TerminationGround.PERIOD_EXPIRED


def test_expiry_is_the_same_decision_for_two_sweeps():
    case = new_case(DELEGATED)
    now = first_moment_after(case.clock.current.last_day)
    assert decide_expiry(case, now) == decide_expiry(case, now)


# ---- periods ending in a holiday ----------------------------------------------------------------

@pytest.mark.parametrize("source, procedure, accepted, nominal, last_day", [
    # National Day 2026: holidays Thu 1 Oct - Wed 7 Oct. Accepted Wed 2 Sep: day 30 = Fri 2 Oct (holiday),
    # the period ends on the first working day after it, Thu 8 Oct.
    (DELEGATED, CourtProcedure.NONE, (2026, 9, 2), "2026-10-02", "2026-10-08"),
    # Spring Festival 2026: holidays Sun 15 Feb - Mon 23 Feb. Accepted Sun 1 Feb: day 15 = Mon 16 Feb, rolls
    # to Tue 24 Feb.
    (COMMISSIONED, ORDINARY, (2026, 2, 1), "2026-02-16", "2026-02-24"),
    # Accepted Sat 7 Feb: day 7 = Sat 14 Feb, a make-up working day (调休上班): it ends there, no roll.
    (COMMISSIONED, SIMPLIFIED, (2026, 2, 7), "2026-02-14", "2026-02-14"),
    # Accepted Sun 8 Feb: day 7 = Sun 15 Feb, the first holiday: rolls over the whole festival to 24 Feb.
    (COMMISSIONED, SIMPLIFIED, (2026, 2, 8), "2026-02-15", "2026-02-24"),
])
def test_a_period_ending_in_a_holiday_runs_to_the_next_working_day(source, procedure, accepted, nominal, last_day):
    case = new_case(source, procedure, accepted_at=at(*accepted))
    due = case.clock.current
    assert due.nominal_last_day == D(nominal) and due.last_day == D(last_day)
    assert decide_expiry(case, last_moment(D(last_day))) is None
    assert decide_expiry(case, first_moment_after(D(last_day))) is not None


# ---- extension: every party's consent -----------------------------------------------------------

def _requested(case, days=10, now=None):
    return decide_request_extension(case, RequestExtension(request_id="ext-1", days=days, reason="需等待损失评估",
                                                           actor=MEDIATOR), now or at(2026, 3, 20), Policy()).case


def _consent(case, party, agreed=True, reason="", now=None, actor=None):
    return decide_extension_consent(case, RecordConsent(party_id=party.party_id, agreed=agreed, reason=reason,
                                                        actor=actor or MEDIATOR), now or at(2026, 3, 21), CAL)


def test_every_party_consenting_extends_from_the_last_day():
    case = _requested(new_case(DELEGATED))  # last day Wed 1 Apr
    first = _consent(case, APPLICANT)
    assert isinstance(first.events[0], ExtensionConsentRecorded) and first.events[0].waiting_for == ("p-r",)
    assert first.case.clock.current.last_day == D("2026-04-01")
    granted = _consent(first.case, RESPONDENT, actor=party_actor(RESPONDENT))
    (event,) = granted.events
    # 1 Apr + 10 = Sat 11 Apr, a rest day: the extended period ends Mon 13 Apr.
    assert isinstance(event, ExtensionGranted) and event.deadline.last_day == D("2026-04-13")
    assert granted.case.clock.current.last_day == D("2026-04-13")
    assert granted.case.extension_requests[0].status is ExtensionStatus.GRANTED
    assert decide_expiry(granted.case, last_moment(D("2026-04-13"))) is None
    assert decide_expiry(granted.case, first_moment_after(D("2026-04-13"))) is not None


def test_extension_with_one_consent_missing_is_not_granted_and_the_case_expires():
    case = _consent(_requested(new_case(DELEGATED)), APPLICANT).case
    assert case.clock.current.last_day == D("2026-04-01") and case.pending_extension is not None
    assert decide_expiry(case, last_moment(D("2026-04-01"))) is None
    decision = decide_expiry(case, first_moment_after(D("2026-04-01")))
    assert decision is not None and decision.case.termination.reason == "period expired without agreed extension"
    assert decision.case.extension_requests[0].status is ExtensionStatus.LAPSED


def test_one_party_refusing_refuses_the_extension_with_the_reason():
    case = _consent(_requested(new_case(DELEGATED)), APPLICANT).case
    refused = _consent(case, RESPONDENT, agreed=False, reason="不愿再拖延，要求尽快起诉")
    (event,) = refused.events
    assert isinstance(event, ExtensionRefused) and event.party_id == "p-r" and event.reason == "不愿再拖延，要求尽快起诉"
    request = refused.case.extension_requests[0]
    assert request.status is ExtensionStatus.REFUSED and refused.case.clock.current.last_day == D("2026-04-01")
    assert "不愿再拖延" in refused.case.timeline[-1].reason
    with pytest.raises(NoPendingExtension):
        _consent(refused.case, RESPONDENT)
    # a new request may follow a refusal
    assert decide_request_extension(refused.case, RequestExtension(request_id="ext-2", days=5, reason="再商量",
                                                                   actor=MEDIATOR), at(2026, 3, 22), Policy())


def test_a_refusal_without_a_reason_is_invalid():
    with pytest.raises(InvalidInput, match="reason"):
        _consent(_requested(new_case(DELEGATED)), RESPONDENT, agreed=False, reason=" ")


def test_extension_guards():
    case = _requested(new_case(DELEGATED))
    with pytest.raises(ExtensionPending):
        _requested(case)
    with pytest.raises(ConsentAlreadyRecorded):
        _consent(_consent(case, APPLICANT).case, APPLICANT)
    with pytest.raises(ActorNotAllowed, match="only for itself"):
        _consent(case, RESPONDENT, actor=party_actor(APPLICANT))
    with pytest.raises(InvalidInput, match="party_id"):
        _consent(case, Party(party_id="p-x", name="王五", side=PartySide.APPLICANT))
    with pytest.raises(InvalidInput, match="days"):
        _requested(new_case(DELEGATED), days=0)
    with pytest.raises(InvalidInput, match="at most 15"):
        decide_request_extension(new_case(), RequestExtension(request_id="e", days=16, reason="r", actor=MEDIATOR),
                                 at(2026, 3, 3), Policy(max_extension_days=15))


def test_no_extension_once_the_period_has_run_out():
    case = new_case(DELEGATED)
    with pytest.raises(PeriodExpired):
        _requested(case, now=first_moment_after(D("2026-04-01")))
    pending = _requested(case)
    with pytest.raises(PeriodExpired):
        _consent(pending, APPLICANT, now=first_moment_after(D("2026-04-01")))
    assert _consent(pending, APPLICANT, now=last_moment(D("2026-04-01")))


# ---- appraisal (鉴定) days are not counted ---------------------------------------------------------

def _appraisal(case, start, end):
    held = decide_suspend_for_appraisal(case, SuspendForAppraisal(reason="伤情鉴定", actor=MEDIATOR), start).case
    return held, decide_end_appraisal(held, EndAppraisal(reason="鉴定意见书已送达", actor=MEDIATOR), end, CAL)


@pytest.mark.parametrize("start, end, not_counted, last_day", [
    # delegated, accepted 2 Mar, nominal last day Wed 1 Apr; 22 days unused after 10 Mar.
    ((2026, 3, 10, 9), (2026, 3, 17, 16), 7, "2026-04-08"),  # Wed 8 Apr: 7 days later, a working day
    ((2026, 3, 10, 9), (2026, 3, 10, 17), 0, "2026-04-01"),  # the same day: nothing shifts
    ((2026, 3, 10, 9), (2026, 3, 11, 9), 1, "2026-04-02"),  # one day
    # 10 days: nominal Sat 11 Apr rolls to Mon 13 Apr
    ((2026, 3, 10, 9), (2026, 3, 20, 9), 10, "2026-04-13"),
    # appraisal from the last day itself: no whole day left, the first working day after it ends
    # (Fri 3 Apr is followed by the Qingming holiday Sat 4 - Mon 6 Apr): Tue 7 Apr
    ((2026, 4, 1, 9), (2026, 4, 3, 9), 2, "2026-04-07"),
])
def test_appraisal_days_are_not_counted(start, end, not_counted, last_day):
    case = in_session(new_case(DELEGATED))
    held, resumed = _appraisal(case, at(*start), at(*end))
    assert held.state is CaseState.SUSPENDED and not held.clock.running
    (event,) = resumed.events
    assert isinstance(event, CaseResumed) and event.days_not_counted == not_counted
    assert resumed.case.clock.current.last_day == D(last_day) == event.deadline.last_day
    assert resumed.case.state is CaseState.IN_SESSION and resumed.case.clock.running
    assert decide_expiry(resumed.case, last_moment(D(last_day))) is None
    assert decide_expiry(resumed.case, first_moment_after(D(last_day))) is not None


def test_a_suspended_case_does_not_expire_or_get_reminded():
    held, _ = _appraisal(in_session(new_case(DELEGATED)), at(2026, 3, 25), at(2026, 5, 1))
    long_after = first_moment_after(D("2026-04-20"))
    assert decide_expiry(held, long_after) is None
    assert decide_reminder(held, long_after, CAL, Policy()) is None


def test_two_appraisals_add_up():
    case = in_session(new_case(DELEGATED))
    _, first = _appraisal(case, at(2026, 3, 10), at(2026, 3, 13))  # 3 days: 1 Apr -> Sat 4 Apr (nominal)
    _, second = _appraisal(first.case, at(2026, 3, 16), at(2026, 3, 18))  # 2 more: nominal Mon 6 Apr (holiday)
    assert first.case.clock.current.nominal_last_day == D("2026-04-04")
    assert second.case.clock.current.nominal_last_day == D("2026-04-06")
    assert second.case.clock.current.last_day == D("2026-04-07")
    assert len(second.case.clock.suspensions) == 2 and all(s.ended_at for s in second.case.clock.suspensions)


def test_extension_agreed_during_an_appraisal_still_adds_its_days():
    held = decide_suspend_for_appraisal(in_session(new_case(DELEGATED)), SuspendForAppraisal(
        reason="伤情鉴定", actor=MEDIATOR), at(2026, 3, 10)).case
    extended = _consent(_consent(_requested(held, now=at(2026, 3, 11)), APPLICANT, now=at(2026, 3, 12)).case,
                        RESPONDENT, now=at(2026, 3, 13)).case
    assert extended.clock.current.last_day == D("2026-04-13")  # 1 Apr + 10 = Sat 11 -> Mon 13 Apr
    resumed = decide_end_appraisal(extended, EndAppraisal(reason="完成", actor=MEDIATOR), at(2026, 3, 17), CAL).case
    # nominal 11 Apr, 32 days unused after 10 Mar, from 17 Mar: Sat 18 Apr -> Mon 20 Apr
    assert resumed.clock.current.nominal_last_day == D("2026-04-18")
    assert resumed.clock.current.last_day == D("2026-04-20")


def test_appraisal_guards():
    held, _ = _appraisal(in_session(new_case(DELEGATED)), at(2026, 3, 10), at(2026, 3, 11))
    with pytest.raises(HoldAlreadyActive):
        decide_suspend_for_appraisal(held, SuspendForAppraisal(reason="再次", actor=MEDIATOR), at(2026, 3, 10, 11))
    with pytest.raises(PeriodExpired):
        decide_suspend_for_appraisal(new_case(DELEGATED), SuspendForAppraisal(reason="迟了", actor=MEDIATOR),
                                     first_moment_after(D("2026-04-01")))


def test_false_mediation_hold_does_not_stop_the_clock_but_the_sweep_waits():
    case = in_session(new_case(DELEGATED))
    flagged = decide_flag_false_mediation(case, FlagFalseMediation(reason="疑似串通", actor=CLERK),
                                          at(2026, 3, 10)).case
    assert flagged.clock.running and flagged.clock.current.last_day == D("2026-04-01")
    assert decide_expiry(flagged, first_moment_after(D("2026-04-01"))) is None


# ---- the reminder -------------------------------------------------------------------------------

@pytest.mark.parametrize("source, accepted, working_days, remind_on", [
    # last day Wed 1 Apr; 3 working days before: Fri 27 Mar (Mon 30, Tue 31, Wed 1 remain)
    (DELEGATED, (2026, 3, 2), 3, "2026-03-27"),
    (DELEGATED, (2026, 3, 2), 1, "2026-03-31"),
    # last day Thu 8 Oct after National Day: Wed 30 Sep, Tue 29, Mon 28 Sep (25-27 Sep are holidays)
    (DELEGATED, (2026, 9, 2), 3, "2026-09-28"),
    (DELEGATED, (2026, 9, 2), 4, "2026-09-24"),
])
def test_reminder_goes_out_on_its_working_day_once(source, accepted, working_days, remind_on):
    policy = Policy(reminder_working_days=working_days)
    case = new_case(source, accepted_at=at(*accepted), policy=policy)
    assert reminder_day(case.clock.current, working_days, CAL) == D(remind_on)
    day_before = D(remind_on) - timedelta(days=1)
    assert decide_reminder(case, last_moment(day_before), CAL, policy) is None
    decision = decide_reminder(case, first_moment_after(day_before), CAL, policy)
    assert decision is not None
    (event,) = decision.events
    assert isinstance(event, ExpiryReminderDue) and event.working_days_left == working_days
    assert event.mediator_ids == ("med-1",) and event.deadline == case.clock.current
    assert decide_reminder(decision.case, first_moment_after(day_before) + timedelta(hours=5), CAL, policy) is None


def test_an_extension_earns_a_new_reminder():
    policy = Policy()
    case = new_case(DELEGATED)
    reminded = decide_reminder(case, at(2026, 3, 27), CAL, policy).case
    extended = _consent(_consent(_requested(reminded, now=at(2026, 3, 27, 11)), APPLICANT,
                                 now=at(2026, 3, 27, 12)).case, RESPONDENT, now=at(2026, 3, 27, 13)).case
    assert decide_reminder(extended, at(2026, 3, 30), CAL, policy) is None  # last day now Mon 13 Apr
    assert decide_reminder(extended, at(2026, 4, 8), CAL, policy) is not None  # Wed 8: Thu 9, Fri 10, Mon 13


def test_no_reminder_after_expiry_or_in_an_ended_case():
    case = new_case(DELEGATED)
    assert decide_reminder(case, first_moment_after(D("2026-04-01")), CAL, Policy()) is None
    ended = decide_expiry(case, first_moment_after(D("2026-04-01"))).case
    assert decide_reminder(replace(ended), at(2026, 3, 30), CAL, Policy()) is None
    assert decide_expiry(ended, first_moment_after(D("2026-04-01"))) is None


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError, match="reminder_working_days"):
        Policy(reminder_working_days=0)


def test_recount_replays_extensions_and_appraisals_to_the_same_deadline():
    from services.mediation.domain.clock import recount
    case = in_session(new_case(DELEGATED))
    case = decide_suspend_for_appraisal(case, SuspendForAppraisal(reason="鉴定", actor=MEDIATOR), at(2026, 3, 10)).case
    case = _consent(_consent(_requested(case, now=at(2026, 3, 11)), APPLICANT, now=at(2026, 3, 12)).case,
                    RESPONDENT, now=at(2026, 3, 12, 11)).case
    case = decide_end_appraisal(case, EndAppraisal(reason="完成", actor=MEDIATOR), at(2026, 3, 17), CAL).case
    case = decide_suspend_for_appraisal(case, SuspendForAppraisal(reason="补充鉴定", actor=MEDIATOR),
                                        at(2026, 3, 20)).case
    again = recount(case, CAL, Policy())
    assert again.current == case.clock.current and again.suspensions == case.clock.suspensions
    assert again.extensions == case.clock.extensions and not again.running
