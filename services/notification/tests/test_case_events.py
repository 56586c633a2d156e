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


async def test_a_failure_returned_to_court_is_told_once_to_each_party_and_the_court(n):
    """Mediation publishes mediation-failed and case-returned-to-court for one court-related
    failure; the route's ``when = { returned_to_court = false }`` keeps the first quiet."""
    d = await assigned(n)
    src = common_pb2.CASE_SOURCE_COURT_DELEGATION
    failed = event("mediation.mediation-failed", mp.MediationFailed(
        case_id="c-1", dispute_id=d, details="一方拒绝调解", source=src, referring_org_id=COURT, region_code=TOWNSHIP,
        organization_id="committee-7", returned_to_court=True, court_id=COURT, failure=True, parties=PARTIES))
    returned = event("mediation.case-returned-to-court", mp.CaseReturnedToCourt(
        case_id="c-1", dispute_id=d, court_id=COURT, reason="一方拒绝调解", region_code=TOWNSHIP,
        organization_id="committee-7", parties=PARTIES, source=src))
    await consume(n, failed, returned)
    rows = [r for r in await n.list(CLERK, d, "", 100, 0) if r.template != "dispute-assigned/party"
            and not r.template.startswith("dispute-assigned/")]
    assert sorted((r.recipient_id, r.channel, r.template) for r in rows) == [
        (COURT, "webhook", "case-returned-to-court/court"),
        ("p-1", "console", "case-returned-to-court/party"), ("p-2", "console", "case-returned-to-court/party")]
    # A failure that stays with the committee is still told as mediation-failed.
    own = await assigned(n, common_pb2.CASE_SOURCE_ONLINE)
    kept = event("mediation.mediation-failed", mp.MediationFailed(
        case_id="c-2", dispute_id=own, details="双方分歧过大", source=common_pb2.CASE_SOURCE_ONLINE,
        region_code=TOWNSHIP, failure=True, parties=PARTIES))
    await consume(n, kept)
    assert [t for t, *_ in await told(n, kept)] == ["mediation-failed/party"] * 2


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
        application_id="a-1", dispute_id=d, court_org_id=COURT, reasons="调解协议内容违法",
        advice="The parties may instead sue in a people's court.", party_ids=["p-1"],   # only p-1 applied
        organization_id="committee-9", advice_code=cp.REFUSAL_ADVICE_MEDIATE_AGAIN_OR_SUE))
    await consume(n, refused)
    assert await told(n, refused) == [
        ("application-refused/organization", "organization", "committee-9", "console"),   # the event's own
        ("application-refused/party", "party", "王** (138****8000)", "console")]
    body, masked = (await bodies(n, refused))["p-1"]
    assert "不予受理" in body and "向人民法院提起诉讼" in body and "王建国" in body and "王建国" not in masked
    assert "may instead sue" not in body and "有管辖权" not in body   # the code is worded, not the English


async def test_a_refusal_for_jurisdiction_tells_each_locale_to_apply_to_a_competent_court(n):
    d = await assigned(n)
    refused = event("confirmation.application-refused", cp.ApplicationRefused(
        application_id="a-1", dispute_id=d, court_org_id=COURT, reasons="不属于本院管辖",
        advice_code=cp.REFUSAL_ADVICE_APPLY_TO_COMPETENT_COURT, party_ids=["p-1"], organization_id="committee-9"))
    await consume(n, refused)
    got = await bodies(n, refused)
    assert "向有管辖权的人民法院申请司法确认" in got["p-1"][0] and "提起诉讼" in got["p-1"][0]
    assert "有管辖权的人民法院申请" in got["committee-9"][0]
    values = {"name": "Bayar", "short_id": d[-8:], "advice_code": "REFUSAL_ADVICE_APPLY_TO_COMPETENT_COURT"}
    en = CFG.templates.render("application-refused/party", "en", values)
    assert en.locale == "en" and "apply to a competent court" in en.body and "sue in the people's court" in en.body
    mn = CFG.templates.render("application-refused/party", "mn-Mong", values)
    assert mn.locale == "mn-Mong" and "ᠡᠷᠬᠡ ᠪᠦᠬᠦᠢ ᠱᠢᠭᠦᠬᠦ" in mn.body
    plain = CFG.templates.render("application-refused/party", "en", {**values, "advice_code": ""})
    assert "competent court" not in plain.body and "sue in the people's court" in plain.body


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
        ("ruling-issued/party", "party", "王** (138****8000)", "console"),
        ("ruling-issued/referrer", "court", COURT, "webhook")]   # the delegating court's system (issue 10)
    valid, rejected = [(await bodies(n, r))["committee-7"][0] for r in rulings]
    assert "调解协议有效" in valid and "驳回申请" in rejected and "调解协议有效" not in rejected


