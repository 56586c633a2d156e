"""The event machinery under the faults of an ordinary bad day (issue 6), against the
real PostgreSQL and Kafka. Each test here failed before its fix:
- the relay ended for good when its connection closed, or on a Kafka error;
- one event larger than the broker takes blocked every event behind it;
- a header without a value made FastStream drop the whole batch silently;
- a deadlock or serialization failure dead-lettered a real event within a second;
- the outbox and the inbox grew forever."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from liandiao import db, telemetry
from liandiao.errors import InvalidInput
from liandiao.events import admin, catalog, kafka, retention
from liandiao.events.consumer import Consumer
from liandiao.events.outbox import MAX_EVENT_BYTES, OutboxRelay, enqueue, outbox_gauges
from liandiao.events.topics import dlq_topic
from liandiao.supervise import Supervisor
from tests.integration.test_events import DirectPublisher, Sent, _no_topic, _record, read_all, registered

pytestmark = pytest.mark.stack


async def eventually(check, timeout: float = 20.0, every: float = 0.1):
    end = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > end:
            return result
        await asyncio.sleep(every)


async def pending(pool) -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval("select count(*) from outbox where published_at is null and parked_at is null")


async def add_events(pool, n: int, region: str = "150502") -> list[str]:
    ids = []
    async with pool.acquire() as conn:
        for _ in range(n):
            d = str(uuid.uuid4())
            async with conn.transaction():
                await enqueue(conn, catalog.DISPUTE_REGISTERED, registered(d, region), dispute_id=d, region_code=region)
            ids.append(d)
    return ids


async def test_the_relay_comes_back_after_its_connection_is_killed_and_after_a_kafka_error(stack_env, schema, pool):
    bootstrap = stack_env["LIANDIAO_KAFKA_BOOTSTRAP"]
    publish = DirectPublisher(bootstrap)
    await publish.producer.start()
    failures = {"left": 0}

    async def flaky_publish(topic, key, value, headers):
        if failures["left"]:
            failures["left"] -= 1
            raise KafkaConnectionError("broker went away")
        return await publish(topic, key, value, headers)

    stopping = asyncio.Event()
    relay = OutboxRelay("faults", stack_env["LIANDIAO_DATABASE_URL"], schema, flaky_publish,
                        kafka.Topics(bootstrap, 3).ensure, poll_seconds=0.1)
    supervisor = Supervisor("faults", stopping, first_delay=0.05, max_delay=0.2)
    supervisor.start("outbox-relay", relay.run)
    try:
        await add_events(pool, 3)
        assert await eventually(lambda: _zero(pending(pool)))

        # What `pg_ctl restart -m fast` does to the relay: its connection is terminated.
        async with pool.acquire() as conn:
            killed = await conn.fetchval(
                """select count(pg_terminate_backend(pid)) from pg_stat_activity
                   where application_name = $1""", f"liandiao-{schema}-relay")
        assert killed >= 1
        await add_events(pool, 3)
        assert await eventually(lambda: _zero(pending(pool))), "the relay did not come back after its connection died"

        failures["left"] = 1
        await add_events(pool, 3)
        assert await eventually(lambda: _zero(pending(pool))), "the relay did not come back after a Kafka error"
        assert failures["left"] == 0
        assert telemetry.TASK_RESTARTS.labels("faults", "outbox-relay")._value.get() >= 2
        assert supervisor.down() == []
    finally:
        stopping.set()
        relay.stop()
        await supervisor.stop(timeout=5)
        await publish.producer.stop()


async def _zero(count) -> bool:
    return await count == 0


async def test_an_event_too_large_for_the_broker_is_parked_and_the_rest_go_on(stack_env, schema, pool):
    bootstrap = stack_env["LIANDIAO_KAFKA_BOOTSTRAP"]
    region = "150402"
    before = await add_events(pool, 1, region)
    async with pool.acquire() as conn:
        # As an older release could have committed it: straight into the table, 1.5 MB.
        huge_event = str(uuid.uuid4())
        await conn.execute(
            """insert into outbox (event_id, event_type, topic, partition_key, payload, headers)
               values ($1, 'intake.dispute-registered.v1', 'liandiao.intake.dispute-registered.v1.1504', 'big',
                       $2, $3)""",
            huge_event, b"x" * 1_500_000, json.dumps({"event-id": huge_event}))
    after = await add_events(pool, 2, region)

    publish = DirectPublisher(bootstrap)
    await publish.producer.start()
    relay = OutboxRelay("parking", stack_env["LIANDIAO_DATABASE_URL"], schema, publish,
                        kafka.Topics(bootstrap, 3).ensure)
    try:
        async with pool.acquire() as conn:
            assert await relay.drain(conn) == 4
            parked = await conn.fetch("select event_id, park_reason from outbox where parked_at is not null")
            assert [str(r["event_id"]) for r in parked] == [huge_event]
            assert "over the 1000000-byte message limit" in parked[0]["park_reason"]
            assert await outbox_gauges(conn, "parking") == 0
        assert telemetry.OUTBOX_PARKED.labels("parking")._value.get() == 1
        # The operator's view, then a release (it is tried again, and parked again) and a discard.
        dsn = stack_env["LIANDIAO_DATABASE_URL"]
        (line,) = await admin.parked(dsn, schema, None, None)
        row_id = int(line.split("\t")[0])
        assert huge_event in line and "1500000 bytes" in line and "message limit" in line
        assert await admin.parked(dsn, schema, row_id, None) == ["released 1 row(s)"]
        async with pool.acquire() as conn:
            assert await relay.drain(conn) == 1 and await outbox_gauges(conn, "parking") == 0
        assert await admin.parked(dsn, schema, None, row_id) == ["discarded 1 row(s)"]
        assert await admin.parked(dsn, schema, None, None) == []
    finally:
        await publish.producer.stop()
    ours = set(before + after)
    got = await read_all(bootstrap, "liandiao.intake.dispute-registered.v1.1504", expect=len(ours), timeout=15,
                         mine=lambda r: dict(r.headers)["dispute-id"].decode() in ours)
    mine = {dict(r.headers)["dispute-id"].decode() for r in got} & ours
    assert mine == set(before + after)


async def test_enqueue_refuses_an_event_over_the_limit_and_nothing_is_stored(pool):
    d = str(uuid.uuid4())
    big = registered(d)
    big.dispute_type = "x" * (MAX_EVENT_BYTES + 1)
    async with pool.acquire() as conn:
        with pytest.raises(InvalidInput, match="over the limit"):
            async with conn.transaction():
                await enqueue(conn, catalog.DISPUTE_REGISTERED, big, dispute_id=d, region_code="150502")
        assert await conn.fetchval("select count(*) from outbox") == 0


async def test_a_header_without_a_value_dead_letters_that_message_and_the_batch_goes_on(stack_env, pool):
    """Through the real FastStream subscriber, as the services consume."""
    bootstrap = stack_env["LIANDIAO_KAFKA_BOOTSTRAP"]
    topic = f"liandiao.intake.dispute-registered.v1.9{uuid.uuid4().int % 900 + 100}"
    await kafka.Topics(bootstrap, 1).ensure(topic)
    handled: list[str] = []

    async def handler(conn, event):
        handled.append(event.payload.dispute_id)

    broker = kafka.make_broker(bootstrap, "t-null-header")
    name = f"t.nullheader{uuid.uuid4().hex[:6]}"
    consumer = Consumer(service="t", name=name, events=[catalog.DISPUTE_REGISTERED], handler=handler, pool=pool,
                        publish=kafka.dlq_publisher(broker), ensure_topic=kafka.Topics(bootstrap, 1).ensure)
    kafka.subscribe(broker, consumer, topic.replace(".", r"\."), f"t-{name}")
    valid = [str(uuid.uuid4()) for _ in range(5)]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for i, d in enumerate(valid):
            rec = _record(str(uuid.uuid4()), registered(d).SerializeToString())
            await producer.send(topic, rec.value, key=d.encode(), headers=list(rec.headers))
            if i == 2:  # in the middle of the same batch: a header with no value, another not UTF-8
                await producer.send(topic, b"", key=b"bad", headers=[("event-id", None), ("x", b"\xff\xfe")])
        await producer.flush()
    finally:
        await producer.stop()
    await broker.start()
    try:
        assert await eventually(lambda: _true(sorted(handled) == sorted(valid)), timeout=30), handled
        dead = await read_all(bootstrap, dlq_topic(topic, name), expect=1, timeout=15)
        assert len(dead) == 1
        assert "platform header 'event-id' is missing or has no value" in dict(dead[0].headers)["dlq-error"].decode()
    finally:
        await broker.stop()


async def _true(value: bool) -> bool:
    return value


@pytest.mark.parametrize("error", [asyncpg.DeadlockDetectedError, asyncpg.SerializationError,
                                   asyncpg.AdminShutdownError])
async def test_contention_and_an_admin_shutdown_are_waited_out_not_dead_lettered(pool, error):
    calls = []

    async def handler(conn, event):
        calls.append(1)
        if len(calls) <= 4:
            raise error("deadlock detected" if error is asyncpg.DeadlockDetectedError else "try again")

    sent = Sent()
    c = Consumer(service="t", name="t.contention", events=[catalog.DISPUTE_REGISTERED], handler=handler, pool=pool,
                 publish=sent, ensure_topic=_no_topic, max_attempts=2, backoff_seconds=0.001)
    assert await c.process(_record(str(uuid.uuid4()), b"")) == "processed"
    assert len(calls) == 5 and sent.messages == []


async def test_a_value_that_cannot_be_encoded_is_not_mistaken_for_an_outage(pool):
    """asyncpg's DataError is an InterfaceError: it used to be waited out forever."""
    async def handler(conn, event):
        await conn.execute("select $1::int", 3_000_000_000)

    sent = Sent()
    c = Consumer(service="t", name="t.dataerror", events=[catalog.DISPUTE_REGISTERED], handler=handler, pool=pool,
                 publish=sent, ensure_topic=_no_topic, max_attempts=2, backoff_seconds=0.001)
    assert await asyncio.wait_for(c.process(_record(str(uuid.uuid4()), b"")), timeout=10) == "dead_lettered"
    assert "DataError" in sent.messages[0][3]["dlq-error"]
    assert not db.transient(asyncpg.DataError("x")) and db.transient(asyncpg.DeadlockDetectedError("x"))
    assert db.transient(asyncpg.InternalClientError("cannot switch to state 11; another operation is in progress"))


