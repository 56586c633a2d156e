"""Mediation's and confirmation's later events reach their audiences with the six
services running: the events are put in the publishers' own outboxes (as their use cases
do), relayed through Kafka and consumed by notification, whose listing is what a clerk
sees (names masked). Who is told of each event, in detail: services/notification/tests/
test_case_events.py."""

from __future__ import annotations

import pytest

from liandiao import db
from liandiao.confirmation.v1 import confirmation_pb2 as cp
from liandiao.events import catalog
from liandiao.events.outbox import enqueue
from liandiao.mediation.v1 import mediation_pb2 as mp
from liandiao.notification.v1 import notification_pb2
from tests.e2e.support import CLERK, eventually
from tests.e2e.test_mediation_access import open_police_case

pytestmark = pytest.mark.e2e


async def test_a_refusal_reaches_the_parties_and_the_committee_and_a_reminder_the_mediator(world, stack_env):
    stubs, prov = world
    case, req = await open_police_case(stubs, prov, seed=5151)
    listing = notification_pb2.ListDeliveriesRequest(dispute_id=case.dispute_id, page_size=100)

    async def deliveries(prefix: str, count: int):
        got = [d for d in (await stubs["notification"].ListDeliveries(listing, metadata=CLERK)).deliveries
               if d.template.startswith(prefix)]
        return got if len(got) == count else None

    assigned = await eventually(lambda: deliveries("dispute-assigned/party", len(req.parties)))
    party_ids = sorted(d.recipient_id for d in assigned)
    url = stack_env["LIANDIAO_DATABASE_URL"]
    confirmation, mediation = await db.create_pool(url, "confirmation"), await db.create_pool(url, "mediation")
    try:
        async with confirmation.acquire() as conn, conn.transaction():
            await enqueue(conn, catalog.APPLICATION_REFUSED, cp.ApplicationRefused(
                application_id="a-e2e", dispute_id=case.dispute_id, court_org_id="court-e2e", reasons="不属于本院管辖",
                advice="The parties may instead sue in a people's court.", party_ids=party_ids,
                organization_id=case.organization_id), dispute_id=case.dispute_id, region_code=case.region_code)
        async with mediation.acquire() as conn, conn.transaction():
            await enqueue(conn, catalog.EXPIRY_REMINDER_DUE, mp.ExpiryReminderDue(
                case_id=case.case_id, dispute_id=case.dispute_id, region_code=case.region_code,
                organization_id=case.organization_id, mediator_ids=[case.mediator_id], working_days_left=2),
                dispute_id=case.dispute_id, region_code=case.region_code)
    finally:
        await confirmation.close()
        await mediation.close()

    refused = await eventually(lambda: deliveries("application-refused/", len(req.parties) + 1))
    told = sorted((d.template, d.recipient_id) for d in refused)
    assert told == sorted([("application-refused/organization", case.organization_id)]
                          + [("application-refused/party", p) for p in party_ids])
    names = [p.name for p in req.parties]
    for d in refused:
        assert not any(name in d.body or name in d.recipient_display for name in names)   # masked in listings
    to_parties = [d for d in refused if d.template == "application-refused/party"]
    assert {d.recipient_display[0] for d in to_parties} == {name[0] for name in names}
    assert all("向人民法院提起诉讼" in d.body for d in to_parties)
    reminded = await eventually(lambda: deliveries("expiry-reminder-due/mediator", 1))
    assert reminded[0].recipient_id == case.mediator_id and "还剩 2 个工作日" in reminded[0].body
