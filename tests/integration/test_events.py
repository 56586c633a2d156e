"""The outbox, the relay and the idempotent consumer against the real PostgreSQL
and Kafka: nothing published that was not committed, nothing committed lost,
no event applied twice, poison messages dead-lettered with their error."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from google.protobuf.timestamp_pb2 import Timestamp

from liandiao import telemetry
from liandiao.events import catalog
from liandiao.events.consumer import Consumer, Record
from liandiao.events.envelope import Envelope
from liandiao.events.kafka import Topics
from liandiao.events.outbox import OutboxRelay, enqueue
from liandiao.events.topics import dlq_topic
from liandiao.intake.v1 import intake_pb2

pytestmark = pytest.mark.stack


def registered(dispute_id: str, region: str = "150502") -> intake_pb2.DisputeRegistered:
    at = Timestamp()
    at.GetCurrentTime()
    return intake_pb2.DisputeRegistered(dispute_id=dispute_id, region_code=region, dispute_type="neighbours",
                                        registered_at=at)


class DirectPublisher:
    """The relay's publish function over a plain aiokafka producer."""

    def __init__(self, bootstrap: str):
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)

    async def __call__(self, topic, key, value, headers):
        return await self.producer.send(topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])


async def read_all(bootstrap: str, topic: str, expect: int, timeout: float = 15.0, mine=lambda r: True):
    """Reads `topic` from the start until `expect` records that are `mine` have come (other
    tests of the session write to the same topic, so counting every record stops too early)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                group_id=f"t-{uuid.uuid4().hex[:6]}")
    await consumer.start()
    got = []
    try:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while sum(1 for r in got if mine(r)) < expect and loop.time() < end:
            batch = await consumer.getmany(timeout_ms=500)
            got += [r for rs in batch.values() for r in rs]
    finally:
        await consumer.stop()
    return got


async def test_only_committed_events_are_relayed_with_the_platform_headers(stack_env, schema, pool):
    telemetry.setup_tracing("t")  # as every service does at start
    bootstrap = stack_env["LIANDIAO_KAFKA_BOOTSTRAP"]
    region = "150502"
    kept, dropped = str(uuid.uuid4()), str(uuid.uuid4())
    async with pool.acquire() as conn:
        async with conn.transaction():
            env = await enqueue(conn, catalog.DISPUTE_REGISTERED, registered(kept), dispute_id=kept,
                                region_code=region)
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await enqueue(conn, catalog.DISPUTE_REGISTERED, registered(dropped), dispute_id=dropped,
                              region_code=region)
                raise RuntimeError("the state change failed")
        with pytest.raises(RuntimeError, match="inside the state change's transaction"):
            await enqueue(conn, catalog.DISPUTE_REGISTERED, registered(dropped), dispute_id=dropped,
                          region_code=region)

    publish = DirectPublisher(bootstrap)
    await publish.producer.start()
    relay = OutboxRelay("t", stack_env["LIANDIAO_DATABASE_URL"], schema, publish, Topics(bootstrap, 3).ensure)
    try:
        async with pool.acquire() as conn:
            assert await relay.drain(conn) == 1
            assert await relay.drain(conn) == 0   # marked sent: not published again
    finally:
        await publish.producer.stop()

    def ours(r) -> bool:
        return dict(r.headers).get("dispute-id", b"").decode() in (kept, dropped)

    records = await read_all(bootstrap, "liandiao.intake.dispute-registered.v1.1505", expect=1, timeout=15, mine=ours)
    mine = [r for r in records if ours(r)]
    assert len(mine) == 1
    rec = mine[0]
    headers = {k: v.decode() for k, v in rec.headers}
    assert rec.key == kept.encode()
    assert headers["event-id"] == env.event_id and uuid.UUID(env.event_id).version == 7
    assert headers["event-type"] == "intake.dispute-registered.v1"
    assert headers["region-code"] == region and headers["correlation-id"] == kept
    assert headers["traceparent"].startswith("00-") and "occurred-at" in headers
    assert intake_pb2.DisputeRegistered.FromString(rec.value).dispute_id == kept


def _record(event_id: str, payload: bytes, topic: str = "liandiao.intake.dispute-registered.v1.1505",
            offset: int = 0, headers: dict | None = None) -> Record:
    env = Envelope(event_id, "intake.dispute-registered.v1", datetime.now(UTC), "d-1", "150502", "", "")
    hdrs = headers if headers is not None else env.headers()
    return Record(topic, 0, offset, b"d-1", payload,
                  tuple((k, v.encode() if v is not None else None) for k, v in hdrs.items()))


class Sent:
    def __init__(self):
        self.messages = []

    async def __call__(self, topic, key, value, headers):
        self.messages.append((topic, key, value, headers))


async def _no_topic(_topic: str) -> None:
    return None


def consumer(pool, handler, sent, attempts=3) -> Consumer:
    return Consumer(service="t", name="t.disputes", events=[catalog.DISPUTE_REGISTERED], handler=handler, pool=pool,
                    publish=sent, ensure_topic=_no_topic, max_attempts=attempts, backoff_seconds=0.001)


async def test_a_redelivered_event_is_applied_once(pool):
    applied = []

    async def handler(conn, event):
        await conn.execute("create table if not exists seen (dispute_id text)")
        await conn.execute("insert into seen values ($1)", event.payload.dispute_id)
        applied.append(event.envelope.event_id)

    c = consumer(pool, handler, Sent())
    rec = _record(str(uuid.uuid4()), registered("d-1").SerializeToString())
    assert await c.process(rec) == "processed"
    assert await c.process(rec) == "duplicate"
    async with pool.acquire() as conn:
        assert await conn.fetchval("select count(*) from seen") == 1
    assert len(applied) == 1


async def test_a_failing_handler_changes_nothing_and_goes_to_the_dlq_after_its_attempts(pool):
    calls = []

    async def handler(conn, event):
        calls.append(1)
        await conn.execute("create table if not exists half (x int)")
        await conn.execute("insert into half values (1)")
        raise ValueError("mediator roster inconsistent")

    sent = Sent()
    rec = _record(str(uuid.uuid4()), registered("d-1").SerializeToString(), offset=42)
    assert await consumer(pool, handler, sent, attempts=3).process(rec) == "dead_lettered"
    assert len(calls) == 3
    topic, key, value, headers = sent.messages[0]
    assert topic == dlq_topic(rec.topic, "t.disputes") and value == rec.value and key == rec.key
    assert headers["dlq-error"] == "ValueError: mediator roster inconsistent" and headers["dlq-attempts"] == "3"
    assert headers["dlq-original-offset"] == "42" and headers["event-id"]
    async with pool.acquire() as conn:
        assert await conn.fetchval("select to_regclass('half')") is None   # every attempt rolled back
        assert await conn.fetchval("select count(*) from inbox") == 0
        assert await conn.fetchval("select error from dead_letters") == "ValueError: mediator roster inconsistent"
    # The same record dead-lettered again (the first insert's reply lost in a database restart): one row.
    await consumer(pool, handler, Sent(), attempts=1).process(rec)
    async with pool.acquire() as conn:
        assert await conn.fetchval("select count(*) from dead_letters") == 1


async def test_a_handler_that_recovers_is_processed_once(pool):
    calls = []

    async def handler(conn, event):
        calls.append(1)
        if len(calls) < 2:
            raise RuntimeError("first try fails")

    assert await consumer(pool, handler, Sent()).process(_record(str(uuid.uuid4()), b"")) == "processed"
    assert len(calls) == 2


async def test_an_outage_is_waited_out_without_spending_attempts(pool):
    calls = []

    async def handler(conn, event):
        calls.append(1)
        if len(calls) <= 5:
            raise ConnectionResetError("database went away")

    assert await consumer(pool, handler, Sent(), attempts=2).process(_record(str(uuid.uuid4()), b"")) == "processed"
    assert len(calls) == 6


@pytest.mark.parametrize("payload, headers, error", [
    (b"\xff\xff\xff", None, "payload is not a valid DisputeRegistered"),
    (b"", {"event-type": "intake.dispute-registered.v1"}, "platform header 'event-id' is missing"),
    (b"", {"event-id": str(uuid.uuid4()), "event-type": "routing.dispute-assigned.v1",
           "occurred-at": "2026-11-23T00:00:00+00:00"}, "is not one this consumer handles"),
    (b"", {"event-id": "x", "event-type": "intake.dispute-registered.v1",
           "occurred-at": "2026-11-23T00:00:00+00:00"}, "malformed platform header"),
    (b"", {"event-id": str(uuid.uuid4()), "event-type": "intake.dispute-registered.v1",
           "occurred-at": None}, "platform header 'occurred-at' is missing or has no value"),
], ids=["garbage-payload", "no-event-id", "wrong-event-type", "event-id-not-a-uuid", "header-with-null-value"])
async def test_poison_messages_go_straight_to_the_dlq(pool, payload, headers, error):
    async def handler(conn, event):
        raise AssertionError("must not be called")

    sent = Sent()
    rec = _record(str(uuid.uuid4()), payload, headers=headers)
    assert await consumer(pool, handler, sent).process(rec) == "dead_lettered"
    assert error in sent.messages[0][3]["dlq-error"]


async def test_replay_returns_dead_letters_to_their_topic_without_the_dlq_headers(stack_env):
    from liandiao.events.admin import replay

    bootstrap = stack_env["LIANDIAO_KAFKA_BOOTSTRAP"]
    original = "liandiao.intake.dispute-registered.v1.1501"
    dlq = dlq_topic(original, f"t.replay{uuid.uuid4().hex[:6]}")
    await Topics(bootstrap, 1).ensure(original, dlq)
    event_id = str(uuid.uuid4())
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(dlq, b"payload", key=b"d-9", headers=[
            ("event-id", event_id.encode()), ("dlq-error", b"ValueError: boom"),
            ("dlq-original-topic", original.encode())])
    finally:
        await producer.stop()
    assert await replay(bootstrap, dlq, limit=10) == 1
    def replayed(r) -> bool:
        return dict(r.headers).get("event-id") == event_id.encode()

    back = [r for r in await read_all(bootstrap, original, expect=1, timeout=15, mine=replayed) if replayed(r)]
    assert len(back) == 1 and back[0].value == b"payload" and back[0].key == b"d-9"
    assert not any(k.startswith("dlq-") for k, _ in back[0].headers)
    assert await replay(bootstrap, dlq, limit=10) == 0   # the replay's own offsets are committed
    assert await replay(bootstrap, dlq + ".never-made", limit=10) == 0   # no such topic: nothing to replay


async def test_a_dead_letter_written_twice_goes_back_once(stack_env):
    """A consumer killed between publishing a dead letter and recording it writes it again
    (the chaos run saw it): both copies name the same original record."""
    from liandiao.events.admin import replay

    bootstrap = stack_env["LIANDIAO_KAFKA_BOOTSTRAP"]
    original = "liandiao.intake.dispute-registered.v1.1501"
    dlq = dlq_topic(original, f"t.replay{uuid.uuid4().hex[:6]}")
    await Topics(bootstrap, 1).ensure(original, dlq)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for event_id, offset in zip(ids, (b"41", b"41", b"42"), strict=True):
            await producer.send_and_wait(dlq, b"payload", key=b"d-9", headers=[
                ("event-id", event_id.encode()), ("dlq-error", b"ValueError: boom"),
                ("dlq-original-topic", original.encode()), ("dlq-original-partition", b"0"),
                ("dlq-original-offset", offset)])
    finally:
        await producer.stop()
    assert await replay(bootstrap, dlq, limit=10) == 2

    def mine(r) -> bool:
        return dict(r.headers).get("event-id", b"").decode() in ids

    back = [r for r in await read_all(bootstrap, original, expect=2, timeout=15, mine=mine) if mine(r)]
    assert sorted(dict(r.headers)["event-id"].decode() for r in back) == sorted([ids[0], ids[2]])
