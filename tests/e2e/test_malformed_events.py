"""Every consumer of every service, fed malformed messages on each of its topics (issue 6;
issues 8-10 for mediation's, confirmation's and notification's events): a truncated payload,
the wrong message type, missing headers, a header with no value, a payload near the broker's
limit. Each reaches that consumer's dead-letter topic for that topic with the reason, and the
consumer goes on: its lag on every one of its topics comes back to zero. A consumer of many
event types (notification.events takes fourteen) dispatches on the type, so each type's topic
is fed, not only the first."""

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

CONSUMERS = [(svc, name, tuple(events)) for svc in SERVICES
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


def _event(event_key: str):
    return BY_KEY[f"{event_key}.v1"] if f"{event_key}.v1" in BY_KEY else BY_KEY[event_key]


@pytest.mark.parametrize("svc, consumer, event_keys", CONSUMERS, ids=[c[1] for c in CONSUMERS])
async def test_a_consumer_dead_letters_malformed_messages_and_goes_on(services, stack_env, svc, consumer,
                                                                     event_keys):
    bootstrap = stack_env["LIANDIAO_KAFKA_BOOTSTRAP"]
    topics = [topic_name(_event(k), "150502") for k in event_keys]
    tag = f"{consumer}-{uuid.uuid4().hex[:6]}"
    bad = {t: poison(k, tag) for t, k in zip(topics, event_keys, strict=True)}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=2_000_000)
    await producer.start()
    try:
        for topic, messages in bad.items():
            for _, payload, headers in messages:
                await producer.send_and_wait(topic, payload, key=b"poison", headers=headers)
    finally:
        await producer.stop()

    dlqs = {dlq_topic(t, consumer): t for t in topics}
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"t-{uuid.uuid4().hex[:8]}",
                              auto_offset_reset="earliest", max_partition_fetch_bytes=2_000_000)

    async def dead_letters():
        return set(dlqs) <= await _topics(bootstrap) or None

    # Each topic's dead-letter topic is made when its first message is dead-lettered: a consumer
    # of fourteen topics is given the time of as many (a shared machine under load took >60 s).
    patience = 60 + 10 * (len(topics) - 1)
    await eventually(dead_letters, timeout=patience)
    reader.subscribe(list(dlqs))
    await reader.start()
    got: dict[str, str] = {}
    owed = sum(len(m) for m in bad.values())
    try:
        deadline = asyncio.get_running_loop().time() + patience
        while len(got) < owed and asyncio.get_running_loop().time() < deadline:
            for tp, records in (await reader.getmany(timeout_ms=1000)).items():
                for r in records:
                    h = {k: (v or b"").decode(errors="replace") for k, v in r.headers}
                    if h.get("x-poison") == tag:
                        got[f"{dlqs[tp.topic]}@{r.partition}:{h['dlq-original-offset']}"] = h["dlq-error"]
    finally:
        await reader.stop()
    per_topic = {t: sum(1 for k in got if k.startswith(f"{t}@")) for t in topics}
    assert len(got) == owed, f"{consumer}: {len(got)} of {owed} malformed messages dead-lettered: {per_topic}"
    assert all(reason for reason in got.values())

    port = services.metrics_port(svc)

    async def caught_up():
        lag: dict[str, float] = {}
        for (n, labels), v in metrics.scrape(port).items():
            lab = dict(labels)
            if n == "liandiao_consumer_lag" and lab.get("consumer") == consumer and lab.get("topic") in topics:
                lag[lab["topic"]] = lag.get(lab["topic"], 0) + v
        # measured (from the broker) on every topic, and nothing left behind on any
        return set(lag) == set(topics) and not any(lag.values())

    await eventually(caught_up, timeout=30)


async def _topics(bootstrap: str) -> set[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()