async def test_the_county_justice_bureau_hears_of_a_false_mediation_report_and_an_escalation(n):
    """The 司法局 of the dispute's county (personnel's organizations) is an audience: told when
    a false mediation is reported and when no mediator could be found; another county's
    bureau is not, nor the prefecture's when the county has its own."""
    county = person(pp.ORGANIZATION_KIND_JUSTICE_BUREAU, "娜仁", roles=(pp.ROLE_CLERK,), region="150502")
    prefecture = person(pp.ORGANIZATION_KIND_JUSTICE_BUREAU, "哈斯", roles=(pp.ROLE_CLERK,), region="150500")
    other = person(pp.ORGANIZATION_KIND_JUSTICE_BUREAU, "其木格", roles=(pp.ROLE_CLERK,), region="150521")
    await consume(n, county, prefecture, other)
    d = await assigned(n, common_pb2.CASE_SOURCE_ONLINE)
    report = event("mediation.false-mediation-reported", mp.FalseMediationReported(
        case_id="c-1", dispute_id=d, region_code=TOWNSHIP, organization_id="committee-7", reason="双方串通",
        reported_by="clerk-1"))
    escalated = event("routing.dispute-escalated", routing_pb2.DisputeEscalated(
        dispute_id=d, region_code=TOWNSHIP, reasons=["no eligible mediator"]))
    await consume(n, report, escalated)
    bureau = [t for t in await told(n, report) if t[1] == "justice_bureau"]
    assert bureau == [("false-mediation-reported/justice_bureau", "justice_bureau", "娜* (139****0000)", "console")]
    assert [t for t in await told(n, escalated) if t[1] == "justice_bureau"] == [
        ("dispute-escalated/justice_bureau", "justice_bureau", "娜* (139****0000)", "console")]
    body, masked = (await bodies(n, escalated))[county.payload.person.person_id]
    assert "娜仁" in body and "娜仁" not in masked and "暂无合适调解员" in body


async def test_a_rejection_is_notified_to_the_judicial_office_and_a_valid_ruling_is_not(n):
    """SPC-2011 Art.12: the judicial administration hears of rejections (the township's judicial
    office), besides the committee."""
    office = person(pp.ORGANIZATION_KIND_JUDICIAL_OFFICE, "乌云")
    station = person(pp.ORGANIZATION_KIND_POLICE_STATION, "巴特尔")
    await consume(n, office, station)
    d = await assigned(n)
    valid, rejected = [event("confirmation.ruling-issued", cp.RulingIssued(
        application_id="a-1", dispute_id=d, ruling_id=f"r-{outcome}", outcome=outcome, case_number="（2026）蒙0502民特12号",
        court_org_id=COURT, organization_id="committee-7", party_ids=["p-1"]),
        at=NOW + timedelta(minutes=outcome)) for outcome in (cp.RULING_OUTCOME_VALID, cp.RULING_OUTCOME_REJECTED)]
    await consume(n, valid, rejected)
    officer = ("ruling-issued/liaison_officer", "liaison_officer", "乌* (139****0000)", "console")
    assert officer in await told(n, rejected) and officer not in await told(n, valid)
    assert not [t for t in await told(n, rejected) if "巴*" in t[2]]
    body, _ = (await bodies(n, rejected))[office.payload.person.person_id]
    assert "裁定驳回" in body and "民特12号" in body and "第十二条" in body


