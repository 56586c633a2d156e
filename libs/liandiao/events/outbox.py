"""Transactional outbox (DESIGN.md "Events"): ``enqueue`` writes the event in the
caller's transaction, next to the state change; ``OutboxRelay`` publishes
committed rows in order and marks them sent. Nothing is published that was not
committed; a crash between publish and mark re-publishes, and consumers drop
the duplicate by event id."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

import asyncpg
from aiokafka.errors import (
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)
from google.protobuf.message import Message
from opentelemetry.trace import SpanKind

from liandiao import telemetry
from liandiao.errors import FieldViolation, InvalidInput
from liandiao.events.catalog import EventType
from liandiao.events.envelope import Envelope
from liandiao.events.topics import topic_name
from liandiao.uuid7 import uuid7

log = logging.getLogger(__name__)

# What one Kafka message may weigh (key, value and headers together). The broker's
# message.max.bytes and the producer's max_request_size are both about 1 MiB; a
# record batch adds its own overhead, so we stop well short of it.
MAX_MESSAGE_BYTES = 1_000_000
# What ``enqueue`` accepts: below MAX_MESSAGE_BYTES, so that an event a service
# could commit can always be published. The services' own input limits keep real
# requests far below this (docs/decisions.md); this is the last line.
MAX_EVENT_BYTES = 512 * 1024


async def enqueue(
    conn: asyncpg.Connection,
    event: EventType,
    payload: Message,
    *,
    dispute_id: str,
    region_code: str,
    correlation_id: str = "",
    journey_traceparent: str = "",
    partition_key: str = "",
    now: datetime | None = None,
) -> Envelope:
    """Adds an event to the outbox inside the caller's open transaction.

    The trace context is captured now, under a PRODUCER span, so the consumer's
    span becomes a child of the request that caused the event. Pass
    ``journey_traceparent`` to continue a dispute's stored trace instead (a
    human step resumed it); the current request is then kept as a link.
    The partition key is the dispute id; facts about no dispute (a person's
    record) pass ``partition_key`` so that one subject's events stay in order."""
    if not conn.is_in_transaction():
        raise RuntimeError("outbox.enqueue must run inside the state change's transaction")
    if not isinstance(payload, event.message):
        raise TypeError(f"{event.key} carries {event.message.__name__}, got {type(payload).__name__}")
    topic = topic_name(event, region_code)
    event_id = str(uuid7())
    with telemetry.continued_span(
        f"{topic} publish", journey_traceparent, kind=SpanKind.PRODUCER,
        link_current=bool(journey_traceparent),
        attributes={"messaging.system": "kafka", "messaging.destination.name": topic,
                    "messaging.message.id": event_id, "liandiao.dispute_id": dispute_id},
    ):
        traceparent = telemetry.current_traceparent()
    env = Envelope(
        event_id=event_id,
        event_type=event.key,
        occurred_at=now or datetime.now(UTC),
        dispute_id=dispute_id,
        region_code=region_code,
        traceparent=traceparent,
        correlation_id=correlation_id or dispute_id,
    )
    body = payload.SerializeToString()
    if len(body) > MAX_EVENT_BYTES:
        # Refused before anything is stored: the caller's transaction rolls back.
        raise InvalidInput(FieldViolation(
            "request", f"is too large: the {event.key} event it makes would be {len(body)} bytes, "
                       f"over the limit of {MAX_EVENT_BYTES}"))
    await conn.execute(
        """insert into outbox (event_id, event_type, topic, partition_key, payload, headers)
           values ($1, $2, $3, $4, $5, $6)""",
        env.event_id, event.key, topic, partition_key or dispute_id or env.event_id,
        body, json.dumps(env.headers()),
    )
    return env


# Sends one message and returns an awaitable for its broker acknowledgement, so a
# batch is sent back to back and acknowledged together.
Publish = Callable[[str, bytes, bytes, dict[str, str]], Awaitable[Awaitable[object]]]
EnsureTopic = Callable[[str], Awaitable[None]]

async def _not_open(topic: str, key: bytes, value: bytes, headers: dict[str, str]) -> Awaitable[object]:
    raise RuntimeError("the relay's producer is not open")


# Errors that will be the same however often the row is sent: the row is parked
# with the reason, and the events behind it go on. Anything else (the broker
# down, a leader moving) is retried: the relay fails and its supervisor restarts it.
_NEVER_PUBLISHABLE = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError, InvalidTopicError,
                      TypeError, ValueError, UnicodeError)


def message_size(row: asyncpg.Record) -> int:
    headers = json.loads(row["headers"])
    return (len(row["partition_key"].encode()) + len(row["payload"])
            + sum(len(k.encode()) + len(str(v).encode()) for k, v in headers.items()))


