"""Judicial confirmation across the running services: mediation's agreement-effective
event projected; a joint application accepted, ruled valid, the signed ruling verified
online and offline (only the court's public key); refusals a party would meet (day 31, one
party alone, a marriage term); a tampered ruling fails verification.

The agreement arrives as mediation publishes it (AgreementEffective with its content, produced
to the topic with the platform's headers). mediation's terms are money, acts and things, so the
marriage-status agreement is written to the projection by the function the consumer calls
(Confirmation.record_agreement) instead."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from aiokafka import AIOKafkaProducer

from liandiao import db
from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.confirmation.v1 import confirmation_pb2 as pb
from liandiao.confirmation.v1 import confirmation_pb2_grpc
from liandiao.devtools.clients import channel, token
from liandiao.devtools.localrun import REPO
from liandiao.events.catalog import AGREEMENT_EFFECTIVE
from liandiao.events.topics import topic_name
from liandiao.mediation.v1 import mediation_pb2
from liandiao.signing import KeyRing, sm3_digest
from services.confirmation import verify
from services.confirmation.app import Confirmation
from services.confirmation.keys import CourtKeys
from services.confirmation.tests.stack_builders import ORG, agreement, seed_courts, ts
from tests.e2e.support import OPERATOR, eventually

pytestmark = pytest.mark.e2e

COMMITTEE = token(Role.CLERK, subject="clerk-dalin", organization_id=ORG, region_scope=("150502",))
JUDGE = token(Role.JUDGE, subject="judge-horqin", organization_id="court-horqin", region_scope=("1505",))
COURT_CLERK = token(Role.COURT, subject="clerk-horqin", organization_id="court-horqin", region_scope=("1505",))
OTHER_JUDGE = token(Role.JUDGE, subject="judge-kailu", organization_id="court-kailu", region_scope=("1505",))
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
async def confirmation(services, stack_env):
    pool = await db.create_pool(stack_env["LIANDIAO_DATABASE_URL"], "confirmation")

    async def migrated():
        return await pool.fetchval("select to_regclass('courts') is not null")

    await eventually(migrated)
    async with pool.acquire() as conn:
        await seed_courts(conn)
    writer = Confirmation(pool, CourtKeys(KeyRing(), {}))  # writes the projection, signs nothing
    ch = channel(services.address("confirmation"))
    yield confirmation_pb2_grpc.ConfirmationServiceStub(ch), writer
    await ch.close()
    await pool.close()


async def _effective(writer: Confirmation, effective_at: datetime, **kw) -> pb.ConfirmableAgreement:
    a = agreement(effective_at, **kw)
    async with writer.pool.acquire() as conn, conn.transaction():
        await writer.record_agreement(conn, a, NOW)
    return a


def _apply(a, parties=None) -> pb.ApplyRequest:
    """Every party applies, bringing every Art.354 material (`a`: the projection's record or the event)."""
    people = list(a.content.parties if isinstance(a, mediation_pb2.AgreementEffective) else a.parties)
    items = [pb.MaterialItem(material="agreement"), pb.MaterialItem(material="presiding_proof")]
    for p in people:
        items += [pb.MaterialItem(material=m, party_id=p.party_id) for m in ("identity", "domicile", "contact")]
    return pb.ApplyRequest(agreement_id=a.agreement_id, court_org_id="court-horqin", submitted=items,
                           applicants=[pb.Applicant(party_id=p.party_id) for p in (parties or people)])


async def test_joint_application_ruled_valid_and_the_signed_ruling_verifies_online_and_offline(confirmation, tmp_path,
                                                                                             stack_env):
    stub, writer = confirmation
    a = await _published(writer, stack_env, NOW - timedelta(days=2))
    filed = await stub.Apply(_apply(a), metadata=COMMITTEE)
    assert filed.status == pb.APPLICATION_STATUS_FILED and not filed.missing
    assert filed.accept_by.source == "SPC-2011 Art.4"
    with pytest.raises(grpc.aio.AioRpcError) as seen:
        await stub.GetApplication(pb.GetApplicationRequest(application_id=filed.application_id), metadata=OTHER_JUDGE)
    assert seen.value.code() == grpc.StatusCode.NOT_FOUND

    # The court's clerk dockets it and names the judge; only the judge rules.
    accepted = await stub.AcceptApplication(pb.AcceptApplicationRequest(application_id=filed.application_id,
                                                                        judge_id="judge-horqin"),
                                            metadata=COURT_CLERK)
    assert accepted.status == pb.APPLICATION_STATUS_ACCEPTED and "蒙0502民特" in accepted.case_number
    assert accepted.decide_by.source.startswith("SPC-2011 Art.5") and accepted.judge_id == "judge-horqin"
    with pytest.raises(grpc.aio.AioRpcError) as clerk_rules:
        await stub.Rule(pb.RuleRequest(application_id=filed.application_id, outcome=pb.RULING_OUTCOME_VALID,
                                       reasons="x"), metadata=COURT_CLERK)
    assert clerk_rules.value.code() == grpc.StatusCode.PERMISSION_DENIED
    ruling = await stub.Rule(pb.RuleRequest(application_id=filed.application_id, outcome=pb.RULING_OUTCOME_VALID,
                                            reasons="协议系双方自愿达成，内容不违反法律规定。"), metadata=JUDGE)
    assert ruling.case_number == accepted.case_number and ruling.signature and ruling.key_id.startswith("dev-")
    assert "确认调解协议有效" in ruling.document.decode()
    ruled = await stub.ListApplications(pb.ListApplicationsRequest(status=pb.APPLICATION_STATUS_RULED), metadata=JUDGE)
    assert filed.application_id in {x.application_id for x in ruled.applications}
    assert all(x.status == pb.APPLICATION_STATUS_RULED for x in ruled.applications)

    anyone = token(Role.LAWYER, subject=str(uuid.uuid4()), organization_id="firm-x")
    ok = await stub.VerifyRuling(pb.VerifyRulingRequest(case_number=ruling.case_number,
                                                        content_digest=sm3_digest(ruling.document)), metadata=anyone)
    assert ok.genuine and ok.ruling.ruling_id == ruling.ruling_id
    assert "李四向张三支付5000元" in ruling.document.decode()
    tampered = ruling.document.replace("5000元".encode(), "50000元".encode())
    bad = await stub.VerifyRuling(pb.VerifyRulingRequest(case_number=ruling.case_number,
                                                         content_digest=sm3_digest(tampered)), metadata=anyone)
    assert not bad.genuine and not bad.HasField("ruling") and "differs" in bad.reason

    # The court's public key as the platform publishes it (ListCourtKeys, open to anyone).
    published = await stub.ListCourtKeys(pb.ListCourtKeysRequest(court_org_id="court-horqin"), metadata=anyone)
    key = next(k for k in published.keys if k.key_id == ruling.key_id)
    assert key.active and not key.revoked and "BEGIN PUBLIC KEY" in key.public_key_pem
    (tmp_path / "court.pub").write_text(key.public_key_pem)
    (tmp_path / "ruling.json").write_text(verify.signed_ruling_file(ruling.document, ruling.key_id, ruling.signature))
    (tmp_path / "tampered.json").write_text(verify.signed_ruling_file(tampered, ruling.key_id, ruling.signature))

    def offline(name: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "services.confirmation.verify", str(tmp_path / name),
                               "--public-key", str(tmp_path / "court.pub")], capture_output=True, text=True,
                              cwd=REPO, env={"PYTHONPATH": f"{REPO / 'libs'}:{REPO}"})
    good = offline("ruling.json")
    assert good.returncode == 0 and good.stdout.startswith(f"GENUINE: {ruling.case_number}"), good
    forged = offline("tampered.json")
    assert forged.returncode == 1 and "NOT GENUINE" in forged.stdout, forged

    # A party objects within its 15 days (SPC-Interp Art.372); the court records it once, by its id.
    received = (NOW + timedelta(hours=8)).date().isoformat()
    objection = pb.ObjectRequest(ruling_id=ruling.ruling_id, objector=a.content.parties[1].party_id,
                                 grounds="协议并非本人真实意思表示", received_on=received, objection_id=str(uuid.uuid4()))
    recorded = await stub.Object(objection, metadata=JUDGE)
    assert recorded.window.source == "SPC-Interp Art.372"
    again = await _refused(stub.Object(objection, metadata=JUDGE))
    assert again.code() == grpc.StatusCode.INVALID_ARGUMENT and "already used" in again.details()
    shown = await stub.GetApplication(pb.GetApplicationRequest(application_id=filed.application_id), metadata=JUDGE)
    assert [o.objection_id for o in shown.objections] == [objection.objection_id]