async def test_a_cancelled_session_tells_the_parties_not_to_come(n):
    d = await assigned(n)
    when = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
    scheduled_for = mp.SessionCancelled().scheduled_for
    scheduled_for.FromDatetime(when)
    cancelled = event("mediation.session-cancelled", mp.SessionCancelled(
        case_id="c-1", dispute_id=d, session_id="s-1", scheduled_for=scheduled_for, place="大林镇司法所调解室",
        number=1, region_code=TOWNSHIP, organization_id="committee-7", reason="调解员临时出差"))
    await consume(n, cancelled, cancelled)
    assert [t[:2] for t in await told(n, cancelled)] == [("session-cancelled/party", "party")] * 2
    body, _ = (await bodies(n, cancelled))["p-1"]
    assert "已取消" in body and "大林镇司法所调解室" in body and "请勿前往" in body
    assert "出差" not in body   # the mediator's free-text reason stays in the case


def test_the_court_and_supplement_deadline_reminders_have_their_own_mongolian_text():
    values = {"name": "Bayar", "short_id": "0000abcd", "application_id": "a-1", "case_number": "（2026）蒙0502民特1号",
              "deadline_kind": "decide", "working_days_left": 1, "scheduled_for": "2026-12-03T01:00:00Z",
              "place": "司法所"}
    for template, words in (("court-deadline-reminder/court", ("ᠱᠢᠭᠦᠨ ᠲᠣᠭᠲᠠᠭᠠᠯᠲᠠ", "1 ᠠᠵᠢᠯ", "民特1号")),
                            ("supplement-deadline-reminder/party", ("ᠪᠤᠴᠠᠭᠠᠨ ᠠᠪᠤᠭᠰᠠᠨ", "1 ᠠᠵᠢᠯ", "Bayar")),
                            ("session-cancelled/party", ("ᠦᠭᠡᠢᠰᠬᠡᠭᠳᠡᠪᠡ", "司法所", "Bayar"))):
        mn = CFG.templates.render(template, "mn-Mong", values)
        assert mn.locale == "mn-Mong" and all(w in mn.body for w in words), (template, mn)


async def test_a_withdrawn_application_tells_the_court_and_the_applicants(n):
    d = await assigned(n)
    withdrawn = event("confirmation.application-withdrawn", cp.ApplicationWithdrawn(
        application_id="a-1", dispute_id=d, court_org_id=COURT, by_party_id="p-1", reason="双方已自行履行",
        party_ids=["p-1"], organization_id="committee-7", region_code=TOWNSHIP))
    deemed = event("confirmation.application-withdrawn", cp.ApplicationWithdrawn(
        application_id="a-2", dispute_id=d, court_org_id=COURT, deemed=True, party_ids=["p-1", "p-2"],
        organization_id="committee-7", region_code=TOWNSHIP), at=NOW + timedelta(minutes=1))
    await consume(n, withdrawn, withdrawn, deemed)   # a redelivery tells nobody twice
    assert await told(n, withdrawn) == [
        ("application-withdrawn/court", "court", COURT, "webhook"),
        ("application-withdrawn/party", "party", "王** (138****8000)", "console")]   # only the applicant named
    body, masked = (await bodies(n, withdrawn))["p-1"]
    assert "已撤回" in body and "逾期" not in body and "王建国" in body and "王建国" not in masked
    assert "自行履行" not in body   # the applicants' free-text reason stays with the court
    got = await bodies(n, deemed)
    assert "按撤回申请处理" in got["p-2"][0] and "第三百五十七条" in got[COURT][0]
    values = {"name": "Bayar", "short_id": d[-8:], "application_id": "a-2", "deemed": True}
    assert "counts as withdrawn" in CFG.templates.render("application-withdrawn/party", "en", values).body
    mn = CFG.templates.render("application-withdrawn/party", "mn-Mong", values)
    assert mn.locale == "mn-Mong" and "ᠪᠤᠴᠠᠭᠠᠨ ᠠᠪᠤᠭᠰᠠᠨ" in mn.body and "Bayar" in mn.body


