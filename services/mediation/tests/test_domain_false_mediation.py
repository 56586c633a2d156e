"""The false-mediation rule (issue 8; DOMAIN.md §4): each threshold pinned at its boundary, and a
flag by the rule is the same hold and report a person's flag is, naming the rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import UUID

import pytest

from services.mediation.domain.agreement import ApplySeal, decide_apply_seal
from services.mediation.domain.events import AgreementEffective, CaseSuspended, FalseMediationReported
from services.mediation.domain.false_mediation import (
    FAST_AND_LARGE,
    REPEAT_PARTY,
    CaseOfParty,
    FalseMediationRules,
    decide_false_mediation_rule,
)
from services.mediation.domain.model import CaseSource, HoldKind
from services.mediation.domain.states import CaseState
from services.mediation.tests.domain_builders import (
    APPLICANT,
    CLERK,
    COURT,
    KEYS,
    RESPONDENT,
    SIGNER,
    at,
    drafted,
    new_case,
    sign_mediator,
    sign_party,
)

OPENED = at(2026, 3, 2)  # new_case's acceptance
AMOUNT = 150000  # the builders' agreement: 1,500.00 yuan and an act
OFF = FalseMediationRules(fast_amount_fen=0, fast_minutes=0, repeat_cases=0, repeat_days=0)
ID_A = "fp-applicant"


def took_effect(after: timedelta, source: CaseSource = CaseSource.PARTY_APPLICATION):
    """A case whose agreement took effect `after` its opening: (case, the AgreementEffective)."""
    case = new_case(source, parties=(replace(APPLICANT, id_fingerprint=ID_A), RESPONDENT))
    now = OPENED + after
    case = drafted(case, now)
    for party in case.parties:
        case = sign_party(case, party, now)
    case = sign_mediator(case, now)
    signature = SIGNER.sign(bytes.fromhex(case.agreement.digest))
    decision = decide_apply_seal(case, ApplySeal(signature=signature, actor=CLERK), now, KEYS)
    (event,) = [e for e in decision.events if isinstance(e, AgreementEffective)]
    return decision.case, event, now


@pytest.mark.parametrize("threshold, minutes, after, flagged", [
    (AMOUNT, 120, timedelta(minutes=120), True),                       # at the amount, at the minute
    (AMOUNT, 120, timedelta(minutes=120, seconds=1), False),           # a second later
    (AMOUNT + 1, 120, timedelta(minutes=30), False),                   # one fen short of the amount
    (AMOUNT, 120, timedelta(minutes=1), True),
    (0, 120, timedelta(minutes=1), False),                             # sign off
])
def test_fast_and_large_agreement(threshold, minutes, after, flagged):
    case, event, now = took_effect(after)
    rules = replace(OFF, fast_amount_fen=threshold, fast_minutes=minutes)
    decision = decide_false_mediation_rule(case, event, (), rules, now)
    assert (decision is not None) is flagged
    if flagged:
        assert decision.case.state is CaseState.SUSPENDED and decision.case.hold(HoldKind.FALSE_MEDIATION)
        report = decision.events[-1]
        assert isinstance(report, FalseMediationReported) and report.reported_by == FAST_AND_LARGE
        assert "1500.00 yuan" in report.reason and report.agreement_id == event.agreement_id


def other(n: int, opened):
    return CaseOfParty(case_id=UUID(int=100 + n), opened_at=opened, id_fingerprint=ID_A)


@pytest.mark.parametrize("cases, days, others, flagged", [
    # 3 cases (this one and two others) within 90 days: flagged; the oldest exactly 90 days back counts
    (3, 90, lambda now: [other(1, now - timedelta(days=90)), other(2, now - timedelta(days=1))], True),
    # one second older than the window: only two cases count
    (3, 90, lambda now: [other(1, now - timedelta(days=90, seconds=1)), other(2, now - timedelta(days=1))], False),
    (3, 90, lambda now: [other(1, now - timedelta(days=2))], False),                       # two cases: below 3
    (2, 90, lambda now: [other(1, now - timedelta(days=2))], True),                        # two cases at 2
    # the same other case listed twice (two parties) and this case itself are not counted again
    (3, 90, lambda now: [other(1, now - timedelta(days=2)), other(1, now - timedelta(days=2)),
                         CaseOfParty(case_id=UUID(int=1), opened_at=OPENED, id_fingerprint=ID_A)], False),
    # another fingerprint is another person
    (2, 90, lambda now: [CaseOfParty(case_id=UUID(int=7), opened_at=now, id_fingerprint="fp-someone")], False),
    (0, 90, lambda now: [other(1, now), other(2, now)], False),                            # sign off
])
def test_repeat_party(cases, days, others, flagged):
    case, event, now = took_effect(timedelta(days=3))
    rules = replace(OFF, repeat_cases=cases, repeat_days=days)
    decision = decide_false_mediation_rule(case, event, others(now), rules, now)
    assert (decision is not None) is flagged
    if flagged:
        assert decision.events[-1].reported_by == REPEAT_PARTY and "p-a" in decision.events[-1].reason


def test_both_signs_name_both_rules_and_a_court_case_reports_to_its_court():
    case, event, now = took_effect(timedelta(minutes=5), CaseSource.COURT_DELEGATION)
    rules = FalseMediationRules(fast_amount_fen=AMOUNT, fast_minutes=10, repeat_cases=2, repeat_days=30)
    decision = decide_false_mediation_rule(case, event, [other(1, now - timedelta(days=3))], rules, now)
    suspended, report = decision.events
    assert isinstance(suspended, CaseSuspended) and suspended.kind is HoldKind.FALSE_MEDIATION
    assert report.reported_by == f"{FAST_AND_LARGE},{REPEAT_PARTY}" and report.court_id == COURT
    assert decision.case.timeline[-1].actor.person_id == report.reported_by
    # already held: the rule does not flag twice
    assert decide_false_mediation_rule(decision.case, event, [], rules, now) is None


def test_thresholds_are_whole_numbers():
    with pytest.raises(ValueError, match="repeat_days"):
        FalseMediationRules(repeat_days=-1)


def test_the_thresholds_come_from_configuration():
    from liandiao.config import SettingsError
    from services.mediation.main import load_config
    assert load_config({}).false_mediation == FalseMediationRules(10_000_000, 120, 3, 90)
    rules = load_config({"FALSE_MEDIATION_FAST_AMOUNT_YUAN": "50000", "FALSE_MEDIATION_FAST_MINUTES": "30",
                         "FALSE_MEDIATION_REPEAT_CASES": "0", "FALSE_MEDIATION_REPEAT_DAYS": "180"}).false_mediation
    assert rules == FalseMediationRules(fast_amount_fen=5_000_000, fast_minutes=30, repeat_cases=0, repeat_days=180)
    with pytest.raises(SettingsError, match="FALSE_MEDIATION_REPEAT_DAYS"):
        load_config({"FALSE_MEDIATION_REPEAT_DAYS": "-1"})
