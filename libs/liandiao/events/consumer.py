"""Idempotent consumption (DESIGN.md "Events"): a handler's changes and the
inbox row of the event commit in one transaction, so a redelivered event is a
no-op; failures are retried a bounded number of times, then the message goes to
``<topic>.dlq.<consumer>`` with the error attached. Infrastructure outages
(the database unreachable) and contention (a deadlock, a serialization failure)
are waited out, never dead-lettered: liandiao.db.transient says which.

The retry loop is ours rather than tenacity's because it has two budgets: transient
errors wait without limit (until the service stops), handler errors count
towards ``max_attempts`` with exponential backoff."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from uuid import UUID

import asyncpg
from google.protobuf.message import DecodeError, Message
from opentelemetry.trace import SpanKind, Status, StatusCode

from liandiao import redact, telemetry
from liandiao.db import transient
from liandiao.events.catalog import BY_KEY, EventType
from liandiao.events.envelope import EVENT_ID, EVENT_TYPE, OCCURRED_AT, Envelope
from liandiao.events.topics import dlq_topic
from liandiao.pii import PiiCipher

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Message)

# What a dead letter (value, key and headers) may weigh: below the broker's ~1 MiB limit.
DLQ_MESSAGE_BYTES = 1_000_000
# A dead letter's value is encrypted (it holds names and addresses, and waits on its
# topic longer than the events do); replay decrypts it. Header: the key id.
DLQ_SEALED = "dlq-sealed"


def dlq_context(original_topic: str, partition: int | str, offset: int | str) -> str:
    """What a sealed dead letter is bound to: the record it was."""
    return f"dlq:{original_topic}:{partition}:{offset}"



@dataclass(frozen=True)
class Record:
    """What the consumer needs of a Kafka record, independent of the client library."""
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Sequence[tuple[str, bytes]]


@dataclass(frozen=True)
class ConsumedEvent(Generic[M]):
    envelope: Envelope
    payload: M
    topic: str


Handler = Callable[[asyncpg.Connection, ConsumedEvent], Awaitable[None]]
Publish = Callable[[str, bytes | None, bytes, dict[str, str]], Awaitable[object]]


class PoisonMessage(Exception):
    """The message cannot be read at all: retrying will not help."""


def header_text(value: bytes | None) -> str:
    """A header value as text: a missing value (Kafka allows null) reads as empty,
    bytes that are not UTF-8 are replaced, never an exception."""
    return value.decode(errors="replace") if value is not None else ""


def decode(record: Record, accepted: dict[str, EventType]) -> ConsumedEvent:
    headers = {k: header_text(v) for k, v in record.headers}
    for name in (EVENT_ID, EVENT_TYPE, OCCURRED_AT):
        if not headers.get(name):
            raise PoisonMessage(f"platform header {name!r} is missing or has no value")
    try:
        UUID(headers[EVENT_ID])
        env = Envelope.from_headers(headers)
    except ValueError as exc:
        raise PoisonMessage(f"malformed platform header: {exc}") from None
    event = accepted.get(env.event_type)
    if event is None:
        raise PoisonMessage(f"event type {env.event_type[:100]!r} is not one this consumer handles")
    payload = event.message()
    try:
        payload.ParseFromString(record.value)
    except DecodeError as exc:
        raise PoisonMessage(f"payload is not a valid {event.message.__name__}: {exc}") from None
    return ConsumedEvent(env, payload, record.topic)


class Consumer:
    def __init__(
        self, *, service: str, name: str, events: Sequence[EventType], handler: Handler,
        pool: asyncpg.Pool, publish: Publish, ensure_topic: Callable[[str], Awaitable[None]],
        max_attempts: int = 5, backoff_seconds: float = 0.2, cipher: PiiCipher | None = None,
    ):
        self.service, self.name = service, name
        self.accepted = {e.key: e for e in events}
        unknown = [k for k in self.accepted if k not in BY_KEY]
        if unknown:
            raise ValueError(f"unknown event types {unknown}")
        self.handler, self.pool = handler, pool
        self.publish, self.ensure_topic = publish, ensure_topic
        self.max_attempts, self.backoff = max_attempts, backoff_seconds
        self.cipher = cipher
        self.stopping = asyncio.Event()

    async def process(self, record: Record) -> str:
        """Handles one record to completion; returns the outcome. Raises only when
        stopping mid-outage, so the record is not acknowledged and comes again."""
        started = time.perf_counter()
        try:
            event = decode(record, self.accepted)
        except PoisonMessage as exc:
            await self._dead_letter(record, str(exc), attempts=0)
            return self._count("dead_lettered")
        redact.remember_message(event.payload)   # its names are masked in whatever this task logs
        attrs = {"messaging.system": "kafka", "messaging.destination.name": record.topic,
                 "messaging.consumer.group.name": self.name,
                 "messaging.message.id": event.envelope.event_id,
                 "liandiao.dispute_id": event.envelope.dispute_id}
        with telemetry.continued_span(f"{record.topic} process", event.envelope.traceparent,
                                      kind=SpanKind.CONSUMER, attributes=attrs) as span:
            outcome = await self._attempt_until_done(record, event, span)
        telemetry.HANDLER_LATENCY.labels(self.service, self.name).observe(time.perf_counter() - started)
        return self._count(outcome)

    async def _attempt_until_done(self, record: Record, event: ConsumedEvent, span) -> str:
        attempt, transient_wait = 0, self.backoff
        while True:
            try:
                return "processed" if await self._apply(event) else "duplicate"
            except Exception as exc:
                if not transient(exc):
                    made = await self._failed_attempt(record, event, span, exc, attempt)
                    if made is None:
                        return "dead_lettered"
                    attempt = made
                    continue
                # The database is down or the row contended: wait, do not burn attempts.
                if self.stopping.is_set():
                    raise
                log.warning("consumer waiting for the database", extra={
                    "consumer": self.name, "error": f"{type(exc).__name__}: {exc}"[:300]})
                await asyncio.sleep(transient_wait * random.uniform(0.5, 1.0))
                transient_wait = min(transient_wait * 2, 5.0)

    async def _failed_attempt(self, record: Record, event: ConsumedEvent, span, exc: Exception,
                              attempt: int) -> int | None:
        """Counts a handler failure; dead-letters after the last attempt (None),
        else waits the backoff and returns the attempts made so far."""
        attempt += 1
        self._count("retried")
        if attempt >= self.max_attempts:
            span.set_status(Status(StatusCode.ERROR, redact.mask_free_text(str(exc))[:500]))
            log.error("event dead-lettered", extra={"consumer": self.name, "event_id": event.envelope.event_id,
                                                    "error": redact.mask_free_text(repr(exc))[:500]})
            await self._dead_letter(record, f"{type(exc).__name__}: {exc}", attempts=attempt)
            return None
        await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
        return attempt

    async def _apply(self, event: ConsumedEvent) -> bool:
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await conn.fetchval(
                """insert into inbox (consumer, event_id, topic) values ($1, $2, $3)
                   on conflict do nothing returning true""",
                self.name, event.envelope.event_id, event.topic,
            )
            if not fresh:
                return False
            await self.handler(conn, event)
            return True

    async def _dead_letter(self, record: Record, error: str, *, attempts: int) -> None:
        topic = dlq_topic(record.topic, self.name)
        error = redact.mask_free_text(error)   # an exception's text may quote personal data
        headers = {k: header_text(v) for k, v in record.headers}
        headers.update({"dlq-error": error[:2000], "dlq-attempts": str(attempts),
                        "dlq-original-topic": record.topic, "dlq-original-partition": str(record.partition),
                        "dlq-original-offset": str(record.offset), "dlq-consumer": self.name})
        value = record.value
        room = DLQ_MESSAGE_BYTES - sum(len(k) + len(v.encode()) for k, v in headers.items()) - len(record.key or b"")
        if len(value) > room:
            # A dead letter must itself fit in Kafka, or the consumer would be stuck on
            # it for good; a message this large was poison anyway, keep its head.
            headers["dlq-value-truncated-from"] = str(len(value))
            value = value[:max(room - 100, 0)]
        # A record that comes again (its batch's offsets were not committed: a pause, a
        # rebalance) was dead-lettered already: a second copy would sit on the DLQ.
        if await self._db_retrying(lambda conn: conn.fetchval(
                "select true from dead_letters where consumer = $1 and topic = $2 "
                "and kafka_partition = $3 and kafka_offset = $4",
                self.name, record.topic, record.partition, record.offset)):
            return
        if self.cipher is not None:
            value = self.cipher.encrypt_bytes(value, context=dlq_context(record.topic, record.partition, record.offset))
            headers[DLQ_SEALED] = self.cipher.current
        await self.ensure_topic(topic)
        await self.publish(topic, record.key, value, headers)
        await self._db_retrying(lambda conn: conn.execute(
            """insert into dead_letters
                   (consumer, event_id, topic, kafka_partition, kafka_offset, error, attempts)
               values ($1, $2, $3, $4, $5, $6, $7)
               on conflict (consumer, topic, kafka_partition, kafka_offset) do nothing""",
            self.name, headers.get(EVENT_ID, "")[:100], record.topic, record.partition, record.offset,
            error[:2000], attempts))

    async def _db_retrying(self, op):
        """Runs one statement, waiting out a database outage (never a reason to lose a dead letter)."""
        wait = self.backoff
        while True:
            try:
                async with self.pool.acquire() as conn:
                    return await op(conn)
            except Exception as exc:
                if not transient(exc) or self.stopping.is_set():
                    raise
                await asyncio.sleep(wait)
                wait = min(wait * 2, 5.0)

    def _count(self, outcome: str) -> str:
        telemetry.EVENTS_CONSUMED.labels(self.service, self.name, outcome).inc()
        return outcome