async def test_business_retries_back_off_for_seconds_before_the_dead_letter(pool):
    async def handler(conn, event):
        raise ValueError("roster not projected yet")

    c = Consumer(service="t", name="t.backoff", events=[catalog.DISPUTE_REGISTERED], handler=handler, pool=pool,
                 publish=Sent(), ensure_topic=_no_topic, max_attempts=4)
    started = asyncio.get_running_loop().time()
    assert await c.process(_record(str(uuid.uuid4()), b"")) == "dead_lettered"
    assert asyncio.get_running_loop().time() - started >= 1.4   # 0.2 + 0.4 + 0.8 s


async def test_retention_purges_old_published_rows_and_old_inbox_ids_only(pool):
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        await add_events(pool, 4)
        ids = [r["id"] for r in await conn.fetch("select id from outbox order by id")]
        # two published 8 days ago, one published an hour ago, one unpublished; one parked long ago
        await conn.execute("update outbox set published_at = $2, created_at = $2 where id = any($1::bigint[])",
                           ids[:2], now - timedelta(days=8))
        await conn.execute("update outbox set published_at = $2 where id = $1", ids[2], now - timedelta(hours=1))
        await conn.execute("update outbox set parked_at = $2, created_at = $2, park_reason = 'too big' "
                           "where id = $1", ids[3], now - timedelta(days=30))
        for age in (30, 22, 20, 1):
            await conn.execute("insert into inbox (consumer, event_id, topic, processed_at) values ('c', $1, 't', $2)",
                               uuid.uuid4(), now - timedelta(days=age))
        keep = dict(now=now, outbox_keep=timedelta(days=7), inbox_keep=timedelta(days=21), batch=1)
        first, second = await asyncio.gather(
            retention.purge(conn, "t", **keep),
            _purge_on_own_connection(pool, keep))  # a second replica at the same moment
        assert first.outbox + second.outbox == 2 and first.inbox + second.inbox == 2
        assert [r["id"] for r in await conn.fetch("select id from outbox order by id")] == ids[2:]
        ages = sorted(round((now - r["processed_at"]).total_seconds() / 86400)
                      for r in await conn.fetch("select processed_at from inbox"))
        assert ages == [1, 20]
        assert await retention.purge(conn, "t", **keep) == retention.Purged(0, 0)


