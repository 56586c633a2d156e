"""What the judge sees with an application, against the real PostgreSQL: the false-mediation
signals with their evidence (earlier applications), the Art.354 checklist, and the reason a
judge recorded for departing from the admissibility proposal. Signals are the court's: the
mediation organization filing the application does not see them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from liandiao.confirmation.v1 import confirmation_pb2 as pb
from liandiao.uuid7 import uuid7
from services.confirmation.api import to_proto
from services.confirmation.app import Confirmation, registered_at_of
from services.confirmation.domain.signals import SignalKind, SignalPolicy
from services.confirmation.keys import DEV_DIR, load_court_keys
from services.confirmation.tests.stack_builders import (
    COMMITTEE_CLERK,
    DALIN_JUDGE,
    HORQIN_CLERK,
    OPERATOR,
    Clock,
    agreement,
    both,
    cst,
    everything,
    seed_courts,
    ts,
)

pytestmark = pytest.mark.stack


@pytest.fixture
async def confirmation(service_pool, tmp_path):
    async with service_pool("confirmation") as pool:
        c = Confirmation(pool, load_court_keys({DEV_DIR: str(tmp_path / "keys")}, "development"),
                         clock=Clock(cst(2026, 6, 3)))
        async with pool.acquire() as conn:
            await seed_courts(conn)
        yield c


async def _file(c: Confirmation, a):
    async with c.pool.acquire() as conn, conn.transaction():
        await c.record_agreement(conn, a, c.clock())
    return await c.apply(a.agreement_id, "tribunal-dalin", both(a), everything(a), COMMITTEE_CLERK)


def _kinds(view) -> list[str]:
    return [s.kind for s in to_proto(view).signals]


async def test_a_phone_given_by_another_person_earlier_is_shown_to_the_judge_with_the_earlier_application(
        confirmation):
    phone = f"ph-{uuid.uuid4()}"
    first = agreement(cst(2026, 6, 1, 9))
    first.parties[0].phone_fingerprint = phone
    earlier = await _file(confirmation, first)
    assert earlier.signals == ()   # nothing before it

    second = agreement(cst(2026, 6, 2, 9))   # other people (other ID fingerprints), the same phone
    second.parties[1].phone_fingerprint = phone
    second.parties[1].id_fingerprint = f"fp-{uuid.uuid4()}"
    filed = await _file(confirmation, second)
    seen = to_proto(await confirmation.get(filed.app.application_id, DALIN_JUDGE))
    (signal,) = seen.signals
    assert signal.kind == SignalKind.SHARED_CONTACT.value
    assert list(signal.evidence_application_ids) == [earlier.app.application_id]
    assert "李四" in signal.summary and phone not in signal.summary
    # The court's clerks and the provincial operator see it too; the committee that mediated does not.
    assert _kinds(await confirmation.get(filed.app.application_id, HORQIN_CLERK)) == ["shared_contact"]
    assert _kinds(await confirmation.get(filed.app.application_id, OPERATOR)) == ["shared_contact"]
    assert _kinds(await confirmation.get(filed.app.application_id, COMMITTEE_CLERK)) == []
    assert _kinds(filed) == []   # the filing clerk's own reply


async def test_opposite_parties_at_one_address_and_an_agreement_within_two_hours_of_registration(confirmation):
    a = agreement(cst(2026, 6, 1, 9))
    same = f"ad-{uuid.uuid4()}"
    a.parties[0].address_fingerprint = a.parties[1].address_fingerprint = same
    a.registered_at.CopyFrom(ts(cst(2026, 6, 1, 7, 1)))   # 1 h 59 min before it took effect
    filed = await _file(confirmation, a)
    seen = to_proto(await confirmation.get(filed.app.application_id, DALIN_JUDGE))
    assert sorted(s.kind for s in seen.signals) == ["fast_agreement", "shared_address"]
    fast = next(s for s in seen.signals if s.kind == "fast_agreement")
    assert (fast.measured, fast.threshold) == (119, 120)

    b = agreement(cst(2026, 6, 1, 9))
    b.registered_at.CopyFrom(ts(cst(2026, 6, 1, 7)))   # exactly 2 hours: not "under" 2 hours
    other = await _file(confirmation, b)
    assert _kinds(await confirmation.get(other.app.application_id, DALIN_JUDGE)) == []


async def test_a_second_application_for_the_same_agreement_is_not_another_confirmation_of_its_parties(
        confirmation):
    confirmation.signal_policy = SignalPolicy(repeated_party_at=2)
    zhang = f"fp-{uuid.uuid4()}"
    x, y = agreement(cst(2026, 6, 1, 9)), agreement(cst(2026, 6, 1, 10))
    x.parties[0].id_fingerprint = y.parties[0].id_fingerprint = zhang
    first = await _file(confirmation, x)
    filed = await _file(confirmation, y)
    (signal,) = to_proto(await confirmation.get(filed.app.application_id, OPERATOR)).signals
    assert (signal.kind, signal.measured, list(signal.evidence_application_ids)) == (
        "repeated_party", 2, [first.app.application_id])
    # The parties apply to a second competent court with the same agreement: still two cases.
    again = await confirmation.apply(y.agreement_id, "court-kailu", both(y), everything(y), COMMITTEE_CLERK)
    (signal,) = to_proto(await confirmation.get(again.app.application_id, OPERATOR)).signals
    assert (signal.measured, list(signal.evidence_application_ids)) == (2, [first.app.application_id])


async def test_the_checklist_and_the_judges_reason_for_departing_from_the_proposal_are_shown(confirmation):
    a = agreement(cst(2026, 6, 1, 9), terms=[pb.AgreementTerm(
        asks="status", relation="marriage", description="双方解除婚姻关系")])
    a.terms.append(pb.AgreementTerm(asks="payment", description="李四向张三支付五千元", amount_fen=500_000,
                                    obligor_party_id=a.parties[1].party_id, obligee_party_id=a.parties[0].party_id,
                                    due_on="2026-06-30"))
    filed = await _file(confirmation, a)
    shown = to_proto(filed)
    assert [f.ground for f in shown.proposed_refusal] == [pb.REFUSAL_GROUND_IDENTITY_RELATIONSHIP]
    assert shown.proposed_refusal[0].reason
    required = {(i.material, i.party_id) for i in shown.required}
    assert ("agreement", "") in required and ("identity", a.parties[0].party_id) in required
    assert {(i.material, i.party_id) for i in shown.submitted} == required and not shown.missing
    accepted = await confirmation.accept(filed.app.application_id, "仅确认给付部分", "婚姻关系已另案处理，本案仅涉给付",
                                         DALIN_JUDGE)
    seen = to_proto(await confirmation.get(accepted.app.application_id, HORQIN_CLERK))
    assert (seen.override_reason, seen.decision_reasons) == ("婚姻关系已另案处理，本案仅涉给付", "仅确认给付部分")


def test_the_registration_instant_is_read_from_intakes_uuid7_dispute_id():
    minted = uuid7()
    at = registered_at_of(str(minted))
    assert at is not None and abs(at - datetime.now(UTC)) < timedelta(seconds=5)
    assert registered_at_of(str(uuid.uuid4())) is None and registered_at_of("not-a-uuid") is None


def test_the_projection_keeps_the_fingerprints_mediators_and_registration_from_agreement_effective():
    from liandiao.common.v1 import common_pb2
    from liandiao.mediation.v1 import mediation_pb2 as mpb
    from services.confirmation.app import from_agreement_effective
    dispute = uuid7()
    e = mpb.AgreementEffective(dispute_id=str(dispute), agreement_id="agr-1", mediator_ids=["med-1", "med-2"],
                               content=mpb.AgreementContent(parties=[mpb.AgreementParty(
                                   party_id="p-a", name="张三", side=common_pb2.PARTY_SIDE_APPLICANT,
                                   phone_fingerprint="ph", address_fingerprint="ad")]))
    record = from_agreement_effective(e)
    assert list(record.mediator_ids) == ["med-1", "med-2"]
    assert (record.parties[0].phone_fingerprint, record.parties[0].address_fingerprint) == ("ph", "ad")
    assert record.registered_at.ToDatetime(tzinfo=UTC) == registered_at_of(str(dispute))
