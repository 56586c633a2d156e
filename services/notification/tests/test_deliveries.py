"""Notification against the real PostgreSQL: who is told what when a mediator
accepts, retries with back-off, and what a failed delivery leaves behind."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from liandiao.auth import Claims, Role
from liandiao.common.v1 import common_pb2
from liandiao.events.consumer import ConsumedEvent
from liandiao.events.envelope import Envelope
from liandiao.pii import PiiCipher
from liandiao.routing.v1 import routing_pb2
from services.notification import config
from services.notification.app import Notification
from services.notification.channels import ConsoleChannel, Outgoing
from services.notification.store import Store

CFG = config.load({})
MAX_ATTEMPTS = CFG.routing.retry.max_attempts


def make(pool, channel) -> Notification:
    channels = {"console": channel, "sms": channel, "email": channel, "webhook": channel}
    return Notification(pool, channels, routing=CFG.routing, templates=CFG.templates, store=Store(pool, PiiCipher(bytes(32))),
                        draw=lambda: 0.0)

CLERK = Claims("clerk-1", "office-1", Role.CLERK, ("15",))

pytestmark = pytest.mark.stack
NOW = datetime.now(UTC) + timedelta(minutes=1)  # deliveries are due by then (DB clock)
CLOCK_PER_TEST = True                             # NOW is set again before each test (conftest.py)



class Flaky:
    """A channel that fails its first ``failures`` sends."""

    name = "console"

    def __init__(self, failures: int):
        self.failures, self.sent = failures, []

    async def send(self, message: Outgoing) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("SMS gateway timed out")
        self.sent.append(message)


def assigned(source=common_pb2.CASE_SOURCE_POLICE_REFERRAL) -> ConsumedEvent:
    payload = routing_pb2.DisputeAssigned(
        dispute_id=str(uuid.uuid4()), region_code="150502", dispute_type="neighbours", source=source,
        mediator_id="m-1", mediator_name="宝音", referring_org_id="station-1",
        parties=[common_pb2.PartyRef(party_id="p-1", display_name="王建国", masked_phone="138****8000"),
                 common_pb2.PartyRef(party_id="p-2", display_name="李秀英")])
    env = Envelope(str(uuid.uuid4()), "routing.dispute-assigned.v1", NOW, payload.dispute_id, "150502", "", "")
    return ConsumedEvent(env, payload, "t")


@pytest.fixture
async def pool(service_pool):
    async with service_pool("notification") as p:
        await p.execute("delete from deliveries")
        yield p


async def test_parties_mediator_and_referring_station_are_told_once_each(pool):
    n = make(pool, ConsoleChannel())
    event = assigned()
    for _ in range(2):  # a redelivered event adds nothing
        async with pool.acquire() as conn, conn.transaction():
            await n.on_event(conn, event)
    rows = await n.list(CLERK, event.payload.dispute_id, "", 50, 0)
    assert sorted((d.template, d.recipient_kind) for d in rows) == [
        ("dispute-assigned/mediator", "mediator"), ("dispute-assigned/party", "party"),
        ("dispute-assigned/party", "party"), ("dispute-assigned/referrer", "police_station")]
    mediator = next(d for d in rows if d.recipient_kind == "mediator")
    assert mediator.recipient_display == "宝* (no phone)"                     # listings mask names, officials' too
    party = next(d for d in rows if d.recipient_id == "p-1")
    assert party.recipient_display == "王** (138****8000)"
    assert "宝音" in party.body and "科尔沁区" not in party.body and "免费" not in party.body
    assert "人民调解不收费" in party.body
    assert "王**" in party.body_masked and "王建国" not in party.body_masked   # listings mask the name


async def test_a_failing_channel_is_retried_with_back_off_then_sent(pool):
    channel = Flaky(failures=2)
    n = make(pool, channel)
    event = assigned(source=common_pb2.CASE_SOURCE_PARTY_APPLICATION)   # no referrer told
    async with pool.acquire() as conn, conn.transaction():
        await n.on_event(conn, event)
    assert await n.dispatch_due(NOW) == 3                 # first send: 2 fail, 1 goes
    assert await n.dispatch_due(NOW) == 0                 # the failed ones wait (2 s back-off)
    assert await n.dispatch_due(NOW + timedelta(seconds=2)) == 2
    rows = await n.list(CLERK, event.payload.dispute_id, "", 50, 0)
    assert {d.status for d in rows} == {"sent"} and sorted(d.attempts for d in rows) == [1, 2, 2]
    async with pool.acquire() as conn:
        sent = await conn.fetchval("select count(*) from outbox where event_type = 'notification.delivery-succeeded.v1'"
                                   " and headers->>'dispute-id' = $1", event.payload.dispute_id)
    assert sent == 3


async def test_a_delivery_that_never_goes_through_is_failed_and_reported(pool):
    n = make(pool, Flaky(failures=10**6))
    event = assigned(source=common_pb2.CASE_SOURCE_ONLINE)
    async with pool.acquire() as conn, conn.transaction():
        await n.on_event(conn, event)
    at = NOW
    for _ in range(MAX_ATTEMPTS):
        await n.dispatch_due(at)
        at += timedelta(hours=1)
    rows = await n.list(CLERK, event.payload.dispute_id, "failed", 50, 0)
    assert len(rows) == 3 and all(d.attempts == MAX_ATTEMPTS for d in rows)
    async with pool.acquire() as conn:
        failed = await conn.fetch("select payload from outbox where event_type = 'notification.delivery-failed.v1' "
                                  "and headers->>'dispute-id' = $1", event.payload.dispute_id)
    assert len(failed) == 3


def test_templates_refuse_to_half_fill():
    from services.notification.domain.templates import TemplateProblem
    with pytest.raises(TemplateProblem):
        CFG.templates.render("dispute-assigned/party", "zh-CN", {"name": "王建国"})


async def test_a_sender_that_dies_mid_send_leaves_the_delivery_to_be_sent_after_its_lease(pool):
    import asyncio

    from services.notification.app import CLAIM_LEASE

    class Dies:
        name = "console"

        async def send(self, message: Outgoing) -> None:
            raise asyncio.CancelledError  # the process is going away mid-send

    event = assigned(source=common_pb2.CASE_SOURCE_ONLINE)
    async with pool.acquire() as conn, conn.transaction():
        await make(pool, Dies()).on_event(conn, event)
    with pytest.raises(asyncio.CancelledError):
        await make(pool, Dies()).dispatch_due(NOW)
    survivor = make(pool, ConsoleChannel())
    assert await survivor.dispatch_due(NOW + CLAIM_LEASE - timedelta(seconds=1)) == 0   # still claimed
    assert await survivor.dispatch_due(NOW + CLAIM_LEASE) == 3                          # lease over: sent
    rows = await survivor.list(CLERK, event.payload.dispute_id, "", 50, 0)
    assert {d.status for d in rows} == {"sent"}


async def test_a_later_event_without_parties_reaches_them_through_the_projection(pool):
    """confirmation's application-filed names only the dispute and the court: the parties
    come from what dispute-assigned brought, the court from the event (a route and a
    template were all it took)."""
    from liandiao.confirmation.v1 import confirmation_pb2

    n = make(pool, ConsoleChannel())
    first = assigned(source=common_pb2.CASE_SOURCE_ONLINE)
    async with pool.acquire() as conn, conn.transaction():
        await n.on_event(conn, first)
    filed = confirmation_pb2.ApplicationFiled(application_id="a-1", dispute_id=first.payload.dispute_id,
                                              court_org_id="court-1")
    env = Envelope(str(uuid.uuid4()), "confirmation.application-filed.v1", NOW, filed.dispute_id, "150502", "", "")
    async with pool.acquire() as conn, conn.transaction():
        await n.on_event(conn, ConsumedEvent(env, filed, "t"))
    rows = [d for d in await n.list(CLERK, filed.dispute_id, "", 50, 0) if d.source_event_id == uuid.UUID(env.event_id)]
    assert sorted((d.template, d.recipient_id) for d in rows) == [
        ("application-filed/court", "court-1"), ("application-filed/party", "p-1"), ("application-filed/party", "p-2")]
    assert all(filed.dispute_id[-8:] in d.body for d in rows)