async def _purge_on_own_connection(pool, keep):
    async with pool.acquire() as conn:
        return await retention.purge(conn, "t", **keep)


async def test_lag_is_measured_from_the_broker_and_grows_while_the_consumer_is_stuck(stack_env, pool):
    """It used to be set by the handler after each batch, so a stuck consumer showed its last good figure."""
    bootstrap = stack_env["LIANDIAO_KAFKA_BOOTSTRAP"]
    topic = f"liandiao.intake.dispute-registered.v1.9{uuid.uuid4().int % 900 + 100}"
    await kafka.Topics(bootstrap, 1).ensure(topic)
    release, handled = asyncio.Event(), []

    async def handler(conn, event):
        await release.wait()           # e.g. a lock held by someone else, the database slow
        handled.append(1)

    broker = kafka.make_broker(bootstrap, "t-lag")
    name = f"t.lag{uuid.uuid4().hex[:6]}"
    consumer = Consumer(service="t", name=name, events=[catalog.DISPUTE_REGISTERED], handler=handler, pool=pool,
                        publish=Sent(), ensure_topic=_no_topic)
    sub = kafka.subscribe(broker, consumer, topic.replace(".", r"\."), f"t-{name}")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for _ in range(5):
            rec = _record(str(uuid.uuid4()), registered(str(uuid.uuid4())).SerializeToString())
            await producer.send_and_wait(topic, rec.value, headers=list(rec.headers))
    finally:
        await producer.stop()
    probe = kafka.LagProbe(bootstrap)
    gauge = telemetry.CONSUMER_LAG.labels("t", name, topic, "0")
    await broker.start()
    try:
        async def measured(want):
            await probe.measure("t", [sub])
            return gauge._value.get() == want

        assert await eventually(lambda: measured(5), timeout=30)   # stuck on the first: all five behind
        release.set()
        assert await eventually(lambda: measured(0), timeout=30)
        assert len(handled) == 5
    finally:
        await probe.close()
        await broker.stop()