async def test_the_applicants_withdraw_before_the_ruling(confirmation, stack_env):
    stub, writer = confirmation
    a = await _published(writer, stack_env, NOW - timedelta(days=1))
    filed = await stub.Apply(_apply(a), metadata=COMMITTEE)
    assert {i.material for i in filed.required} >= {"agreement", "presiding_proof", "identity"}
    withdrawn = await stub.WithdrawApplication(pb.WithdrawApplicationRequest(
        application_id=filed.application_id, party_id=a.content.parties[0].party_id, reason="双方已自行履行"),
        metadata=COMMITTEE)
    assert withdrawn.status == pb.APPLICATION_STATUS_WITHDRAWN and withdrawn.withdrawal_reason == "双方已自行履行"
    late = await _refused(stub.AcceptApplication(pb.AcceptApplicationRequest(application_id=filed.application_id),
                                                 metadata=JUDGE))
    assert late.code() == grpc.StatusCode.FAILED_PRECONDITION


async def _refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as seen:
        await call
    return seen.value


async def test_day_31_and_one_party_are_refused_with_the_advice_to_sue(confirmation, stack_env):
    stub, writer = confirmation
    late = await _published(writer, stack_env, NOW - timedelta(days=45))
    err = await _refused(stub.Apply(_apply(late), metadata=COMMITTEE))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "30 days to apply ended" in err.details() and "may instead sue" in err.details()

    a = await _published(writer, stack_env, NOW - timedelta(days=1))
    err = await _refused(stub.Apply(_apply(a, parties=a.content.parties[:1]), metadata=COMMITTEE))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "not a joint application" in err.details() and "may instead sue" in err.details()
    listed = await stub.ListApplications(pb.ListApplicationsRequest(), metadata=OPERATOR)
    assert a.agreement_id not in {x.agreement_id for x in listed.applications}


