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
from datetime import UTC, datetime

import asyncpg
from google.protobuf.message import Message
from opentelemetry.trace import SpanKind

from liandiao import telemetry
from liandiao.events.catalog import EventType
from liandiao.events.envelope import Envelope
from liandiao.events.topics import topic_name
from liandiao.uuid7 import uuid7

log = logging.getLogger(__name__)


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
    await conn.execute(
        """insert into outbox (event_id, event_type, topic, partition_key, payload, headers)
           values ($1, $2, $3, $4, $5, $6)""",
        env.event_id, event.key, topic, partition_key or dispute_id or env.event_id,
        payload.SerializeToString(), json.dumps(env.headers()),
    )
    return env


# Sends one message and returns an awaitable for its broker acknowledgement, so a
# batch is sent back to back and acknowledged together.
Publish = Callable[[str, bytes, bytes, dict[str, str]], Awaitable[Awaitable[object]]]
EnsureTopic = Callable[[str], Awaitable[None]]


class OutboxRelay:
    """Publishes the outbox of one service schema.

    Only one replica relays at a time (a session advisory lock), so the events of
    one dispute leave in the order they were committed; the others stand by and
    take over when the holder's connection ends."""

    def __init__(
        self, service: str, dsn: str, schema: str, publish: Publish, ensure_topic: EnsureTopic,
        *, poll_seconds: float = 0.5, batch: int = 500,
    ):
        self.service, self.dsn, self.schema = service, dsn, schema
        self.publish, self.ensure_topic = publish, ensure_topic
        self.poll_seconds, self.batch = poll_seconds, batch
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._known_topics: set[str] = set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._run_once_connected()
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                if self._stopping.is_set():
                    break
                log.warning("outbox relay lost its connection, retrying", extra={"error": str(exc)})
                await asyncio.sleep(1.0)

    async def _run_once_connected(self) -> None:
        conn = await asyncpg.connect(self.dsn, server_settings={"search_path": self.schema})
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
            await conn.close()

    async def _sleep(self, seconds: float) -> bool:
        """Waits for a notification, the poll interval or stop; True when stopping."""
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            pass
        self._wake.clear()
        return self._stopping.is_set()

    async def drain(self, conn: asyncpg.Connection) -> int:
        """Publishes one batch of unpublished rows in id order; returns how many."""
        async with conn.transaction():
            rows = await conn.fetch(
                """select id, event_type, topic, partition_key, payload, headers
                   from outbox where published_at is null order by id limit $1""",
                self.batch,
            )
            if not rows:
                telemetry.OUTBOX_BACKLOG.labels(self.service).set(0)
                return 0
            acks = []
            for row in rows:
                if row["topic"] not in self._known_topics:
                    await self.ensure_topic(row["topic"])
                    self._known_topics.add(row["topic"])
                acks.append(await self.publish(
                    row["topic"], row["partition_key"].encode(), bytes(row["payload"]),
                    json.loads(row["headers"]),
                ))
            await asyncio.gather(*acks)  # any failure rolls back: rows stay unpublished
            for row in rows:
                telemetry.EVENTS_PUBLISHED.labels(self.service, row["event_type"]).inc()
            await conn.execute(
                "update outbox set published_at = now() where id = any($1::bigint[])",
                [r["id"] for r in rows],
            )
        backlog = await conn.fetchval("select count(*) from outbox where published_at is null")
        telemetry.OUTBOX_BACKLOG.labels(self.service).set(backlog)
        return len(rows)
