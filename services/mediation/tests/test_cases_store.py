"""Mediation against the real PostgreSQL: a case opens once on the mediator's acceptance with its
statutory deadline and its own copy of the parties (names encrypted); commands go through load ->
decide -> store + outbox in one transaction; the sweep ends an expired case once even with two
replicas; documents are never silently replaced; a provisional deadline is counted again."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from liandiao.auth import Claims, Role
from liandiao.common.v1 import common_pb2
from liandiao.config import _DEV_PII_KEY
from liandiao.errors import InvalidInput, NotFound, PermissionDenied
from liandiao.events.consumer import ConsumedEvent
from liandiao.events.envelope import Envelope
from liandiao.legaltime import parse_calendar, shipped_calendar
from liandiao.mediation.v1 import mediation_pb2
from liandiao.pii import PiiCipher
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc.convert import timestamp
from liandiao.signing import sm3_hex
from services.mediation.app import Mediation
from services.mediation.domain import agreement as ag
from services.mediation.domain import ending as en
from services.mediation.domain import sessions as se
from services.mediation.domain.content import (
    AgreementContent,
    AgreementMode,
    Money,
    PartyDetails,
    PartyKind,
    PartySide,
    Responsibility,
    SignatureMethod,
    SignerRole,
    Term,
)
from services.mediation.domain.errors import AgreementIncomplete, TransitionNotAllowed
from services.mediation.domain.model import InPerson, Participant, ParticipantRole, TerminationGround
from services.mediation.domain.states import CaseState

OPERATOR = Claims("op-1", "data-centre", Role.OPERATOR, ("15",))
MEDIATOR = Claims("m-1", "org-1", Role.MEDIATOR, ("150502",))
OTHER_MEDIATOR = Claims("m-9", "org-1", Role.MEDIATOR, ("150502",))
PII = PiiCipher(_DEV_PII_KEY)

pytestmark = pytest.mark.stack

# The 2027 New Year holiday as an operator would load it once the State Council publishes it.
WITH_2027 = parse_calendar({"format": 1, "years": {
    "2026": {"source": "国务院办公厅关于2026年部分节假日安排的通知",
             "holidays": [{"name": "元旦", "first": "2026-01-01", "last": "2026-01-03"}], "makeup_working_days": []},
    "2027": {"source": "test", "holidays": [{"name": "元旦", "first": "2027-01-01", "last": "2027-01-03"}],
             "makeup_working_days": []},
}})

PARTIES = [common_pb2.PartyRef(party_id="p-a", display_name="张三", side=common_pb2.PARTY_SIDE_APPLICANT,
                               kind=common_pb2.PARTY_KIND_NATURAL_PERSON, masked_id_number="150502********0011"),
           common_pb2.PartyRef(party_id="p-r", display_name="李四", side=common_pb2.PARTY_SIDE_RESPONDENT,
                               kind=common_pb2.PARTY_KIND_NATURAL_PERSON)]

COMPLETE = AgreementContent(
    parties=(PartyDetails(party_id="p-a", name="张三", side=PartySide.APPLICANT, kind=PartyKind.NATURAL_PERSON,
                          id_number="150502198001010011", address="通辽市科尔沁区和平路1号"),
             PartyDetails(party_id="p-r", name="李四", side=PartySide.RESPONDENT, kind=PartyKind.NATURAL_PERSON,
                          id_number="150502198102020022", address="通辽市科尔沁区和平路3号")),
    facts="李四家漏水损坏张三家天花板。", issues=("赔偿数额",),
    responsibilities=(Responsibility("p-a", "无"), Responsibility("p-r", "承担全部责任")),
    terms=(Term(obligor_id="p-r", obligee_id="p-a", obligation=Money(120000), manner="一次性银行转账",
                deadline=date(2026, 4, 30)),))


def accepted(at: datetime, source=common_pb2.CASE_SOURCE_COURT_DELEGATION, parties=()) -> ConsumedEvent:
    payload = routing_pb2.DisputeAssigned(dispute_id=str(uuid.uuid4()), region_code="150502", dispute_type="neighbours",
                                          source=source, mediator_id="m-1", organization_id="org-1",
                                          referring_org_id="court-1", accepted_at=timestamp(at), parties=parties)
    return ConsumedEvent(Envelope(str(uuid.uuid4()), "routing.dispute-assigned.v1", at, payload.dispute_id,
                                  "150502", "", ""), payload, "t")


@pytest.fixture
async def pool(service_pool):
    async with service_pool("mediation") as p:
        yield p


async def _open(pool, m: Mediation, event: ConsumedEvent):
    async with pool.acquire() as conn, conn.transaction():
        await m.on_dispute_assigned(conn, event)
    return await m.get(OPERATOR, dispute_id=event.payload.dispute_id)


async def test_a_redelivered_acceptance_opens_one_case_with_its_own_parties(pool):
    m = Mediation(pool, PII, calendar=shipped_calendar())
    event = accepted(datetime(2026, 1, 5, 2, 0, tzinfo=UTC), parties=PARTIES)
    for _ in range(2):
        async with pool.acquire() as conn, conn.transaction():
            await m.on_dispute_assigned(conn, event)
    case = await m.get(OPERATOR, dispute_id=event.payload.dispute_id)
    assert case.state is CaseState.OPENED and case.clock.current.last_day == date(2026, 2, 4)
    assert [p.name for p in case.parties] == ["张三", "李四"]
    async with pool.acquire() as conn:
        assert await conn.fetchval("select count(*) from cases where dispute_id = $1", case.dispute_id) == 1
        stored = await conn.fetch("select name, masked_name from case_parties where case_id = $1 order by party_id",
                                  case.case_id)
        doc = await conn.fetchval("select aggregate::text from cases where case_id = $1", case.case_id)
    assert [r["masked_name"] for r in stored] == ["张*", "李*"]
    assert all("张三".encode() not in r["name"] for r in stored) and "张三" not in doc and "李四" not in doc


async def test_a_case_runs_to_an_effective_agreement_with_events_in_the_outbox(pool):
    now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    m = Mediation(pool, PII, calendar=shipped_calendar(), now=lambda: now)
    case = await _open(pool, m, accepted(now, parties=PARTIES))
    cid = str(case.case_id)
    with pytest.raises(NotFound):   # a mediator of another case does not even see it
        await m.get(OTHER_MEDIATOR, case_id=cid)
    with pytest.raises(NotFound):
        await m.case_command(OTHER_MEDIATOR, cid, "terminate", lambda c, a, t: en.decide_terminate(
            c, en.Terminate(ground=TerminationGround.OTHER, reason="x", routes_told=("诉讼",), actor=a), t))
    with pytest.raises(PermissionDenied):  # the operator reads, never acts
        await m.case_command(OPERATOR, cid, "terminate", lambda c, a, t: c)  # type: ignore[arg-type]
    people = (Participant("p-a", ParticipantRole.PARTY), Participant("p-r", ParticipantRole.PARTY),
              Participant("m-1", ParticipantRole.MEDIATOR))
    case, s = await m.schedule_session(MEDIATOR, cid, lambda a: se.ScheduleSession(
        session_id=f"s-{cid}", scheduled_for=now + timedelta(days=2), venue=InPerson("调解室"), participants=people,
        actor=a))
    assert case.state is CaseState.IN_SESSION
    case = await m.case_command(MEDIATOR, cid, "draft", lambda c, a, t: ag.decide_draft_agreement(c, ag.DraftAgreement(
        agreement_id=f"a-{cid}", mode=AgreementMode.WRITTEN, actor=a), t))
    assert case.state is CaseState.AGREEMENT_DRAFTED and case.agreement.template_key
    async with pool.acquire() as conn:
        assert await conn.fetchval("select count(*) from agreements where case_id = $1", case.case_id) == 1
        outbox = [r["event_type"] for r in await conn.fetch(
            "select event_type from outbox where partition_key = $1 order by event_id", str(case.dispute_id))]
    assert outbox == ["mediation.session-scheduled.v1"]
    # An action the table does not allow names the state and the action.
    with pytest.raises(TransitionNotAllowed, match="agreement_drafted.*record_follow_up|record_follow_up.*agreement"):
        await m.case_command(MEDIATOR, cid, "follow up", lambda c, a, t: en.decide_follow_up(c, en.RecordFollowUp(
            visit_id="v", visited_on=date(2026, 3, 3), result=en.FollowUpResult.PERFORMED, notes="", next_visit_on=None,
            actor=a), t))
    # The template's draft lacks ID numbers and deadlines: not signable yet.
    with pytest.raises(AgreementIncomplete):
        await m.agreement_command(MEDIATOR, f"a-{cid}", "sign", m.sign(
            "m-1", SignerRole.MEDIATOR, SignatureMethod.PAPER_IN_PERSON, case.agreement.digest, ""))
    case = await m.agreement_command(MEDIATOR, f"a-{cid}", "edit", lambda c, a, t: ag.decide_edit_agreement(
        c, ag.EditAgreement(content=COMPLETE, actor=a), t))
    digest = case.agreement.digest
    for signer, role in (("p-a", SignerRole.PARTY), ("p-r", SignerRole.PARTY), ("m-1", SignerRole.MEDIATOR)):
        case = await m.agreement_command(MEDIATOR, f"a-{cid}", "sign", m.sign(
            signer, role, SignatureMethod.PAPER_IN_PERSON, digest, ""))
    assert case.state is CaseState.AGREEMENT_DRAFTED   # the seal is still missing
    case = await m.agreement_command(MEDIATOR, f"a-{cid}", "seal", m.apply_seal())
    assert case.state is CaseState.AGREEMENT_EFFECTIVE and case.agreement.effective_on == date(2026, 3, 2)
    assert m.keys.ring.verify(case.agreement.seal.signature, bytes.fromhex(digest), "org-1")
    async with pool.acquire() as conn:
        copies = await conn.fetchval("select count(*) from agreement_copies where agreement_id = $1", f"a-{cid}")
        signatures = await conn.fetchval("select count(*) from agreement_signatures where agreement_id = $1",
                                         f"a-{cid}")
        body = await conn.fetchval("select payload from outbox where partition_key = $1 and event_type = $2",
                                   str(case.dispute_id), "mediation.agreement-effective.v1")
        doc = await conn.fetchval("select aggregate::text from cases where case_id = $1", case.case_id)
    assert copies == 3 and signatures == 3
    effective = mediation_pb2.AgreementEffective.FromString(body)
    assert effective.digest == digest and effective.effective_on == "2026-03-02"
    assert effective.referring_court_id == "court-1" and effective.organization_id == "org-1"
    assert effective.content.terms[0].money.amount_fen == 120000 and effective.content.terms[0].deadline == "2026-04-30"
    # No raw personal data in the event, nor in the stored document: masked, encrypted.
    assert effective.content.parties[0].id_number == "" and effective.content.parties[0].masked_id_number
    assert "150502198001010011" not in doc and b"150502198001010011" not in body
    # The terms as signed, for the court to check (liandiao.agreement-terms/1), with their SM3.
    terms = json.loads(effective.terms_document)
    assert sm3_hex(effective.terms_document) == effective.terms_digest
    assert terms["agreement_digest"] == digest and terms["agreement_id"] == f"a-{cid}"
    assert terms["terms"][0]["owed"] == {"kind": "money", "amount_fen": 120000, "currency": "CNY"}
    assert terms["parties"] == [{"party_id": "p-a", "side": "applicant"}, {"party_id": "p-r", "side": "respondent"}]
    assert "张三".encode() not in effective.terms_document
    # Phone and address as keyed fingerprints only (confirmation's false-mediation signals).
    assert effective.content.parties[0].address_fingerprint == PII.fingerprint("通辽市科尔沁区和平路1号")
    assert "和平路".encode() not in body and effective.content.parties[0].address == ""


async def test_a_cancelled_session_is_published_so_the_parties_can_be_told(pool):
    now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    m = Mediation(pool, PII, calendar=shipped_calendar(), now=lambda: now)
    case = await _open(pool, m, accepted(now, parties=PARTIES))
    cid = str(case.case_id)
    people = (Participant("p-a", ParticipantRole.PARTY), Participant("m-1", ParticipantRole.MEDIATOR))
    await m.schedule_session(MEDIATOR, cid, lambda a: se.ScheduleSession(
        session_id=f"s-{cid}", scheduled_for=now + timedelta(days=2), venue=InPerson("调解室"), participants=people,
        actor=a))
    await m.session_command(MEDIATOR, f"s-{cid}", "cancel", lambda x, a, t: se.decide_cancel_session(
        x, se.CancelSession(session_id=f"s-{cid}", reason="调解员临时出差", actor=a), t))
    async with pool.acquire() as conn:
        rows = await conn.fetch("select event_type, payload from outbox where partition_key = $1 order by event_id",
                                str(case.dispute_id))
    assert [r["event_type"] for r in rows] == ["mediation.session-scheduled.v1", "mediation.session-cancelled.v1"]
    cancelled = mediation_pb2.SessionCancelled.FromString(rows[1]["payload"])
    assert (cancelled.session_id, cancelled.place, cancelled.number, cancelled.reason) == (
        f"s-{cid}", "调解室", 1, "调解员临时出差")
    assert cancelled.scheduled_for.ToDatetime(tzinfo=UTC) == now + timedelta(days=2)
    assert [p.person_id for p in cancelled.participants] == ["p-a", "m-1"]


async def test_two_sweeping_replicas_end_an_expired_case_once(pool):
    accepted_at = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    opener = Mediation(pool, PII, calendar=shipped_calendar(), now=lambda: accepted_at)
    case = await _open(pool, opener, accepted(accepted_at, parties=PARTIES))
    later = datetime(2026, 2, 5, 0, 0, tzinfo=UTC)   # 00:00 CST Feb 5 was 16:00 UTC Feb 4: expired
    a, b = (Mediation(pool, PII, calendar=shipped_calendar(), now=lambda: later) for _ in range(2))
    await asyncio.gather(a.sweep(), b.sweep())
    ended = await opener.get(OPERATOR, case_id=str(case.case_id))
    assert ended.state is CaseState.RETURNED_TO_COURT
    assert ended.termination.ground is TerminationGround.PERIOD_EXPIRED
    async with pool.acquire() as conn:
        kinds = sorted(r["event_type"] for r in await conn.fetch(
            "select event_type from outbox where partition_key = $1", str(case.dispute_id)))
        ground = await conn.fetchval("select ground from terminations where case_id = $1", case.case_id)
    assert ground == "period_expired"
    assert kinds.count("mediation.mediation-failed.v1") == 1 and kinds.count("mediation.case-returned-to-court.v1") == 1
    payload = None
    async with pool.acquire() as conn:
        body = await conn.fetchval("select payload from outbox where partition_key = $1 and event_type = $2",
                                   str(case.dispute_id), "mediation.mediation-failed.v1")
        payload = mediation_pb2.MediationFailed.FromString(body)
    assert payload.ground == mediation_pb2.TERMINATION_GROUND_PERIOD_EXPIRED and payload.returned_to_court
    assert payload.court_id == "court-1" and payload.failure


async def test_documents_are_hashed_and_never_silently_replaced(pool):
    now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    m = Mediation(pool, PII, calendar=shipped_calendar(), now=lambda: now)
    case = await _open(pool, m, accepted(now, parties=PARTIES))
    cid = str(case.case_id)
    pdf = b"%PDF-1.4 receipt"
    first = await m.upload(MEDIATOR, cid, "evidence", "receipt.pdf", "application/pdf", pdf, "", "")
    again = await m.upload(MEDIATOR, cid, "evidence", "receipt-copy.pdf", "application/pdf", pdf, "", "")
    assert again.document_id == first.document_id and len(first.sha256) == 64 and len(first.sm3) == 64
    with pytest.raises(InvalidInput, match="content"):
        await m.upload(MEDIATOR, cid, "evidence", "x.pdf", "application/pdf", b"MZ not a pdf", "", "")
    with pytest.raises(InvalidInput, match="media_type"):
        await m.upload(MEDIATOR, cid, "evidence", "x.exe", "application/x-msdownload", b"MZ", "", "")
    newer = await m.upload(MEDIATOR, cid, "evidence", "receipt.pdf", "application/pdf", pdf + b" v2", "",
                           str(first.document_id))
    with pytest.raises(InvalidInput, match="replaces_document_id"):
        await m.upload(MEDIATOR, cid, "evidence", "receipt.pdf", "application/pdf", pdf + b" v3", "",
                       str(first.document_id))
    listed = await m.documents(OPERATOR, cid, 50, 0)
    assert [d.document_id for d in listed] == [first.document_id, newer.document_id]


async def test_a_provisional_deadline_is_counted_again_once_next_years_holidays_are_loaded(pool):
    before = Mediation(pool, PII, calendar=shipped_calendar())            # 2027 not loaded yet
    event = accepted(datetime(2026, 12, 2, 2, 0, tzinfo=UTC), parties=PARTIES)  # day 30 is Fri 2027-01-01
    case = await _open(pool, before, event)
    assert case.clock.current.last_day == date(2027, 1, 1) and case.clock.current.provisional

    after = Mediation(pool, PII, calendar=WITH_2027)                       # the operator loaded 2027, restarted
    assert await after.recompute_provisional_deadlines() >= 1
    case = await after.get(OPERATOR, dispute_id=event.payload.dispute_id)
    # Jan 1-3 2027 is a holiday: the last day rolls to Monday Jan 4 (CPL 2023 Art.85).
    assert case.clock.current.last_day == date(2027, 1, 4) and not case.clock.current.provisional


async def test_the_expiry_reminder_goes_out_once_three_working_days_before_the_last_day(pool):
    accepted_at = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)      # delegated: the last day is Wed 2026-02-04
    opener = Mediation(pool, PII, calendar=shipped_calendar(), now=lambda: accepted_at)
    case = await _open(pool, opener, accepted(accepted_at, parties=PARTIES))

    async def reminders_after(now: datetime) -> int:
        await Mediation(pool, PII, calendar=shipped_calendar(), now=lambda: now).sweep()
        async with pool.acquire() as conn:
            return await conn.fetchval("select count(*) from outbox where partition_key = $1 and event_type = $2",
                                       str(case.dispute_id), "mediation.expiry-reminder-due.v1")

    # Working days back from Wed Feb 4: Tue 3, Mon 2, Fri Jan 30 (the weekend does not count).
    assert await reminders_after(datetime(2026, 1, 29, 15, 59, tzinfo=UTC)) == 0   # Thu 23:59 CST
    assert await reminders_after(datetime(2026, 1, 29, 16, 0, tzinfo=UTC)) == 1    # Fri 00:00 CST
    assert await reminders_after(datetime(2026, 2, 2, 1, 0, tzinfo=UTC)) == 1      # once per last day
    async with pool.acquire() as conn:
        body = await conn.fetchval("select payload from outbox where partition_key = $1 and event_type = $2",
                                   str(case.dispute_id), "mediation.expiry-reminder-due.v1")
    reminder = mediation_pb2.ExpiryReminderDue.FromString(body)
    assert reminder.deadline.last_day == "2026-02-04" and reminder.working_days_left == 3
    assert list(reminder.mediator_ids) == ["m-1"]


async def test_an_online_e_signature_needs_the_code_sent_to_the_party_good_once_for_ten_minutes(pool):
    from liandiao.errors import InvalidInput
    from services.mediation.domain.signing_code import CodeRefused
    clock = {"now": datetime(2026, 3, 2, 2, 0, tzinfo=UTC)}
    m = Mediation(pool, PII, calendar=shipped_calendar(), now=lambda: clock["now"])
    case = await _open(pool, m, accepted(clock["now"], parties=PARTIES))
    cid, aid = str(case.case_id), f"a-{case.case_id}"
    await m.case_command(MEDIATOR, cid, "draft", lambda c, a, t: ag.decide_draft_agreement(c, ag.DraftAgreement(
        agreement_id=aid, mode=AgreementMode.ONLINE, actor=a), t))
    case = await m.agreement_command(MEDIATOR, aid, "edit", lambda c, a, t: ag.decide_edit_agreement(
        c, ag.EditAgreement(content=COMPLETE, actor=a), t))
    digest = case.agreement.digest

    async def code_sent(party_id: str) -> tuple[str, mediation_pb2.SigningCodeIssued]:
        body = await pool.fetchval("select payload from outbox where partition_key = $1 and event_type = $2 "
                                   "order by id desc limit 1", str(case.dispute_id), "mediation.signing-code-issued.v1")
        sent = mediation_pb2.SigningCodeIssued.FromString(body)
        assert list(sent.party_ids) == [party_id]
        return sent.code, sent

    def e_sign(party_id: str, code: str):
        return m.sign_agreement(MEDIATOR, aid, party_id, SignerRole.PARTY, SignatureMethod.ONLINE_E_SIGNATURE, digest,
                                code)

    with pytest.raises(CodeRefused, match="no code was sent"):
        await e_sign("p-a", "123456")
    with pytest.raises(InvalidInput) as missing:
        await e_sign("p-a", "")
    assert missing.value.violations[0].field == "one_time_code"
    challenge = await m.request_signing_code(MEDIATOR, aid, "p-a")
    code, sent = await code_sent("p-a")
    assert len(code) == 6 and sent.valid_minutes == 10 and sent.digest == digest
    stored = await pool.fetchrow("select * from signing_challenges where challenge_id = $1",
                                 uuid.UUID(challenge.challenge_id))
    assert code not in stored["code_hash"] and stored["attempts"] == 0
    wrong = "000000" if code != "000000" else "000001"
    with pytest.raises(InvalidInput) as bad:
        await e_sign("p-a", wrong)
    assert bad.value.violations[0].field == "one_time_code" and "4 attempt(s) left" in bad.value.violations[0].reason
    assert await pool.fetchval("select attempts from signing_challenges where challenge_id = $1",
                               uuid.UUID(challenge.challenge_id)) == 1  # counted although refused
    clock["now"] += timedelta(minutes=9, seconds=59)
    case = await e_sign("p-a", code)
    assert [s.signer_id for s in case.agreement.signatures] == ["p-a"]
    assert case.agreement.signatures[0].one_time_code_ref == challenge.challenge_id
    with pytest.raises(CodeRefused, match="already used"):
        await e_sign("p-a", code)

    await m.request_signing_code(MEDIATOR, aid, "p-r")
    code, _ = await code_sent("p-r")
    clock["now"] += timedelta(minutes=10)
    with pytest.raises(CodeRefused, match="expired"):
        await e_sign("p-r", code)
    await m.request_signing_code(MEDIATOR, aid, "p-r")  # a new code, and the old one is void
    fresh, _ = await code_sent("p-r")
    case = await e_sign("p-r", fresh)
    assert case.state is CaseState.AGREEMENT_EFFECTIVE  # online: every party e-signed (SPC-Online Art.19)
