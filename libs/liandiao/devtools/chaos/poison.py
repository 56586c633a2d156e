"""Malformed messages, put on purpose on every topic a consumer reads, among the real
traffic: a truncated protobuf, an event type the topic's consumers do not handle, a
message with none of the platform's headers, and one whose event-id header has a
null value. Each consumer of the topic must dead-letter each of them (and go on);
the ``chaos-poison`` header names them, so the checks can tell them from real
events that were dead-lettered."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from google.protobuf.message import DecodeError, Message

from liandiao.events import envelope as h
from liandiao.events.catalog import ALL, EventType
from liandiao.events.topics import dlq_topic, topic_name
from liandiao.uuid7 import uuid7

MARK = "chaos-poison"
KINDS = ("truncated-protobuf", "unhandled-event-type", "no-platform-headers", "null-event-id")


@dataclass(frozen=True)
class Poison:
    poison_id: str
    kind: str
    topic: str
    consumers: tuple[str, ...]     # every consumer of the topic: each must dead-letter it

    def dlq_topics(self) -> list[str]:
        return [dlq_topic(self.topic, c) for c in self.consumers]


def consumed_by(consumers: Mapping[str, Sequence[str]]) -> dict[EventType, tuple[str, ...]]:
    """Event type -> the consumers that take it (from the services' own registrations)."""
    by_name = {f"{e.service}.{e.name}": e for e in ALL}
    out: dict[EventType, list[str]] = {}
    for consumer, events in consumers.items():
        for name in events:
            out.setdefault(by_name[name], []).append(consumer)
    return {e: tuple(sorted(cs)) for e, cs in out.items()}


def _sample(event: EventType) -> bytes:
    """A well-formed payload: the message with every top-level string field set."""
    msg: Message = event.message()
    for f in msg.DESCRIPTOR.fields:
        if f.type == f.TYPE_STRING and not f.is_repeated:
            setattr(msg, f.name, f"chaos-{f.name}-{uuid.uuid4().hex}")
    return msg.SerializeToString()


def truncated(event: EventType) -> bytes:
    """A real payload cut short inside its last field: it cannot be parsed."""
    whole = _sample(event)
    for cut in range(len(whole) - 1, 0, -1):
        try:
            event.message().ParseFromString(whole[:cut])
        except DecodeError:
            return whole[:cut]
    return b"\x0a\x20chaos"   # field 1, 32 bytes announced, 5 present


def _headers(event: EventType, prefecture: str, poison_id: str) -> list[tuple[str, bytes | None]]:
    envelope = {h.EVENT_ID: str(uuid7()), h.EVENT_TYPE: event.key, h.OCCURRED_AT: datetime.now(UTC).isoformat(),
                h.DISPUTE_ID: str(uuid.uuid4()), h.REGION_CODE: f"{prefecture}00", h.TRACEPARENT: "",
                h.CORRELATION_ID: ""}
    headers: list[tuple[str, bytes | None]] = [(k, v.encode()) for k, v in envelope.items()]
    return headers + [(MARK, poison_id.encode())]


def messages(event: EventType, prefecture: str, handled: set[str]) -> list[tuple[str, bytes, list]]:
    """(kind, payload, headers) of the four malformed messages for ``event``'s topic."""
    other = next(e for e in ALL if e.key not in handled)
    out: list[tuple[str, bytes, list]] = []
    for kind in KINDS:
        pid = f"{kind}-{uuid.uuid4().hex[:12]}"
        headers = _headers(event, prefecture, pid)
        payload = _sample(event)
        if kind == "truncated-protobuf":
            payload = truncated(event)
        elif kind == "unhandled-event-type":
            headers = [(k, other.key.encode() if k == h.EVENT_TYPE else v) for k, v in headers]
            payload = _sample(other)
        elif kind == "no-platform-headers":
            headers = [(MARK, pid.encode())]
        elif kind == "null-event-id":
            headers = [(k, None if k == h.EVENT_ID else v) for k, v in headers]
        out.append((pid, payload, headers))
    return out


async def inject(bootstrap: str, consumers: Mapping[str, Sequence[str]], prefecture: str) -> list[Poison]:
    """Sends the four malformed messages to the prefecture's shard of every consumed topic."""
    by_event = consumed_by(consumers)
    handled = {e.key for e in by_event}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    sent: list[Poison] = []
    try:
        for event, who in sorted(by_event.items(), key=lambda kv: kv[0].key):
            topic = topic_name(event, prefecture)
            for pid, payload, headers in messages(event, prefecture, handled):
                await producer.send_and_wait(topic, payload, key=uuid.uuid4().hex.encode(), headers=headers)
                sent.append(Poison(pid, pid.rsplit("-", 1)[0], topic, who))
    finally:
        await producer.stop()
    return sent
