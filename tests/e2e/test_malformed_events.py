"""Every consumer of every service, fed malformed messages on its own topics (issue 6):
a truncated payload, the wrong message type, missing headers, a header with no value,
a payload near the broker's limit. Each reaches that consumer's dead-letter topic with
the reason, and the consumer goes on: its lag comes back to zero."""

from __future__ import annotations

import asyncio
import importlib
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from liandiao.devtools import metrics
from liandiao.devtools.localrun import SERVICES
from liandiao.events.catalog import BY_KEY
from liandiao.events.topics import dlq_topic, topic_name
from tests.e2e.support import eventually

pytestmark = pytest.mark.e2e

CONSUMERS = [(svc, name, events[0]) for svc in SERVICES
             for name, events in importlib.import_module(f"services.{svc}.main").app.consumers.items()]


def headers_for(event_key: str, tag: str, **override) -> list[tuple[str, bytes | None]]:
    base = {"event-id": str(uuid.uuid4()), "event-type": f"{event_key}.v1",
            "occurred-at": datetime.now(UTC).isoformat(), "dispute-id": str(uuid.uuid4()),
            "region-code": "150502", "traceparent": "", "correlation-id": "poison-test", "x-poison": tag}
    base.update(override)
    return [(k, v.encode() if isinstance(v, str) else v) for k, v in base.items()]


def with_text(message):
    """The message with every singular text field filled (a cut in the middle then breaks it)."""
    for field in message.DESCRIPTOR.fields:
        if field.type == field.TYPE_STRING and not field.is_repeated:
            setattr(message, field.name, "一段很长的文字" * 20)
    return message


def poison(event_key: str, tag: str) -> list[tuple[str, bytes, list]]:
    """(what, payload, headers) of each malformed message."""
    event = BY_KEY[f"{event_key}.v1"] if f"{event_key}.v1" in BY_KEY else BY_KEY[event_key]
    other = next(e for e in BY_KEY.values() if e.message is not event.message)
    sample, stranger = with_text(event.message()), with_text(other.message())
    return [
        ("truncated", sample.SerializeToString()[:-7], headers_for(event_key, tag)),
        ("wrong-type", stranger.SerializeToString(), headers_for(event_key, tag)),
        ("missing-headers", sample.SerializeToString(), [("event-type", f"{event_key}.v1".encode()),
                                                         ("x-poison", tag.encode())]),
        ("null-header", sample.SerializeToString(), headers_for(event_key, tag, **{"event-id": None})),
        ("huge", b"\x0a\xff\xff\x3f" + b"x" * 900_000, headers_for(event_key, tag)),
    ]


@pytest.mark.parametrize("svc, consumer, event_key", CONSUMERS, ids=[c[1] for c in CONSUMERS])
async def test_a_consumer_dead_letters_malformed_messages_and_goes_on(services, stack_env, svc, consumer,
                                                                     event_key):
    bootstrap = stack_env["LIANDIAO_KAFKA_BOOTSTRAP"]
    event = BY_KEY[f"{event_key}.v1"] if f"{event_key}.v1" in BY_KEY else BY_KEY[event_key]
    topic = topic_name(event, "150502")
    tag = f"{consumer}-{uuid.uuid4().hex[:6]}"
    bad = poison(event_key, tag)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=2_000_000)
    await producer.start()
    try:
        for _, payload, headers in bad:
            await producer.send_and_wait(topic, payload, key=b"poison", headers=headers)
    finally:
        await producer.stop()

    dlq = dlq_topic(topic, consumer)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"t-{uuid.uuid4().hex[:8]}",
                              auto_offset_reset="earliest", max_partition_fetch_bytes=2_000_000)

    async def dead_letters():
        if dlq not in await _topics(bootstrap):
            return None
        return True

    await eventually(dead_letters, timeout=60)
    reader.subscribe([dlq])
    await reader.start()
    got: dict[str, str] = {}
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while len(got) < len(bad) and asyncio.get_running_loop().time() < deadline:
            for records in (await reader.getmany(timeout_ms=1000)).values():
                for r in records:
                    h = {k: (v or b"").decode(errors="replace") for k, v in r.headers}
                    if h.get("x-poison") == tag:
                        got[f"{r.partition}:{h['dlq-original-offset']}"] = h["dlq-error"]
    finally:
        await reader.stop()
    assert len(got) == len(bad), f"{consumer}: {len(got)} of {len(bad)} malformed messages dead-lettered: {got}"
    assert all(reason for reason in got.values())

    port = services.metrics_port(svc)

    async def caught_up():
        samples = [v for (n, labels), v in metrics.scrape(port).items()
                   if n == "liandiao_consumer_lag" and dict(labels).get("consumer") == consumer
                   and dict(labels).get("topic") == topic]
        return bool(samples) and sum(samples) == 0   # measured (from the broker), and nothing left behind

    await eventually(caught_up, timeout=30)


async def _topics(bootstrap: str) -> set[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()
