"""SMS status reports against the real PostgreSQL, the SMS simulator and notification's
receipt endpoint on loopback: the simulator reports what it accepted, signed; a sent SMS
becomes delivered, or failed (dead-lettered, with delivery-failed) when the phone never got
it; a forged, stale or malformed callback is refused and changes nothing."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from liandiao.devtools.sms_simulator import SmsSimulator
from liandiao.notification.v1 import notification_pb2
from services.notification.channels.sms import SmsChannel, SmsSettings
from services.notification.domain import receipts as rules
from services.notification.domain.states import Status
from services.notification.receipts import ReceiptEndpoint
from services.notification.tests.test_channels import PHONE, assigned, build, pool, rows, take  # noqa: F401

pytestmark = pytest.mark.stack
SECRET = "receipt-secret-for-tests"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def until(probe, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = await probe()
        if got:
            return got
        await asyncio.sleep(0.1)
    pytest.fail("not reached")


@pytest.fixture
async def endpoint(pool):  # noqa: F811 - the fixture imported above
    n = build(pool)
    n.awaits_receipts = frozenset({"sms"})          # as main wires it when a receipt secret is set
    port = _free_port()
    stopping = asyncio.Event()
    server = asyncio.create_task(ReceiptEndpoint(SECRET.encode(), frozenset({"DELIVERED"}), n.apply_receipts)
                                 .serve("127.0.0.1", port, stopping))
    await asyncio.sleep(0.05)
    yield n, f"http://127.0.0.1:{port}/sms/receipts"
    stopping.set()
    await server


async def _sent_through(n, sim: SmsSimulator):
    n.channels = {**n.channels, "sms": SmsChannel(SmsSettings(sim.url, "dev-key", timeout_seconds=2))}
    event = assigned()
    await take(n, event, {(event.payload.parties[0].party_id, "sms"): PHONE})
    assert await n.dispatch_due(datetime.now(UTC)) >= 1
    [d] = await rows(n, event, "sms")
    return event, d


async def test_a_receipt_moves_a_sent_sms_to_delivered_and_a_bounce_to_failed(endpoint):
    n, url = endpoint
    with SmsSimulator(receipt_url=url, receipt_secret=SECRET, receipt_delay=0.1) as sim:
        event, d = await _sent_through(n, sim)
        assert d.status in (Status.SENT, Status.DELIVERED)

        async def delivered():
            [row] = await rows(n, event, "sms")
            return row if row.status == Status.DELIVERED else None
        row = await until(delivered)
        assert row.delivered_at is not None and sim.state.receipts[str(d.delivery_id)] == "DELIVERED"

        sim.state.receipt_failure = 1.0
        bounced, b = await _sent_through(n, sim)

        async def failed():
            [row] = await rows(n, bounced, "sms")
            return row if row.status == Status.FAILED else None
        row = await until(failed)
        assert "UNDELIVERED" in row.last_error
        published = await n.pool.fetchval(
            "select count(*) from outbox where event_type = 'notification.delivery-failed.v1' and partition_key = $1",
            bounced.payload.dispute_id)
        assert published == 1


async def test_a_forged_stale_or_malformed_callback_is_refused_and_changes_nothing(endpoint):
    n, url = endpoint
    with SmsSimulator() as sim:                      # no receipts of its own: the test posts them
        event, d = await _sent_through(n, sim)
    body = json.dumps({"receipts": [{"out_id": str(d.delivery_id), "status": "DELIVERED"}]}).encode()
    now = str(int(time.time()))
    async with httpx.AsyncClient() as http:
        async def post(payload: bytes, stamp: str, secret: str = SECRET):
            return await http.post(url, content=payload, headers={
                "X-Sms-Timestamp": stamp, "X-Sms-Signature": rules.sign(secret.encode(), stamp, payload)})
        assert (await post(body, now, secret="not-the-provider-secret")).status_code == 401
        assert (await post(body, str(int(time.time()) - 600))).status_code == 401           # replayed later
        bad = await post(json.dumps({"receipts": [{"out_id": "x", "status": "DELIVERED"}]}).encode(), now)
        assert bad.status_code == 400 and "receipts[0].out_id" in bad.json()["field"]
        assert (await http.get(url)).status_code == 405
        [row] = await rows(n, event, "sms")
        assert row.status == Status.SENT
        ok = await post(body, now)
        assert ok.status_code == 200 and ok.json()["applied"] == 1
        again = await post(body, now)                 # the provider repeats its report: nothing changes twice
        assert again.status_code == 200 and again.json()["applied"] == 0
        unknown = json.dumps({"receipts": [{"out_id": str(uuid.uuid4()), "status": "DELIVERED"}]}).encode()
        assert (await post(unknown, now)).json()["applied"] == 0
    [row] = await rows(n, event, "sms")
    assert row.status == Status.DELIVERED


async def _succeeded(n, delivery_id) -> list[notification_pb2.DeliverySucceeded]:
    rows = await n.pool.fetch("select payload from outbox where event_type = 'notification.delivery-succeeded.v1'")
    got = [notification_pb2.DeliverySucceeded.FromString(r["payload"]) for r in rows]
    return [e for e in got if e.delivery_id == str(delivery_id)]


async def test_an_sms_with_a_receipt_is_announced_once_when_served_and_its_moment_is_kept(endpoint):
    """pending -> sent (the provider took it) publishes nothing; sent -> delivered (the receipt)
    publishes the one delivery-succeeded, carrying served_at (CPL Art.90: the day it reached the
    phone), which is what confirmation starts a party's objection window from; a repeated
    receipt changes nothing and announces nothing."""
    n, url = endpoint
    with SmsSimulator() as sim:                      # the test posts the receipt itself, at a known moment
        event, d = await _sent_through(n, sim)
    [row] = await rows(n, event, "sms")
    assert row.status == Status.SENT and row.served_at is None
    assert await _succeeded(n, d.delivery_id) == []              # only the provider has it: not yet succeeded
    reached = datetime.now(UTC)                                  # the phone got it after the provider took it
    body = json.dumps({"receipts": [{"out_id": str(d.delivery_id), "status": "DELIVERED",
                                     "reported_at": reached.isoformat()}]}).encode()
    async with httpx.AsyncClient() as http:
        for expected in (1, 0):                                  # the provider repeats its report
            stamp = str(int(time.time()))
            reply = await http.post(url, content=body, headers={
                "X-Sms-Timestamp": stamp, "X-Sms-Signature": rules.sign(SECRET.encode(), stamp, body)})
            assert reply.status_code == 200 and reply.json()["applied"] == expected
    [row] = await rows(n, event, "sms")
    assert row.status == Status.DELIVERED and row.served_at == reached
    [announced] = await _succeeded(n, d.delivery_id)
    assert announced.served_at.ToDatetime(tzinfo=UTC) == reached
    assert announced.template == "dispute-assigned/party"
    assert announced.recipient_id == event.payload.parties[0].party_id
    history = await n.pool.fetch("select status from delivery_history where delivery_id = $1 order by at, status",
                                 d.delivery_id)
    assert [h["status"] for h in history] == ["pending", "sent", "delivered"]


async def test_without_receipts_an_sms_is_announced_once_on_acceptance_and_never_served(pool):  # noqa: F811
    n = build(pool)
    with SmsSimulator() as sim:
        event, d = await _sent_through(n, sim)
    [announced] = await _succeeded(n, d.delivery_id)
    assert not announced.HasField("served_at")                   # nothing proves it reached the phone
    [row] = await rows(n, event, "sms")
    assert row.status == Status.SENT and row.served_at is None
