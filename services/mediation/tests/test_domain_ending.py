"""Ending a case: termination on one ground of SPC-Online Art.25 with the reason and the routes
told (PML Art.26), return of a failed court-related case (SPC-Invited Art.21), follow-up visits
and closing (PML Art.31), and suspected false mediation: held and reported."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from liandiao.errors import InvalidInput
from services.mediation.domain.clock import (
    EndAppraisal,
    RequestExtension,
    SuspendForAppraisal,
    decide_end_appraisal,
    decide_expiry,
    decide_request_extension,
    decide_suspend_for_appraisal,
)
from services.mediation.domain.ending import (
    FOLLOW_UP_PERIOD,
    STATUTORY_ROUTES,
    ClearFalseMediation,
    FlagFalseMediation,
    RecordFollowUp,
    RecordPerformance,
    Terminate,
    decide_clear_false_mediation,
    decide_flag_false_mediation,
    decide_follow_up,
    decide_follow_up_expiry,
    decide_record_performance,
    decide_terminate,
    follow_up_deadline,
)
from services.mediation.domain.errors import (
    ActorNotAllowed,
    GroundNotAllowed,
    HoldAlreadyActive,
    HoldNotActive,
    TransitionNotAllowed,
)
from services.mediation.domain.events import (
    CaseClosed,
    CaseReturnedToCourt,
    CaseSuspended,
    FalseMediationCleared,
    FalseMediationReported,
    FollowUpRecorded,
    MediationTerminated,
)
from services.mediation.domain.model import (
    CaseSource,
    ClosingReason,
    CourtNextStep,
    CourtProcedure,
    ExtensionStatus,
    FollowUpResult,
    HoldKind,
    Policy,
    TerminationGround,
)
from services.mediation.domain.states import AgreementState, CaseState, SessionState
from services.mediation.tests.domain_builders import (
    CAL,
    CLERK,
    COURT,
    MEDIATOR,
    OFFICIAL,
    at,
    drafted,
    effective,
    first_moment_after,
    in_session,
    last_moment,
    new_case,
)

NOW = at(2026, 3, 5, 15)
G = TerminationGround
FAILURES = [g for g in G if g.failure]


def terminate(case, ground, reason="双方分歧过大，无法达成一致", routes=("litigation", "arbitration"), now=NOW,
              actor=MEDIATOR):
    return decide_terminate(case, Terminate(ground=ground, reason=reason, routes_told=routes, actor=actor), now)


def _expired_case():
    return new_case(CaseSource.COURT_DELEGATION), first_moment_after(date(2026, 4, 1))


@pytest.mark.parametrize("ground", FAILURES, ids=[g.value for g in FAILURES])
def test_people_mediation_failure_terminates_with_reason_and_routes(ground):
    case, now = (new_case(), first_moment_after(date(2026, 4, 1))) if ground is G.PERIOD_EXPIRED else (new_case(), NOW)
    decision = terminate(case, ground, now=now)
    assert decision.case.state is CaseState.TERMINATED
    t = decision.case.termination
    assert (t.ground, t.reason, t.routes_told, t.returned_to_court) == (
        ground, "双方分歧过大，无法达成一致", ("litigation", "arbitration"), "")
    (event,) = decision.events
    assert isinstance(event, MediationTerminated) and event.ground is ground and not event.returned_to_court
    assert event.mediator_ids == ("med-1",) and event.organization_id == case.organization_id


@pytest.mark.parametrize("source, procedure, step", [
    (CaseSource.COURT_DELEGATION, CourtProcedure.NONE, CourtNextStep.REGISTER_IF_PARTY_INSISTS),
    (CaseSource.COURT_COMMISSION, CourtProcedure.ORDINARY, CourtNextStep.RESUME_TRIAL),
])
@pytest.mark.parametrize("ground", [G.PARTY_UNREACHABLE, G.PARTY_REFUSES_TO_SIGN, G.OTHER])
def test_a_failed_court_related_case_goes_back_to_its_court(source, procedure, step, ground):
    decision = terminate(new_case(source, procedure), ground)
    assert decision.case.state is CaseState.RETURNED_TO_COURT
    assert decision.case.termination.returned_to_court == COURT and decision.case.termination.court_next_step is step
    terminated, back = decision.events
    assert isinstance(terminated, MediationTerminated) and terminated.returned_to_court
    assert isinstance(back, CaseReturnedToCourt) and (back.court_id, back.next_step, back.ground) == (COURT, step,
                                                                                                      ground)


def test_settlement_and_withdrawal_is_not_a_failure_and_needs_no_routes():
    decision = terminate(new_case(CaseSource.COURT_DELEGATION), G.SETTLED_WITHDRAWN, reason="双方已自行和解并撤回申请",
                         routes=())
    assert decision.case.state is CaseState.TERMINATED
    (event,) = decision.events
    assert not event.returned_to_court and event.referring_org_id == COURT  # the court still learns of it


def test_termination_guards():
    case = new_case()
    with pytest.raises(GroundNotAllowed, match="taking effect"):
        terminate(case, G.AGREEMENT)
    with pytest.raises(GroundNotAllowed, match="has not expired"):
        terminate(case, G.PERIOD_EXPIRED, now=last_moment(date(2026, 4, 1)))
    with pytest.raises(InvalidInput, match="reason"):
        terminate(case, G.OTHER, reason=" ")
    with pytest.raises(InvalidInput, match="PML Art.26") as bad:
        terminate(case, G.POSITIONS_TOO_FAR_APART, routes=(" ",))
    assert bad.value.violations[0].field == "routes_told"


def test_termination_cancels_planned_sessions_voids_the_draft_and_lapses_the_extension():
    case = drafted(in_session(new_case()), NOW)
    case = decide_request_extension(case, RequestExtension(request_id="e-1", days=7, reason="再谈", actor=MEDIATOR),
                                    NOW, Policy()).case
    decision = terminate(case, G.PARTY_REFUSES_TO_SIGN, reason="被申请人拒绝签字")
    after = decision.case
    assert after.sessions[0].state is SessionState.CANCELLED and "party_refuses_to_sign" in after.sessions[0].cancel_reason
    assert after.agreements[0].state is AgreementState.VOID and after.agreement is None
    assert after.extension_requests[0].status is ExtensionStatus.LAPSED
    assert decision.events[0].cancelled_session_ids == ("s-1",)


def test_the_sweep_tells_the_statutory_routes():
    decision = decide_expiry(new_case(), first_moment_after(date(2026, 4, 1)))
    assert decision.case.termination.routes_told == STATUTORY_ROUTES == ("arbitration", "administrative", "litigation")
    court_case, now = _expired_case()
    assert decide_expiry(court_case, now).case.termination.routes_told == (
        "the court registers the case if the party insists",)


def test_terminating_a_suspended_case_closes_its_appraisal():
    held = decide_suspend_for_appraisal(new_case(), SuspendForAppraisal(reason="鉴定", actor=MEDIATOR), NOW).case
    decision = terminate(held, G.PARTY_REFUSES_TO_CONTINUE, reason="申请人不再等待鉴定，要求起诉")
    assert decision.case.state is CaseState.TERMINATED and decision.case.holds == ()
    assert decision.case.clock.suspensions[-1].ended_at == NOW


# ---- follow-up visits and closing (PML Art.31) ----------------------------------------------------

def visit(case, result, visited_on=date(2026, 4, 10), next_visit_on=None, visit_id="v-1", now=at(2026, 4, 10, 16)):
    return decide_follow_up(case, RecordFollowUp(visit_id=visit_id, visited_on=visited_on, result=result,
                                                 notes="电话回访", next_visit_on=next_visit_on, actor=MEDIATOR), now)


def test_partly_performed_sets_the_next_visit_and_performed_closes():
    case = effective(new_case(), NOW)
    first = visit(case, FollowUpResult.PARTLY_PERFORMED, next_visit_on=date(2026, 5, 6))
    assert first.case.state is CaseState.AGREEMENT_EFFECTIVE
    (event,) = first.events
    assert isinstance(event, FollowUpRecorded) and event.next_visit_on == date(2026, 5, 6)
    second = visit(first.case, FollowUpResult.PERFORMED, visited_on=date(2026, 5, 6), visit_id="v-2",
                   now=at(2026, 5, 6, 11))
    assert second.case.state is CaseState.CLOSED and second.case.closure.reason is ClosingReason.PERFORMED
    assert [type(e) for e in second.events] == [FollowUpRecorded, CaseClosed]
    assert [e.to_state for e in second.case.timeline[-2:]] == [CaseState.AGREEMENT_EFFECTIVE, CaseState.CLOSED]
    assert [f.result for f in second.case.follow_ups] == [FollowUpResult.PARTLY_PERFORMED, FollowUpResult.PERFORMED]


@pytest.mark.parametrize("result, visited_on, next_visit_on, field", [
    (FollowUpResult.NOT_PERFORMED, date(2026, 4, 10), None, "next_visit_on"),
    (FollowUpResult.PARTLY_PERFORMED, date(2026, 4, 10), date(2026, 4, 10), "next_visit_on"),
    (FollowUpResult.PERFORMED, date(2026, 4, 10), date(2026, 5, 1), "next_visit_on"),
    (FollowUpResult.PERFORMED, date(2026, 3, 4), None, "visited_on"),  # before the agreement took effect
    (FollowUpResult.PERFORMED, date(2026, 4, 11), None, "visited_on"),  # tomorrow
])
def test_follow_up_guards(result, visited_on, next_visit_on, field):
    with pytest.raises(InvalidInput) as bad:
        visit(effective(new_case(), NOW), result, visited_on=visited_on, next_visit_on=next_visit_on)
    assert bad.value.violations[0].field == field


def test_recorded_performance_closes():
    decision = decide_record_performance(effective(new_case(), NOW), RecordPerformance(
        note="银行转账回单已上传，院墙已修复", actor=CLERK), at(2026, 4, 2))
    assert decision.case.state is CaseState.CLOSED and isinstance(decision.events[0], CaseClosed)


@pytest.mark.parametrize("months, last_day", [
    # the last performance deadline is Thu 30 Apr 2026; 3 months later is Thu 30 Jul, 1 month Sat 30 May -> Mon 1 Jun
    (3, date(2026, 7, 30)),
    (1, date(2026, 6, 1)),
])
def test_follow_up_period_ends_months_after_the_last_performance_deadline(months, last_day):
    policy = Policy(follow_up_months=months)
    case = effective(new_case(), NOW)
    due = follow_up_deadline(case, CAL, policy)
    assert due.last_day == last_day and due.period.source == FOLLOW_UP_PERIOD.source
    assert decide_follow_up_expiry(case, last_moment(last_day), CAL, policy) is None
    decision = decide_follow_up_expiry(case, first_moment_after(last_day), CAL, policy)
    assert decision.case.state is CaseState.CLOSED
    assert decision.case.closure.reason is ClosingReason.FOLLOW_UP_PERIOD_ENDED
    assert decide_follow_up_expiry(new_case(), first_moment_after(last_day), CAL, policy) is None


# ---- suspected false mediation (虚假调解) ---------------------------------------------------------

def flag(case, actor=CLERK, now=NOW):
    return decide_flag_false_mediation(case, FlagFalseMediation(reason="双方疑似串通虚构借款以规避执行", actor=actor), now)


@pytest.mark.parametrize("source, court", [(CaseSource.COURT_DELEGATION, COURT), (CaseSource.PARTY_APPLICATION, "")])
def test_flagging_suspends_and_reports_to_the_judicial_office_and_the_court(source, court):
    decision = flag(in_session(new_case(source)))
    assert decision.case.state is CaseState.SUSPENDED and decision.case.hold(HoldKind.FALSE_MEDIATION)
    suspended, report = decision.events
    assert isinstance(suspended, CaseSuspended) and suspended.kind is HoldKind.FALSE_MEDIATION
    assert isinstance(report, FalseMediationReported)
    assert (report.region_code, report.court_id, report.reported_by) == ("150502101", court, "clerk-1")
    with pytest.raises(HoldAlreadyActive):
        flag(decision.case)


def test_a_flag_on_an_effective_agreement_holds_it_and_clearing_restores_it():
    case = effective(new_case(CaseSource.COURT_DELEGATION), NOW)
    flagged = flag(case).case
    assert flagged.state is CaseState.SUSPENDED and flagged.suspended_from is CaseState.AGREEMENT_EFFECTIVE
    assert flag(case).events[1].agreement_id == "ag-1"
    with pytest.raises(TransitionNotAllowed):  # only a court sets an effective agreement aside
        terminate(flagged, G.OTHER, reason="查实虚假调解")
    with pytest.raises(TransitionNotAllowed):
        decide_suspend_for_appraisal(flagged, SuspendForAppraisal(reason="x", actor=MEDIATOR), NOW)
    with pytest.raises(ActorNotAllowed):  # not by the case's own mediator
        decide_clear_false_mediation(flagged, ClearFalseMediation(reason="经核查不属实", actor=MEDIATOR), NOW)
    cleared = decide_clear_false_mediation(flagged, ClearFalseMediation(reason="经核查不属实", actor=OFFICIAL), NOW)
    assert cleared.case.state is CaseState.AGREEMENT_EFFECTIVE and cleared.case.holds == ()
    assert isinstance(cleared.events[1], FalseMediationCleared) and cleared.events[1].court_id == COURT
    with pytest.raises(TransitionNotAllowed):
        decide_clear_false_mediation(cleared.case, ClearFalseMediation(reason="x", actor=CLERK), NOW)


def test_clearing_a_case_held_only_for_appraisal_is_refused():
    held = decide_suspend_for_appraisal(new_case(), SuspendForAppraisal(reason="鉴定", actor=MEDIATOR), NOW).case
    with pytest.raises(HoldNotActive, match="false_mediation"):
        decide_clear_false_mediation(held, ClearFalseMediation(reason="x", actor=CLERK), NOW)


def test_a_confirmed_suspicion_terminates_the_case():
    decision = terminate(flag(in_session(new_case())).case, G.OTHER, reason="经司法所核查，系虚假调解")
    assert decision.case.state is CaseState.TERMINATED and decision.case.holds == ()


def test_both_holds_must_end_before_the_case_resumes():
    case = in_session(new_case())
    case = decide_suspend_for_appraisal(case, SuspendForAppraisal(reason="伤情鉴定", actor=MEDIATOR), NOW).case
    case = flag(case, now=NOW + timedelta(hours=1)).case
    assert case.state is CaseState.SUSPENDED and len(case.holds) == 2
    case = decide_end_appraisal(case, EndAppraisal(reason="鉴定完成", actor=MEDIATOR), at(2026, 3, 9), CAL).case
    assert case.state is CaseState.SUSPENDED and case.suspended_from is CaseState.IN_SESSION
    # 4 days not counted: nominal 1 Apr -> Sun 5 Apr, in the Qingming holiday (4-6 Apr): Tue 7 Apr
    assert case.clock.running and case.clock.current.last_day == date(2026, 4, 7)
    case = decide_clear_false_mediation(case, ClearFalseMediation(reason="不属实", actor=CLERK), at(2026, 3, 10)).case
    assert case.state is CaseState.IN_SESSION


def test_a_case_cleared_after_its_period_ran_out_is_then_ended_by_the_sweep():
    flagged = flag(in_session(new_case())).case
    after = first_moment_after(date(2026, 4, 1))
    assert decide_expiry(flagged, after) is None
    cleared = decide_clear_false_mediation(flagged, ClearFalseMediation(reason="不属实", actor=CLERK), after).case
    decision = decide_expiry(cleared, after + timedelta(minutes=1))
    assert decision.case.termination.ground is G.PERIOD_EXPIRED


def test_ground_failure_classification():
    assert not G.AGREEMENT.failure and not G.SETTLED_WITHDRAWN.failure
    assert {g for g in G if g.failure} == {G.PARTY_UNREACHABLE, G.PARTY_REFUSES_TO_CONTINUE,
                                           G.POSITIONS_TOO_FAR_APART, G.PERIOD_EXPIRED, G.PARTY_REFUSES_TO_SIGN,
                                           G.OTHER}
    assert replace(new_case(), source=CaseSource.POLICE_REFERRAL).source.court_related is False