async def test_an_objection_tells_the_court_that_ruled_and_every_party(n):
    d = await assigned(n)
    objection = event("confirmation.objection-filed", cp.ObjectionFiled(
        objection_id="o-1", ruling_id="r-1", application_id="a-1", dispute_id=d, court_org_id=COURT,
        case_number="（2026）蒙0502民特12号", objector="张某某", third_party=True, region_code=TOWNSHIP))
    await consume(n, objection)
    assert await told(n, objection) == [
        ("objection-filed/court", "court", COURT, "webhook"),
        ("objection-filed/party", "party", "李** (no phone)", "console"),
        ("objection-filed/party", "party", "王** (138****8000)", "console")]
    got = await bodies(n, objection)
    assert "案外人" in got["p-2"][0] and "民特12号" in got["p-2"][0] and "原裁定仍然有效" in got["p-2"][0]
    assert "案外人" in got[COURT][0] and "请审查" in got[COURT][0]
    assert all("张某某" not in body for body, _ in got.values())   # the objector's name is the court's to read
    values = {"name": "Bayar", "short_id": d[-8:], "case_number": "（2026）蒙0502民特12号", "third_party": False}
    en = CFG.templates.render("objection-filed/party", "en", values)
    assert "a party has objected" in en.body and "third party" not in en.body
    mn = CFG.templates.render("objection-filed/party", "mn-Mong", values)
    assert mn.locale == "mn-Mong" and "ᠡᠰᠡᠷᠭᠦᠴᠡᠯ" in mn.body and "ᠨᠢᠭᠡ ᠲᠠᠯ᠎ᠠ" in mn.body


async def test_a_session_heard_of_before_the_assignment_is_told_when_the_assignment_arrives(n):
    """After a restart the events consumer can be ahead of the assignments one: a session
    announced for a dispute whose parties notification does not know yet is kept (encrypted)
    and told once the dispute-assigned naming them arrives, not dropped."""
    d = str(uuid.uuid4())
    when = mp.SessionScheduled().scheduled_for
    when.FromDatetime(datetime(2026, 12, 3, 1, 0, tzinfo=UTC))
    session = event("mediation.session-scheduled", mp.SessionScheduled(
        case_id="c-1", dispute_id=d, session_id="s-1", scheduled_for=when, place="大林镇司法所调解室", number=1,
        region_code=TOWNSHIP, organization_id="committee-7"))
    await consume(n, session)
    assert await told(n, session) == []
    async with n.pool.acquire() as conn:
        parked = await conn.fetchval("select payload_enc from parked_events where dispute_id = $1", uuid.UUID(d))
    assert parked is not None and "大林镇".encode() not in parked          # kept, and not in the clear
    assignment = event("routing.dispute-assigned", routing_pb2.DisputeAssigned(
        dispute_id=d, region_code=TOWNSHIP, dispute_type="neighbours", source=common_pb2.CASE_SOURCE_COURT_DELEGATION,
        mediator_id="m-1", mediator_name="宝音", organization_id="committee-7", referring_org_id=COURT,
        parties=PARTIES))
    await consume(n, assignment, assignment)
    assert [t[:2] for t in await told(n, session) if t[1] == "party"] == [("session-scheduled/party", "party")] * 2
    async with n.pool.acquire() as conn:
        assert await conn.fetchval("select count(*) from parked_events where dispute_id = $1", uuid.UUID(d)) == 0
