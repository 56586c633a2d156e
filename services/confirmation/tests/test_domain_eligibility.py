"""Who may apply, until when (CPL 2023 Art.205, Art.85; SPC-Interp Art.351). Expected last days
are worked out by hand from the 2026 State Council schedule."""

from __future__ import annotations

import pytest

from services.confirmation.domain import rules
from services.confirmation.domain.commands import FileApplication
from services.confirmation.domain.eligibility import Problem, assess_eligibility
from services.confirmation.domain.errors import NotEligible
from services.confirmation.domain.model import Applicant
from services.confirmation.tests.builders import BOTH, CAL, HORQIN, agreement, at


def _problems(agr, applicants, now):
    return [p.problem for p in assess_eligibility(agr, applicants, now, CAL).problems]


@pytest.mark.parametrize(
    ("effective", "last_in_time", "first_late"),
    [
        # Mon 2 Mar + 30 = Wed 1 Apr, a working day: day 30 in time, day 31 late.
        ("2026-03-02", "2026-04-01", "2026-04-02"),
        # 1 Sep + 30 = 1 Oct, National Day (1-7 Oct): the window ends Thu 8 Oct.
        ("2026-09-01", "2026-10-08", "2026-10-09"),
        # 16 Jan + 30 = 15 Feb, Spring Festival (15-23 Feb): the window ends Tue 24 Feb.
        ("2026-01-16", "2026-02-24", "2026-02-25"),
    ],
)
def test_application_window_day_30_in_time_day_31_late(effective, last_in_time, first_late):
    agr = agreement(effective_at=at(effective, 9))
    on_last_day = assess_eligibility(agr, BOTH, at(last_in_time, 23, 59), CAL)
    assert on_last_day.eligible
    assert on_last_day.window.last_day.isoformat() == last_in_time
    late = assess_eligibility(agr, BOTH, at(first_late, 0, 0), CAL)
    assert [p.problem for p in late.problems] == [Problem.TOO_LATE]
    assert last_in_time in late.problems[0].detail
    assert "CPL 2023 Art.205" in late.problems[0].source
    assert "sue" in late.advice


def test_a_holiday_inside_the_window_does_not_end_it_early():
    agr = agreement(effective_at=at("2026-09-01", 9))
    assert assess_eligibility(agr, BOTH, at("2026-10-02"), CAL).eligible  # a holiday, window still open


def test_one_party_alone_is_refused_with_the_reason_and_the_advice_to_sue():
    agr = agreement()
    result = assess_eligibility(agr, (Applicant("p-zhang"),), at("2026-06-02"), CAL)
    assert not result.eligible
    assert [p.problem for p in result.problems] == [Problem.NOT_ALL_PARTIES]
    assert "李四" in result.problems[0].detail
    assert "提起诉讼" in result.advice


def test_nothing_is_filed_for_one_party_alone():
    cmd = FileApplication(application_id="a", agreement=agreement(), court=HORQIN, applicants=(Applicant("p-li"),))
    with pytest.raises(NotEligible) as err:
        rules.decide_file(cmd, (), at("2026-06-02"), CAL)
    assert err.value.rule == "confirmation.eligibility"
    assert "张三 did not apply" in str(err.value) and "sue" in str(err.value)


def test_an_agent_with_special_authority_may_apply_for_a_party():
    agr = agreement()
    assert _problems(agr, (Applicant("p-zhang", "agent-lawyer"), Applicant("p-li")), at("2026-06-02")) == []


def test_an_agent_with_general_authority_may_not():
    agr = agreement()
    found = assess_eligibility(agr, (Applicant("p-zhang", "agent-general"), Applicant("p-li")), at("2026-06-02"), CAL)
    assert [p.problem for p in found.problems] == [Problem.AGENT_WITHOUT_AUTHORITY, Problem.NOT_ALL_PARTIES]
    assert "special authority" in found.problems[0].detail


def test_an_unknown_agent_or_a_stranger_does_not_count():
    agr = agreement()
    assert _problems(agr, (Applicant("p-zhang", "agent-nobody"), Applicant("p-li")), at("2026-06-02")) == [
        Problem.UNKNOWN_AGENT, Problem.NOT_ALL_PARTIES]
    assert _problems(agr, (*BOTH, Applicant("p-stranger")), at("2026-06-02")) == [Problem.NOT_A_PARTY]


def test_one_party_and_too_late_gives_both_reasons():
    agr = agreement(effective_at=at("2026-03-02"))
    assert _problems(agr, (Applicant("p-zhang"),), at("2026-04-02")) == [Problem.NOT_ALL_PARTIES, Problem.TOO_LATE]


def test_before_the_agreement_takes_effect_is_not_eligible():
    agr = agreement(effective_at=at("2026-06-01", 15))
    assert _problems(agr, BOTH, at("2026-06-01", 14)) == [Problem.NOT_YET_EFFECTIVE]
    assert _problems(agr, BOTH, at("2026-06-01", 15)) == []
