"""Messages reach people's real addresses (issue 10): events carry masked phones only, so
notification reads a dispute's parties' contacts from intake and a mediator's from
personnel over gRPC with its own service token (mutual TLS in this run); a party's SMS
reaches the SMS provider with the real number, in the party's language, a ruling reaches
the party's confirmed electronic service address on the SMTP server, and intake's and
personnel's audit trails record each contact read by the notification service."""

from __future__ import annotations

import random

import pytest

from liandiao import db
from liandiao.common.v1 import common_pb2
from liandiao.confirmation.v1 import confirmation_pb2 as cp
from liandiao.devtools import province
from liandiao.events import catalog
from liandiao.events.outbox import enqueue
from liandiao.notification.v1 import notification_pb2
from tests.e2e.support import CLERK, accept, eventually, register_until_offered

pytestmark = pytest.mark.e2e
EMAIL = "wang.e2e@sd.example.cn"


async def assigned_dispute(stubs, prov, seed: int):
    """A police referral whose first party confirmed an e-mail service address and whose
    second reads Mongolian, offered and accepted: (dispute id, mediator id, request)."""
    rng = random.Random(seed)

    def request():
        req = province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_POLICE_REFERRAL)
        req.parties[0].service_address, req.parties[0].service_address_confirmed = EMAIL, True
        req.parties[1].language = "mn"
        return req

    req, d, offer = await register_until_offered(stubs, request)
    await accept(stubs, d.dispute_id, offer)
    return d, offer.mediator_id, req


async def test_messages_reach_the_real_phone_and_e_mail_and_the_reads_are_audited(world, stack_env, sms, mailbox):
    stubs, prov = world
    d, mediator_id, req = await assigned_dispute(stubs, prov, seed=7301)
    listing = notification_pb2.ListDeliveriesRequest(dispute_id=d.dispute_id, page_size=100)

    async def sent(template: str, channel: int, count: int):
        got = [x for x in (await stubs["notification"].ListDeliveries(listing, metadata=CLERK)).deliveries
               if x.template == template and x.channel == channel
               and x.status in (notification_pb2.DELIVERY_STATUS_SENT, notification_pb2.DELIVERY_STATUS_DELIVERED)]
        return got if len(got) == count else None

    to_parties = await eventually(lambda: sent("dispute-assigned/party", notification_pb2.CHANNEL_SMS,
                                               len(req.parties)))
    by_out_id = {m["out_id"]: m for m in sms.state.messages}
    phones = {m["phone"] for x in to_parties for m in [by_out_id[x.delivery_id]]}
    assert phones == {p.phone for p in req.parties}                 # the real numbers, not "138****8000"
    texts = {by_out_id[x.delivery_id]["phone"]: by_out_id[x.delivery_id]["content"] for x in to_parties}
    assert req.parties[0].name in texts[req.parties[0].phone]        # the provider gets the name; listings do not
    assert "ᠮᠠᠷᠭᠤᠯᠳᠤᠭᠠᠨ" in texts[req.parties[1].phone]              # the party's own language
    assert not any(req.parties[0].name in x.body for x in to_parties)
    [to_mediator] = await eventually(lambda: sent("dispute-assigned/mediator", notification_pb2.CHANNEL_SMS, 1))
    assert by_out_id[to_mediator.delivery_id]["phone"].isdigit() and len(by_out_id[to_mediator.delivery_id]["phone"]) == 11

    # A ruling is served by SMS and at the confirmed electronic address.
    party_ids = sorted({x.recipient_id for x in to_parties})
    url = stack_env["LIANDIAO_DATABASE_URL"]
    confirmation = await db.create_pool(url, "confirmation")
    try:
        async with confirmation.acquire() as conn, conn.transaction():
            await enqueue(conn, catalog.RULING_ISSUED, cp.RulingIssued(
                application_id="a-contacts", dispute_id=d.dispute_id, ruling_id="r-contacts",
                outcome=cp.RULING_OUTCOME_VALID, case_number="（2026）内0502民特77号", court_org_id="court-e2e",
                party_ids=party_ids), dispute_id=d.dispute_id, region_code=d.region_code)
    finally:
        await confirmation.close()
    [served] = await eventually(lambda: sent("ruling-issued/party", notification_pb2.CHANNEL_EMAIL, 1))
    mails = await eventually(lambda: _async(mailbox.to(EMAIL)))
    assert len(mails) == 1 and "（2026）内0502民特77号" in mails[0].body and req.parties[0].name in mails[0].body
    assert served.delivery_id in mails[0].message_id

    intake, personnel = await db.create_pool(url, "intake"), await db.create_pool(url, "personnel")
    try:
        read = await intake.fetch("select resource_id from audit_log where actor = 'notification' "
                                  "and role = 'service' and resource_kind = 'party_contact' "
                                  "and resource_id = any ($1::text[])", party_ids)
        assert {r["resource_id"] for r in read} == set(party_ids)
        staff = await personnel.fetchval("select count(*) from audit_log where actor = 'notification' "
                                         "and resource_kind = 'person_contact' and resource_id = $1", mediator_id)
        assert staff >= 1
    finally:
        await intake.close()
        await personnel.close()


