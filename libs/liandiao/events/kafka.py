"""The Kafka side, through FastStream (aiokafka underneath): one broker per
service process for the relay's producer and the consumers' subscriptions.

Ack policy, stated once for every consumer: ``AckPolicy.NACK_ON_ERROR`` on batches.
Records arrive in batches (up to 100); each is processed to completion in order,
and the offsets are committed once, after the last one: after every handler's
transaction committed or its message went to the dead-letter topic (at-least-once;
the inbox makes a repeat a no-op). One commit per batch instead of per message
keeps the broker round trip off each event. An exception escapes only while
shutting down mid-outage; the batch is then rewound (FastStream seeks every
partition back to its earliest record) and what was already applied is dropped
by the inbox when it comes again.

Tracing is done by liandiao.telemetry from our own headers, not by FastStream's
telemetry middleware: the outbox captures the trace context at commit time,
which a middleware running in the relay would overwrite."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from liandiao import telemetry
from liandiao.events.consumer import Consumer, Record, header_text
from liandiao.transport import PLAINTEXT, KafkaSecurity

log = logging.getLogger(__name__)


def make_broker(bootstrap: str, client_id: str, security: KafkaSecurity = PLAINTEXT) -> KafkaBroker:
    # Idempotent producer with acks=all: a retried send never duplicates or
    # reorders a partition's messages. Short metadata age so that a pattern
    # subscription notices a new prefecture shard within seconds.
    return KafkaBroker(
        bootstrap, client_id=client_id, enable_idempotence=True, acks="all",
        metadata_max_age_ms=10_000, logger=None, security=security.faststream(),
    )


class Topics:
    """Creates topics with explicit partition counts (auto-creation is off)."""

    def __init__(self, bootstrap: str, partitions: int, replication: int = 1, security: KafkaSecurity = PLAINTEXT):
        self.bootstrap, self.partitions, self.replication = bootstrap, partitions, replication
        self.security = security
        self._known: set[str] = set()

    async def ensure(self, *topics: str) -> None:
        wanted = [t for t in topics if t not in self._known]
        if not wanted:
            return
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, **self.security.client_options())
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            missing = [t for t in wanted if t not in existing]
            if missing:
                try:
                    await admin.create_topics(
                        [NewTopic(t, self.partitions, self.replication) for t in missing]
                    )
                except TopicAlreadyExistsError:
                    pass  # a replica created it first
                log.info("topics created", extra={"topics": ",".join(missing)})
        finally:
            await admin.close()
        self._known.update(wanted)


def relay_producer(bootstrap: str, client_id: str, security: KafkaSecurity = PLAINTEXT):
    """Opens the relay's own idempotent producer (acks=all) for one run of the relay;
    each supervised restart gets a new one, with a new producer id and sequence."""
    @asynccontextmanager
    async def open_publisher():
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, client_id=client_id, enable_idempotence=True,
                                    acks="all", metadata_max_age_ms=10_000, **security.client_options())
        await producer.start()
        try:
            async def publish(topic: str, key: bytes, value: bytes, headers: dict[str, str]):
                return await producer.send(topic, value, key=key,
                                           headers=[(k, str(v).encode()) for k, v in headers.items()])
            yield publish
        finally:
            await producer.stop()
    return open_publisher


def dlq_publisher(broker: KafkaBroker):
    async def publish(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]):
        return await broker.publish(value, topic, key=key, headers=headers)
    return publish


def _readable(record: ConsumerRecord) -> ConsumerRecord:
    """The record with header values FastStream's parser can decode: a null value
    becomes empty and bytes that are not UTF-8 are replaced. Without this one bad
    header made the parser fail before our handler ran, and FastStream dropped the
    whole batch (valid events included) without a word; now the bad message
    reaches the consumer, which dead-letters it with the reason."""
    headers = record.headers or ()
    if all(v is not None for _, v in headers):
        try:
            for _, v in headers:
                v.decode()
            return record
        except UnicodeDecodeError:
            pass
    safe = tuple((k, header_text(v).encode()) for k, v in headers)
    return dataclasses.replace(record, headers=safe)


async def _tolerant_batch_parser(records: tuple[ConsumerRecord, ...], original):
    return await original(tuple(_readable(r) for r in records))


@dataclass(frozen=True)
class Subscription:
    """One of our consumers as subscribed: FastStream's subscriber (its ``consumer``
    attribute is the AIOKafkaConsumer once started) and the consumer group."""
    consumer: Consumer
    subscriber: Any
    group_id: str


def subscribe(broker: KafkaBroker, consumer: Consumer, pattern: str, group_id: str) -> Subscription:
    """Registers ``consumer`` on every topic matching ``pattern``, in its own group."""
    subscriber = broker.subscriber(
        pattern=pattern, group_id=group_id, auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR, session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000, batch=True, max_records=100, batch_timeout_ms=100,
        parser=_tolerant_batch_parser,
    )

    @subscriber
    async def handle(message: KafkaMessage) -> None:
        records = message.raw_message
        assert isinstance(records, tuple)  # batch subscriber
        for raw in records:
            assert isinstance(raw, ConsumerRecord)
            await consumer.process(Record(raw.topic, raw.partition, raw.offset, raw.key, raw.value or b"",
                                          tuple(raw.headers or ())))

    return Subscription(consumer, subscriber, group_id)


class LagProbe:
    """Consumer lag as Kafka itself counts it: the partition's end offset minus the
    group's committed offset. Measured from the broker, not in the handler, so the
    figure keeps growing while a consumer is stuck (its database down, its loop
    dead) instead of freezing at its last good value."""

    def __init__(self, bootstrap: str, security: KafkaSecurity = PLAINTEXT):
        self.bootstrap, self.security = bootstrap, security
        self._admin: AIOKafkaAdminClient | None = None

    async def run(self, service: str, subscriptions: list[Subscription], stopping: asyncio.Event,
                  every_seconds: float = 5.0) -> None:
        """Measures every ``every_seconds`` until ``stopping``; a supervised task of its own,
        so that a broker slow to answer never holds up the health watcher."""
        try:
            while not stopping.is_set():
                await self.measure(service, subscriptions)
                try:
                    await asyncio.wait_for(stopping.wait(), timeout=every_seconds)
                except TimeoutError:
                    pass
        finally:
            await self.close()

    async def measure(self, service: str, subscriptions: list[Subscription]) -> None:
        try:
            if self._admin is None:
                self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000,
                                                  **self.security.client_options())
                await self._admin.start()
            for sub in subscriptions:
                client = getattr(sub.subscriber, "consumer", None)
                partitions = list(client.assignment()) if client is not None else []
                if client is None or not partitions:
                    continue
                committed = await self._admin.list_consumer_group_offsets(sub.group_id, partitions=partitions)
                ends = await client.end_offsets(partitions)
                for tp in partitions:
                    done = committed.get(tp)
                    position = done.offset if done is not None and done.offset >= 0 else 0
                    telemetry.CONSUMER_LAG.labels(service, sub.consumer.name, tp.topic, str(tp.partition)).set(
                        max(ends.get(tp, 0) - position, 0))
        except Exception as exc:  # noqa: BLE001 - the broker is away: keep the last figures, try again later
            log.info("consumer lag not measured", extra={"error": f"{type(exc).__name__}: {exc}"[:300]})
            await self.close()

    async def close(self) -> None:
        if self._admin is not None:
            admin, self._admin = self._admin, None
            try:
                await admin.close()
            except Exception:  # noqa: BLE001 - closing a broken client
                pass
