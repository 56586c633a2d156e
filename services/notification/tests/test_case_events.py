"""Mediation's and confirmation's later events against the real PostgreSQL: who is told
when a case goes back to court, a mediation deadline nears, a false mediation is reported,
and the court accepts, refuses or rules on a confirmation application (routes in
routing.toml; listings show masked names)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from liandiao.auth import Claims, Role
from liandiao.common.v1 import common_pb2
from liandiao.confirmation.v1 import confirmation_pb2 as cp
from liandiao.events.consumer import ConsumedEvent
from liandiao.events.envelope import Envelope
from liandiao.mediation.v1 import mediation_pb2 as mp
from liandiao.personnel.v1 import personnel_pb2 as pp
from liandiao.pii import PiiCipher
from liandiao.routing.v1 import routing_pb2
from services.notification import config
from services.notification.app import Notification
from services.notification.channels import ConsoleChannel
from services.notification.store import Store

pytestmark = pytest.mark.stack
CFG = config.load({})
CLERK = Claims("clerk-1", "office-1", Role.CLERK, ("15",))
NOW = datetime.now(UTC)
TOWNSHIP = "150502001"
COURT = "court-keerqin"


def event(key: str, payload, at: datetime = NOW) -> ConsumedEvent:
    env = Envelope(str(uuid.uuid4()), f"{key}.v1", at, payload.dispute_id, TOWNSHIP, "", "")
    return ConsumedEvent(env, payload, "t")


def person(kind: int, name: str, roles=(pp.ROLE_LIAISON_OFFICER,), region: str = TOWNSHIP) -> ConsumedEvent:
    payload = pp.PersonChanged(person=pp.Person(person_id=f"p-{uuid.uuid4()}", name=name, organization_id="o",
                                                roles=list(roles), region_codes=[region], languages=["zh"],
                                                masked_phone="139****0000"),
                               organization_region_code=region, organization_kind=kind)
    return ConsumedEvent(Envelope(str(uuid.uuid4()), "personnel.person-changed.v1", NOW, "", region, "", ""),
                         payload, "t")


@pytest.fixture
async def n(service_pool):
    async with service_pool("notification") as pool:
        await pool.execute("delete from deliveries; delete from people")
        console = ConsoleChannel()
        yield Notification(pool, dict.fromkeys(("console", "sms", "email", "webhook"), console),
                           routing=CFG.routing, templates=CFG.templates, store=Store(pool, PiiCipher(bytes(32))),
                           webhook_receivers=frozenset({COURT}))


async def consume(n: Notification, *events: ConsumedEvent) -> None:
    for e in events:
        async with n.pool.acquire() as conn, conn.transaction():
            if e.envelope.event_type.startswith("personnel."):
                await n.on_person_changed(conn, e)
            else:
                await n.on_event(conn, e)


async def told(n: Notification, e: ConsumedEvent) -> list[tuple[str, str, str, str]]:
    """(template, recipient kind, recipient as listed, channel) of one event's deliveries."""
    rows = await n.list(CLERK, e.payload.dispute_id, "", 100, 0)
    mine = [d for d in rows if d.source_event_id == uuid.UUID(e.envelope.event_id)]
    return sorted((d.template, d.recipient_kind, d.recipient_display, d.channel) for d in mine)


async def bodies(n: Notification, e: ConsumedEvent) -> dict[str, tuple[str, str]]:
    rows = await n.list(CLERK, e.payload.dispute_id, "", 100, 0)
    return {d.recipient_id: (d.body, d.body_masked) for d in rows
            if d.source_event_id == uuid.UUID(e.envelope.event_id)}


PARTIES = [common_pb2.PartyRef(party_id="p-1", display_name="王建国", masked_phone="138****8000"),
           common_pb2.PartyRef(party_id="p-2", display_name="李秀英")]


async def assigned(n: Notification, source=common_pb2.CASE_SOURCE_COURT_DELEGATION) -> str:
    """A dispute notification already knows: its parties and committee, from the assignment."""
    d = str(uuid.uuid4())
    await consume(n, event("routing.dispute-assigned", routing_pb2.DisputeAssigned(
        dispute_id=d, region_code=TOWNSHIP, dispute_type="neighbours", source=source, mediator_id="m-1",
        mediator_name="宝音", organization_id="committee-7", referring_org_id=COURT, parties=PARTIES)))
    return d


async def test_a_case_returned_to_court_tells_the_court_and_the_parties(n):
    d = await assigned(n)
    returned = event("mediation.case-returned-to-court", mp.CaseReturnedToCourt(
        case_id="c-1", dispute_id=d, court_id=COURT, reason="一方拒绝调解", region_code=TOWNSHIP,
        organization_id="committee-7", parties=PARTIES, source=common_pb2.CASE_SOURCE_COURT_DELEGATION))
    await consume(n, returned, returned)           # a redelivery tells nobody twice
    assert await told(n, returned) == [
        ("case-returned-to-court/court", "court", COURT, "webhook"),
        ("case-returned-to-court/party", "party", "李** (no phone)", "console"),      # no phone: console
        ("case-returned-to-court/party", "party", "王** (138****8000)", "console")]
    body, masked = (await bodies(n, returned))["p-1"]
    assert "王建国" in body and "已退回人民法院" in body and "王建国" not in masked and "王**" in masked