async def _async(value):
    return value


async def test_staff_with_a_work_e_mail_are_told_by_e_mail_where_the_routes_say_so(world, stack_env, mailbox):
    """Staff e-mail (issue 10): personnel keeps a person's work e-mail encrypted, answers it to
    notification's identity only (GetPersonContact), refuses a malformed one naming the field; a
    deadline reminder routed by SMS and e-mail reaches the mailbox of the person it names."""
    import grpc

    from liandiao.mediation.v1 import mediation_pb2 as mp
    from liandiao.personnel.v1 import personnel_pb2 as pp
    from liandiao.rpc.errors import field_violations
    from tests.e2e.support import OPERATOR

    stubs, prov = world
    personnel = stubs["personnel"]
    county = prov.counties[0]
    address = "baoyin.e2e@sfj.example.cn"
    # A member of staff of the county's judicial office, new (so no address of theirs is cached).
    new = pp.CreatePersonRequest(name="宝音图", organization_id=county.judicial_office, roles=[pp.ROLE_CLERK],
                                 languages=["zh"], phone="13700137011", email="not an address")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await personnel.CreatePerson(new, metadata=OPERATOR)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "email" in field_violations(refused.value)
    new.email = address
    mediator_id = (await personnel.CreatePerson(new, metadata=OPERATOR)).person_id
    mask = pp.UpdatePersonRequest(person_id=mediator_id, email="still@not")
    mask.update_mask.paths.append("email")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await personnel.UpdatePerson(mask, metadata=OPERATOR)
    assert "email" in field_violations(refused.value)
    shown = await personnel.GetPerson(pp.GetPersonRequest(person_id=mediator_id), metadata=OPERATOR)
    assert address not in str(shown)                                  # only the contact read names it

    dispute_id = str(__import__("uuid").uuid4())
    mediation = await db.create_pool(stack_env["LIANDIAO_DATABASE_URL"], "mediation")
    try:
        async with mediation.acquire() as conn, conn.transaction():
            await enqueue(conn, catalog.EXPIRY_REMINDER_DUE, mp.ExpiryReminderDue(
                case_id="c-email", dispute_id=dispute_id, region_code=county.division.code,
                mediator_ids=[mediator_id], working_days_left=3), dispute_id=dispute_id,
                region_code=county.division.code)
    finally:
        await mediation.close()
    # Read from personnel by notification's own identity (GetPersonContact), and audited there.
    mails = await eventually(lambda: _async(mailbox.to(address) or None))
    assert len(mails) == 1 and dispute_id[-8:] in mails[0].body and "宝音图" in mails[0].body
    audit = await db.create_pool(stack_env["LIANDIAO_DATABASE_URL"], "personnel")
    try:
        assert await audit.fetchval("select count(*) from audit_log where actor = 'notification' "
                                    "and resource_kind = 'person_contact' and resource_id = $1", mediator_id) >= 1
    finally:
        await audit.close()