async def test_each_restart_of_the_relay_opens_a_fresh_producer(stack_env, schema, pool):
    """An idempotent producer that failed with OutOfOrderSequenceNumber after a broker
    restart failed the same way on every retry (chaos run): a restart must not reuse it."""
    from contextlib import asynccontextmanager

    from aiokafka.errors import OutOfOrderSequenceNumber

    bootstrap = stack_env["LIANDIAO_KAFKA_BOOTSTRAP"]
    opened: list[int] = []
    real = kafka.relay_producer(bootstrap, "t-fresh")

    @asynccontextmanager
    async def open_publisher():
        opened.append(1)
        async with real() as publish:
            if len(opened) == 1:
                async def broken(*_args):
                    raise OutOfOrderSequenceNumber()
                yield broken          # the first producer is poisoned for good
            else:
                yield publish

    stopping = asyncio.Event()
    relay = OutboxRelay("fresh", stack_env["LIANDIAO_DATABASE_URL"], schema, None,
                        kafka.Topics(bootstrap, 3).ensure, poll_seconds=0.1, open_publisher=open_publisher)
    supervisor = Supervisor("fresh", stopping, first_delay=0.05, max_delay=0.2)
    await add_events(pool, 3)
    supervisor.start("outbox-relay", relay.run)
    try:
        assert await eventually(lambda: _zero(pending(pool)))
        assert len(opened) >= 2
    finally:
        stopping.set()
        relay.stop()
        await supervisor.stop(timeout=5)
