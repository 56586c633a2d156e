"""Operator commands for topics and dead letters.

    python -m liandiao.events.admin ensure-topics --prefectures 1501,1505
    python -m liandiao.events.admin replay <dlq-topic> [--max N]
    python -m liandiao.events.admin parked <service> [--release ID | --discard ID]

``ensure-topics`` creates every event topic for the given prefecture shards
(plus ``00``) with the configured partition count. ``replay`` republishes the
messages of a dead-letter topic to their original topic with their original
headers; consumers that already processed an event drop it by its id.
``parked`` lists the outbox rows a service set aside as never publishable (with
the reason); ``--release`` puts one back in line (after the cause is fixed, e.g.
the broker's message limit raised), ``--discard`` deletes it for good."""

from __future__ import annotations

import argparse
import asyncio
import os
import re

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from liandiao.events.catalog import ALL
from liandiao.events.consumer import DLQ_SEALED, dlq_context
from liandiao.events.kafka import Topics
from liandiao.events.topics import PROVINCE_SHARD, topic_name
from liandiao.pii import PiiCipher


async def ensure_topics(bootstrap: str, prefectures: list[str], partitions: int) -> list[str]:
    shards = sorted(set(prefectures) | {PROVINCE_SHARD})
    names = [topic_name(e, s) for e in ALL for s in shards]
    await Topics(bootstrap, partitions).ensure(*names)
    return names


async def replay(bootstrap: str, dlq: str, limit: int, cipher: PiiCipher | None = None) -> int:
    """Republishes the dead-letter topic's messages not replayed before (the replay's
    own committed offsets) up to its end as it is now, then commits. The partitions
    are assigned by hand and read to their end offsets: waiting for a consumer group to
    assign them, and taking an empty first fetch for "nothing left", missed a whole
    topic when the group join was slow (seen in the chaos run). A sealed dead letter
    (liandiao.events.consumer) goes back decrypted: ``cipher`` is the services' key ring."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"liandiao.replay.{dlq}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await consumer.start()
    await producer.start()
    sent = 0
    # A dead letter written twice (its consumer killed between publishing it and recording
    # it in dead_letters) goes back once: the original record's coordinates name it.
    replayed: set[tuple[str, str, str]] = set()
    try:
        partitions = await _partitions(bootstrap, dlq)
        if not partitions:
            return 0
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            done = await consumer.committed(tp)
            if done is not None and done <= ends[tp]:
                consumer.seek(tp, done)
            else:
                # Never replayed, or the topic was deleted and made again (the group's
                # offset outlives it and may lie past the new end): from the beginning.
                await consumer.seek_to_beginning(tp)
        while sent < limit:
            behind = [tp for tp in partitions if await consumer.position(tp) < ends[tp]]
            if not behind:
                break
            batch = await consumer.getmany(*behind, timeout_ms=2000, max_records=min(500, limit - sent))
            for records in batch.values():
                for r in records:
                    if r.offset >= ends[TopicPartition(r.topic, r.partition)] or sent >= limit:
                        continue
                    headers = [(k, v) for k, v in r.headers if not k.startswith("dlq-")]
                    named = {k: (v or b"").decode(errors="replace") for k, v in r.headers}
                    original = named.get("dlq-original-topic", "")
                    origin = (original, named.get("dlq-original-partition", ""), named.get("dlq-original-offset", ""))
                    if original and not (origin[2] and origin in replayed):
                        replayed.add(origin)
                        await producer.send_and_wait(original, _unsealed(r.value, named, cipher), key=r.key,
                                                     headers=headers)
                        sent += 1
            # never past the end taken at the start: what came later is for the next replay
            await consumer.commit({tp: min(await consumer.position(tp), ends[tp]) for tp in partitions})
    finally:
        await consumer.stop()
        await producer.stop()
    return sent


def _unsealed(value: bytes, headers: dict[str, str], cipher: PiiCipher | None) -> bytes:
    if DLQ_SEALED not in headers:
        return value
    if cipher is None:
        raise SystemExit("a dead letter is encrypted: run with the services' LIANDIAO_ENV and PII keys")
    return cipher.decrypt_bytes(value, context=dlq_context(headers.get("dlq-original-topic", ""),
                                                           headers.get("dlq-original-partition", ""),
                                                           headers.get("dlq-original-offset", "")))


def _cipher() -> PiiCipher | None:
    """The services' key ring, from the same variables (None when they are not set)."""
    from liandiao.config import SettingsError, load_settings

    env = {"LIANDIAO_DATABASE_URL": "postgresql://unused", "LIANDIAO_KAFKA_BOOTSTRAP": "unused", **os.environ}
    try:
        return load_settings("admin", env).pii_cipher()
    except SettingsError:
        return None


async def _partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described.get("error_code"):
        return []   # no such topic: nothing was ever dead-lettered there
    return [TopicPartition(topic, p["partition"]) for p in sorted(described["partitions"], key=lambda p: p["partition"])]


async def parked(dsn: str, service: str, release: int | None, discard: int | None) -> list[str]:
    if not re.match(r"^[a-z_][a-z0-9_]*$", service):
        raise SystemExit(f"{service!r} is not a service name")
    conn = await asyncpg.connect(dsn, server_settings={"search_path": service})
    try:
        if release is not None:
            done = await conn.execute("update outbox set parked_at = null, park_reason = null "
                                      "where id = $1 and parked_at is not null", release)
            return [f"released {done.split()[-1]} row(s)"]
        if discard is not None:
            done = await conn.execute("delete from outbox where id = $1 and parked_at is not null", discard)
            return [f"discarded {done.split()[-1]} row(s)"]
        rows = await conn.fetch("select id, event_id, event_type, topic, length(payload) as size, parked_at, "
                                "park_reason from outbox where parked_at is not null order by id")
        return [f"{r['id']}\t{r['event_id']}\t{r['event_type']}\t{r['topic']}\t{r['size']} bytes\t"
                f"{r['parked_at']:%Y-%m-%d %H:%M:%S}\t{r['park_reason']}" for r in rows]
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m liandiao.events.admin")
    parser.add_argument("--bootstrap", default=os.environ.get("LIANDIAO_KAFKA_BOOTSTRAP", "127.0.0.1:29092"))
    sub = parser.add_subparsers(dest="command", required=True)
    ens = sub.add_parser("ensure-topics")
    ens.add_argument("--prefectures", required=True, help="comma-separated 4-digit prefecture codes")
    ens.add_argument("--partitions", type=int, default=int(os.environ.get("LIANDIAO_TOPIC_PARTITIONS", "3")))
    rep = sub.add_parser("replay")
    rep.add_argument("dlq_topic")
    rep.add_argument("--max", type=int, default=10_000)
    park = sub.add_parser("parked")
    park.add_argument("service")
    park.add_argument("--database-url", default=os.environ.get("LIANDIAO_DATABASE_URL", ""))
    which = park.add_mutually_exclusive_group()
    which.add_argument("--release", type=int, metavar="ID")
    which.add_argument("--discard", type=int, metavar="ID")
    args = parser.parse_args()
    if args.command == "ensure-topics":
        names = asyncio.run(ensure_topics(args.bootstrap, [p for p in args.prefectures.split(",") if p], args.partitions))
        print(f"{len(names)} topics present")
    elif args.command == "parked":
        lines = asyncio.run(parked(args.database_url, args.service, args.release, args.discard))
        print("\n".join(lines) if lines else "no parked events")
    else:
        print(f"{asyncio.run(replay(args.bootstrap, args.dlq_topic, args.max, _cipher()))} message(s) replayed")


if __name__ == "__main__":
    main()