async def test_a_marriage_term_is_proposed_for_refusal_and_refused(confirmation):
    stub, writer = confirmation
    a = await _effective(writer, NOW - timedelta(days=1), terms=[pb.AgreementTerm(
        asks="status", description="双方自愿解除婚姻关系", relation="marriage")])
    filed = await stub.Apply(_apply(a), metadata=COMMITTEE)
    assert [f.ground for f in filed.proposed_refusal] == [pb.REFUSAL_GROUND_IDENTITY_RELATIONSHIP]
    refused = await stub.RefuseApplication(pb.RefuseApplicationRequest(
        application_id=filed.application_id, grounds=[pb.REFUSAL_GROUND_IDENTITY_RELATIONSHIP],
        reasons="确认婚姻关系不属于司法确认的范围"), metadata=JUDGE)
    assert refused.status == pb.APPLICATION_STATUS_REFUSED and "may instead sue" in refused.advice


async def test_bad_input_names_the_field_and_stores_nothing(confirmation):
    stub, _ = confirmation
    err = await _refused(stub.Apply(pb.ApplyRequest(court_org_id="court-horqin"), metadata=COMMITTEE))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "agreement_id" in err.details()


async def _published(writer: Confirmation, stack_env, effective_at: datetime) -> mediation_pb2.AgreementEffective:
    """An agreement as mediation announces it, waited for until confirmation has projected it."""
    dispute_id, agreement_id = str(uuid.uuid4()), f"agr-{uuid.uuid4()}"
    zhang, li = f"p-zhang-{dispute_id[:8]}", f"p-li-{dispute_id[:8]}"
    event = mediation_pb2.AgreementEffective(
        case_id=str(uuid.uuid4()), dispute_id=dispute_id, agreement_id=agreement_id, effective_at=ts(effective_at),
        organization_id=ORG, region_code="150502", dispute_type="损害赔偿", digest="ab" * 32, digest_algorithm="SM3",
        effective_on=effective_at.date().isoformat(),
        content=mediation_pb2.AgreementContent(
            parties=[mediation_pb2.AgreementParty(party_id=zhang, name="张三", side=common_pb2.PARTY_SIDE_APPLICANT),
                     mediation_pb2.AgreementParty(party_id=li, name="李四", side=common_pb2.PARTY_SIDE_RESPONDENT)],
            terms=[mediation_pb2.Term(obligor_id=li, obligee_id=zhang, money=mediation_pb2.Money(
                amount_fen=500_000, currency="CNY"), deadline="2026-12-31", manner="一次性转账")]))
    headers = {"event-id": str(uuid.uuid4()), "event-type": AGREEMENT_EFFECTIVE.key,
               "occurred-at": NOW.isoformat(), "dispute-id": dispute_id, "region-code": "150502",
               "traceparent": "", "correlation-id": "confirmation-e2e"}
    producer = AIOKafkaProducer(bootstrap_servers=stack_env["LIANDIAO_KAFKA_BOOTSTRAP"])
    await producer.start()
    try:
        await producer.send_and_wait(topic_name(AGREEMENT_EFFECTIVE, "150502"), event.SerializeToString(),
                                     key=dispute_id.encode(), headers=[(k, v.encode()) for k, v in headers.items()])
    finally:
        await producer.stop()

    async def projected():
        return await writer.pool.fetchval("select 1 from agreements where agreement_id = $1", agreement_id)

    await eventually(projected, timeout=30)
    return event
