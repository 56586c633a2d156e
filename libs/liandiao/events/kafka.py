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

import logging

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import Consumer as RawConsumer
from faststream.kafka.annotations import KafkaMessage

from liandiao import telemetry
from liandiao.events.consumer import Consumer, Record

log = logging.getLogger(__name__)


def make_broker(bootstrap: str, client_id: str) -> KafkaBroker:
    # Idempotent producer with acks=all: a retried send never duplicates or
    # reorders a partition's messages. Short metadata age so that a pattern
    # subscription notices a new prefecture shard within seconds.
    return KafkaBroker(
        bootstrap, client_id=client_id, enable_idempotence=True, acks="all",
        metadata_max_age_ms=10_000, logger=None,
    )


class Topics:
    """Creates topics with explicit partition counts (auto-creation is off)."""

    def __init__(self, bootstrap: str, partitions: int, replication: int = 1):
        self.bootstrap, self.partitions, self.replication = bootstrap, partitions, replication
        self._known: set[str] = set()

    async def ensure(self, *topics: str) -> None:
        wanted = [t for t in topics if t not in self._known]
        if not wanted:
            return
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
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


def relay_publisher(broker: KafkaBroker):
    async def publish(topic: str, key: bytes, value: bytes, headers: dict[str, str]):
        return await broker.publish(value, topic, key=key, headers=headers, no_confirm=True)
    return publish


def dlq_publisher(broker: KafkaBroker):
    async def publish(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]):
        return await broker.publish(value, topic, key=key, headers=headers)
    return publish


def subscribe(broker: KafkaBroker, consumer: Consumer, pattern: str, group_id: str) -> None:
    """Registers ``consumer`` on every topic matching ``pattern``, in its own group."""

    @broker.subscriber(
        pattern=pattern, group_id=group_id, auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR, session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000, batch=True, max_records=100, batch_timeout_ms=100,
    )
    async def handle(message: KafkaMessage, raw_consumer: RawConsumer) -> None:
        records = message.raw_message
        assert isinstance(records, tuple)  # batch subscriber
        last: dict[tuple[str, int], int] = {}
        for raw in records:
            assert isinstance(raw, ConsumerRecord)
            await consumer.process(Record(raw.topic, raw.partition, raw.offset, raw.key, raw.value or b"",
                                          tuple(raw.headers or ())))
            last[(raw.topic, raw.partition)] = raw.offset
        for (topic, partition), offset in last.items():
            end = raw_consumer.highwater(TopicPartition(topic, partition))
            if end is not None:
                telemetry.CONSUMER_LAG.labels(consumer.service, consumer.name, topic, str(partition)).set(
                    max(end - offset - 1, 0))
