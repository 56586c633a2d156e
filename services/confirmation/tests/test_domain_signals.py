"""False-mediation signals: each threshold at its boundary, each with its evidence."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from services.confirmation.domain.signals import (
    PartyTrace,
    PastConfirmation,
    SignalKind,
    SignalPolicy,
    detect_signals,
)
from services.confirmation.tests.builders import LI, PAY, ZHANG, agreement, at

NOW = at("2026-06-02")
POLICY = SignalPolicy(period=timedelta(days=365), repeated_party_at=3, busy_mediator_at=4, amount_factor=10.0,
                      amount_min_cases=5, fast_agreement_under=timedelta(hours=2))
STRANGER = PartyTrace("fp-other", "ph-other", "ad-other")


def _past(n: int, *, parties=(STRANGER,), mediators=("med-9",), amount=100_000, filed_days_ago=30,
          dispute_type="损害赔偿", region="150502100") -> PastConfirmation:
    return PastConfirmation(application_id=f"past-{n}", filed_at=NOW - timedelta(days=filed_days_ago),
                            dispute_type=dispute_type, region_code=region, amount_fen=amount, parties=parties,
                            mediator_ids=mediators)


def _kinds(history, agr=None, policy=POLICY):
    return [s.kind for s in detect_signals(agr or agreement(), history, NOW, policy)]


def test_an_ordinary_agreement_raises_nothing():
    assert detect_signals(agreement(), [_past(1)], NOW, POLICY) == ()


def test_repeated_party_at_the_threshold_counting_this_confirmation():
    zhang = PartyTrace("fp-zhang")
    assert _kinds([_past(1, parties=(zhang,))]) == []  # 2 of 3
    (signal,) = detect_signals(agreement(), [_past(1, parties=(zhang,)), _past(2, parties=(zhang,))], NOW, POLICY)
    assert signal.kind is SignalKind.REPEATED_PARTY
    assert (signal.measured, signal.threshold, signal.evidence) == (3, 3, ("past-1", "past-2"))
    assert "张三" in signal.summary


def test_the_period_counts_back_from_now_inclusive():
    zhang = PartyTrace("fp-zhang")
    inside = [_past(1, parties=(zhang,), filed_days_ago=365), _past(2, parties=(zhang,))]
    assert _kinds(inside) == [SignalKind.REPEATED_PARTY]
    outside = [replace(inside[0], filed_at=NOW - timedelta(days=365, seconds=1)), inside[1]]
    assert _kinds(outside) == []


def test_busy_mediator_at_the_threshold():
    assert _kinds([_past(n, mediators=("med-1",)) for n in range(2)]) == []
    found = detect_signals(agreement(), [_past(n, mediators=("med-1",)) for n in range(3)], NOW, POLICY)
    assert [(s.kind, s.measured) for s in found] == [(SignalKind.BUSY_MEDIATOR, 4)]


def test_amount_far_above_or_below_the_type_and_prefecture_pattern():
    peers = [_past(n, amount=50_000) for n in range(5)]  # median 500 yuan; the agreement pays 5,000 (x10)
    (above,) = detect_signals(agreement(), peers, NOW, POLICY)
    assert (above.kind, above.measured, above.threshold) == (SignalKind.UNUSUAL_AMOUNT, 10.0, 10.0)
    assert "above" in above.summary and len(above.evidence) == 5
    assert _kinds([_past(n, amount=50_001) for n in range(5)]) == []  # just under x10
    assert _kinds([_past(n, amount=5_000_000) for n in range(5)]) == [SignalKind.UNUSUAL_AMOUNT]  # x0.1: below
    assert _kinds([_past(n, amount=4_999_999) for n in range(5)]) == []


def test_no_pattern_without_enough_peers_of_the_same_type_and_prefecture():
    assert _kinds([_past(n, amount=50_000) for n in range(4)]) == []
    other_type = [_past(n, amount=50_000, dispute_type="合同") for n in range(5)]
    other_prefecture = [_past(n, amount=50_000, region="150102001") for n in range(5)]
    assert _kinds(other_type) == _kinds(other_prefecture) == []
    # Peers in another county of the same prefecture count (Kailu is in Tongliao too).
    assert _kinds([_past(n, amount=50_000, region="150523100") for n in range(5)]) == [SignalKind.UNUSUAL_AMOUNT]


def test_agreement_unusually_fast_after_registration():
    effective = at("2026-06-01", 12)
    fast = agreement(effective_at=effective, registered_at=effective - timedelta(hours=1, minutes=59))
    (signal,) = detect_signals(fast, [], NOW, POLICY)
    assert (signal.kind, signal.measured) == (SignalKind.FAST_AGREEMENT, 119)
    assert _kinds([], agreement(effective_at=effective, registered_at=effective - timedelta(hours=2))) == []
    assert _kinds([], agreement(registered_at=None)) == []


def test_opposite_parties_sharing_a_phone_or_an_address():
    same_phone = agreement(parties=(ZHANG, replace(LI, phone_fingerprint=ZHANG.phone_fingerprint)))
    assert _kinds([], same_phone) == [SignalKind.SHARED_CONTACT]
    same_address = agreement(parties=(ZHANG, replace(LI, address_fingerprint=ZHANG.address_fingerprint)))
    assert _kinds([], same_address) == [SignalKind.SHARED_ADDRESS]


def test_parties_on_the_same_side_may_share_an_address():
    spouse = replace(ZHANG, party_id="p-wife", name="张妻", id_fingerprint="fp-wife", phone_fingerprint="ph-wife")
    assert _kinds([], agreement(parties=(ZHANG, spouse, LI))) == []


def test_a_phone_other_people_used_in_earlier_confirmations():
    other_person = PartyTrace("fp-someone", ZHANG.phone_fingerprint, "ad-x")
    (signal,) = detect_signals(agreement(), [_past(7, parties=(other_person,))], NOW, POLICY)
    assert (signal.kind, signal.evidence) == (SignalKind.SHARED_CONTACT, ("past-7",))
    # The same person again is not "another person" (that is REPEATED_PARTY's business).
    assert _kinds([_past(7, parties=(PartyTrace("fp-zhang", ZHANG.phone_fingerprint),))]) == []


@pytest.mark.parametrize(
    "bad",
    [dict(repeated_party_at=1), dict(busy_mediator_at=1), dict(amount_factor=1.0), dict(amount_min_cases=0),
     dict(period=timedelta(0)), dict(fast_agreement_under=timedelta(0))],
)
def test_thresholds_are_checked(bad):
    with pytest.raises(ValueError):
        SignalPolicy(**bad)


def test_total_amount_sums_the_payment_terms():
    assert agreement(terms=(PAY, replace(PAY, amount_fen=1))).total_amount_fen == 500_001