class OutboxRelay:
    """Publishes the outbox of one service schema.

    Only one replica relays at a time (a session advisory lock), so the events of
    one dispute leave in the order they were committed; the others stand by and
    take over when the holder's connection ends. ``run`` returns only when
    stopped; any error ends it, and the service's Supervisor starts it again
    (a fresh connection, the lock taken anew, and with ``open_publisher`` a fresh
    producer: an idempotent producer that failed with OutOfOrderSequenceNumber
    after a broker restart fails the same way for ever, seen in the chaos run)."""

    def __init__(
        self, service: str, dsn: str, schema: str, publish: Publish | None, ensure_topic: EnsureTopic,
        *, poll_seconds: float = 0.5, batch: int = 500, max_message_bytes: int = MAX_MESSAGE_BYTES,
        open_publisher: Callable[[], AbstractAsyncContextManager[Publish]] | None = None,
    ):
        if publish is None and open_publisher is None:
            raise ValueError("give publish or open_publisher")
        self.service, self.dsn, self.schema = service, dsn, schema
        self.publish: Publish = publish or _not_open
        self.open_publisher = open_publisher
        self.ensure_topic = ensure_topic
        self.poll_seconds, self.batch, self.max_message_bytes = poll_seconds, batch, max_message_bytes
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._known_topics: set[str] = set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        if self.open_publisher is None:
            await self._run()
            return
        async with self.open_publisher() as publish:
            self.publish = publish
            try:
                await self._run()
            finally:
                self.publish = _not_open

    async def _run(self) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=10, server_settings={
            "search_path": self.schema, "application_name": f"liandiao-{self.schema}-relay"})
        try:
            lock_key = f"liandiao.outbox.{self.schema}"
            while not await conn.fetchval("select pg_try_advisory_lock(hashtext($1))", lock_key):
                if await self._sleep(2.0):
                    return
            await conn.add_listener(f"{self.schema}_outbox", lambda *_: self._wake.set())
            while not self._stopping.is_set():
                sent = await self.drain(conn)
                if sent < self.batch:
                    await self._sleep(self.poll_seconds)
        finally:
            conn.terminate()  # no goodbye needed, and close() would hang on a dead socket

    async def _sleep(self, seconds: float) -> bool:
        """Waits for a notification, the poll interval or stop; True when stopping."""
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            pass
        self._wake.clear()
        return self._stopping.is_set()

    async def drain(self, conn: asyncpg.Connection) -> int:
        """Publishes one batch of pending rows in id order; returns how many were
        handled (published or parked). Raises when the broker did not take them."""
        async with conn.transaction():
            rows = await conn.fetch(
                """select id, event_type, topic, partition_key, payload, headers
                   from outbox where published_at is null and parked_at is null order by id limit $1""",
                self.batch,
            )
            if not rows:
                return 0
            sent, acks, parked = [], [], []
            for row in rows:
                size = message_size(row)
                if size > self.max_message_bytes:
                    parked.append((row, f"{size} bytes, over the {self.max_message_bytes}-byte message limit"))
                    continue
                try:
                    if row["topic"] not in self._known_topics:
                        await self.ensure_topic(row["topic"])
                        self._known_topics.add(row["topic"])
                    acks.append(await self.publish(
                        row["topic"], row["partition_key"].encode(), bytes(row["payload"]),
                        json.loads(row["headers"]),
                    ))
                except _NEVER_PUBLISHABLE as exc:
                    parked.append((row, f"{type(exc).__name__}: {exc}"))
                    continue
                sent.append(row)
            results = await asyncio.gather(*acks, return_exceptions=True)
            published, retry = [], None
            for row, result in zip(sent, results, strict=True):
                if isinstance(result, _NEVER_PUBLISHABLE):
                    parked.append((row, f"{type(result).__name__}: {result}"))
                elif isinstance(result, BaseException):
                    retry = retry or result
                else:
                    published.append(row)
            # What the broker took is marked even when some of the batch must be
            # retried: sending it again would only make duplicates.
            if published:
                await conn.execute(
                    "update outbox set published_at = now() where id = any($1::bigint[])",
                    [r["id"] for r in published],
                )
            for row, reason in parked:
                await conn.execute("update outbox set parked_at = now(), park_reason = $2 where id = $1",
                                   row["id"], reason[:1000])
                log.error("outbox event parked: it can never be published", extra={
                    "event_id": str(json.loads(row["headers"]).get("event-id")), "event_type": row["event_type"],
                    "topic": row["topic"], "error": reason[:500]})
        for row in published:
            telemetry.EVENTS_PUBLISHED.labels(self.service, row["event_type"]).inc()
        if retry is not None:
            raise retry
        return len(published) + len(parked)


async def outbox_gauges(conn: asyncpg.Connection, service: str) -> int:
    """Sets the backlog, parked and oldest-age gauges from the table itself (not
    from the relay, which may be the thing that is down); returns the backlog."""
    row = await conn.fetchrow(
        """select count(*) filter (where parked_at is null) as backlog,
                  count(*) filter (where parked_at is not null) as parked,
                  coalesce(extract(epoch from now() - min(created_at) filter (where parked_at is null)), 0) as oldest
           from outbox where published_at is null""")
    telemetry.OUTBOX_BACKLOG.labels(service).set(row["backlog"])
    telemetry.OUTBOX_PARKED.labels(service).set(row["parked"])
    telemetry.OUTBOX_OLDEST_SECONDS.labels(service).set(float(row["oldest"]))
    return int(row["backlog"])