async def test_an_expiry_reminder_goes_to_each_mediator_of_the_case(n):
    presiding = person(pp.ORGANIZATION_KIND_JUDICIAL_OFFICE, "宝音", roles=(pp.ROLE_MEDIATOR,))
    second = person(pp.ORGANIZATION_KIND_JUDICIAL_OFFICE, "其木格", roles=(pp.ROLE_MEDIATOR,))
    await consume(n, presiding, second)
    d = await assigned(n, common_pb2.CASE_SOURCE_ONLINE)
    ids = [presiding.payload.person.person_id, second.payload.person.person_id]
    reminder = event("mediation.expiry-reminder-due", mp.ExpiryReminderDue(
        case_id="c-1", dispute_id=d, region_code=TOWNSHIP, organization_id="committee-7", mediator_ids=ids,
        working_days_left=3))
    await consume(n, reminder)
    assert await told(n, reminder) == [
        ("expiry-reminder-due/mediator", "mediator", "其** (139****0000)", "console"),
        ("expiry-reminder-due/mediator", "mediator", "宝* (139****0000)", "console")]
    body, masked = (await bodies(n, reminder))[ids[1]]
    assert "其木格" in body and "还剩 3 个工作日" in body and "其**" in masked and "其木格" not in masked


async def test_a_false_mediation_report_goes_to_the_judicial_office_and_a_court_only_when_named(n):
    office = person(pp.ORGANIZATION_KIND_JUDICIAL_OFFICE, "乌云")
    station = person(pp.ORGANIZATION_KIND_POLICE_STATION, "巴特尔")               # not the judicial office's
    elsewhere = person(pp.ORGANIZATION_KIND_JUDICIAL_OFFICE, "其他", region="150502002")
    await consume(n, office, station, elsewhere)
    court_case = await assigned(n)
    own_case = await assigned(n, common_pb2.CASE_SOURCE_ONLINE)
    reports = [event("mediation.false-mediation-reported", mp.FalseMediationReported(
        case_id="c-1", dispute_id=d, region_code=TOWNSHIP, organization_id="committee-7", court_id=court,
        reason="双方串通", reported_by="clerk-1")) for d, court in ((court_case, COURT), (own_case, ""))]
    await consume(n, *reports)
    officer = ("false-mediation-reported/liaison_officer", "liaison_officer", "乌* (139****0000)", "console")
    assert await told(n, reports[0]) == [("false-mediation-reported/court", "court", COURT, "webhook"), officer]
    assert await told(n, reports[1]) == [officer]
    body, masked = (await bodies(n, reports[1]))[office.payload.person.person_id]
    assert "虚假调解" in body and "乌云" in body and "乌云" not in masked


async def test_an_accepted_application_tells_its_parties_and_the_committee(n):
    d = await assigned(n)
    accepted = event("confirmation.application-accepted", cp.ApplicationAccepted(
        application_id="a-1", dispute_id=d, court_org_id=COURT, case_number="（2026）内0502民特12号",
        party_ids=["p-1", "p-2"]))
    await consume(n, accepted)
    assert await told(n, accepted) == [
        ("application-accepted/organization", "organization", "committee-7", "console"),   # from the assignment
        ("application-accepted/party", "party", "李** (no phone)", "console"),
        ("application-accepted/party", "party", "王** (138****8000)", "console")]
    got = await bodies(n, accepted)
    assert "（2026）内0502民特12号" in got["p-2"][0] and "李秀英" in got["p-2"][0] and "李秀英" not in got["p-2"][1]
    assert "贵委员会" in got["committee-7"][0]


async def test_a_refused_application_tells_the_parties_they_may_sue(n):
    d = await assigned(n)
    refused = event("confirmation.application-refused", cp.ApplicationRefused(
        application_id="a-1", dispute_id=d, court_org_id=COURT, reasons="不属于本院管辖",
        advice="The parties may instead sue in a people's court.", party_ids=["p-1"],   # only p-1 applied
        organization_id="committee-9"))
    await consume(n, refused)
    assert await told(n, refused) == [
        ("application-refused/organization", "organization", "committee-9", "console"),   # the event's own
        ("application-refused/party", "party", "王** (138****8000)", "console")]
    body, masked = (await bodies(n, refused))["p-1"]
    assert "不予受理" in body and "向人民法院提起诉讼" in body and "王建国" in body and "王建国" not in masked
    assert "may instead sue" not in body                        # the court's English advice is not sent as is
    preview = CFG.templates.render("application-refused/party", "en",
                                   {"name": "Bayar", "short_id": d[-8:], "advice": refused.payload.advice})
    assert preview.locale == "en" and "may instead sue in a people's court" in preview.body


async def test_a_ruling_tells_the_parties_and_the_committee_what_the_court_decided(n):
    d = await assigned(n)
    rulings = [event("confirmation.ruling-issued", cp.RulingIssued(
        application_id="a-1", dispute_id=d, ruling_id=f"r-{outcome}", outcome=outcome, case_number="（2026）内0502民特12号",
        court_org_id=COURT, organization_id="committee-7", party_ids=["p-1", "p-2"]),
        at=NOW + timedelta(minutes=outcome)) for outcome in (cp.RULING_OUTCOME_VALID, cp.RULING_OUTCOME_REJECTED)]
    await consume(n, *rulings)
    assert await told(n, rulings[0]) == [
        ("ruling-issued/organization", "organization", "committee-7", "console"),
        ("ruling-issued/party", "party", "李** (no phone)", "console"),
        ("ruling-issued/party", "party", "王** (138****8000)", "console")]
    valid, rejected = [(await bodies(n, r))["committee-7"][0] for r in rulings]
    assert "调解协议有效" in valid and "驳回申请" in rejected and "调解协议有效" not in rejected
