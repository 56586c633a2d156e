"""The raw floor (issue 12): what a bare aiokafka + asyncpg chain does on the same broker and
database, so that every figure of the whole-flow benchmark is also a ratio to it.

One hop is what a Liandiao consumer does for one event, stripped of everything else: consume a
record, one transaction with an inbox row and a state row, produce the next record, commit the
offset after the batch. `hops` hops are chained through their own topics (hop i reads topic i and
writes topic i+1), all in this one process, and `messages` records are pushed through the chain.
Figures: messages through one hop per second, and CPU milliseconds per hop (this process only;
PostgreSQL's and Kafka's own CPU are measured by the caller around the run).

    python bench/floor.py --hops 12 --messages 2000      (prints one JSON line)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

SCHEMA = "bench_floor"


async def _topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        if existing & set(names):
            await admin.delete_topics([n for n in names if n in existing])
            await asyncio.sleep(1)
        await admin.create_topics([NewTopic(n, num_partitions=3, replication_factor=1) for n in names])
    finally:
        await admin.close()


async def _drop_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()


async def _hop(n: int, bootstrap: str, pool: asyncpg.Pool, inbound: str, outbound: str | None,
               producer: AIOKafkaProducer, done: asyncio.Event, expected: int, counts: list[int]) -> None:
    consumer = AIOKafkaConsumer(inbound, bootstrap_servers=bootstrap, group_id=f"floor-{inbound}",
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        while counts[n] < expected:
            batch = await consumer.getmany(timeout_ms=200, max_records=100)
            for records in batch.values():
                for r in records:
                    async with pool.acquire() as conn, conn.transaction():
                        await conn.execute(f"insert into {SCHEMA}.inbox (consumer, event_id) values ($1, $2)",
                                           inbound, r.key.decode())
                        await conn.execute(f"insert into {SCHEMA}.state (id, hop, at) values ($1, $2, now()) "
                                           "on conflict (id) do update set hop = excluded.hop, at = now()",
                                           r.key.decode(), n)
                    if outbound:
                        await producer.send(outbound, r.value, key=r.key)
                    counts[n] += 1
            if batch:
                await consumer.commit()
        if n == len(counts) - 1:
            done.set()
    finally:
        await consumer.stop()


async def run(database_url: str, bootstrap: str, hops: int, messages: int) -> dict[str, float]:
    run_id = uuid.uuid4().hex[:8]
    topics = [f"bench.floor.{run_id}.{i}" for i in range(hops + 1)]
    await _topics(bootstrap, topics)
    pool = await asyncpg.create_pool(database_url, min_size=4, max_size=hops + 4)
    async with pool.acquire() as conn:
        await conn.execute(f"drop schema if exists {SCHEMA} cascade; create schema {SCHEMA}; "
                           f"create table {SCHEMA}.inbox (consumer text, event_id text, primary key (consumer, event_id)); "
                           f"create table {SCHEMA}.state (id text primary key, hop int, at timestamptz)")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await producer.start()
    counts = [0] * hops
    done = asyncio.Event()
    try:
        tasks = [asyncio.create_task(_hop(i, bootstrap, pool, topics[i], topics[i + 1] if i + 1 < hops else None,
                                          producer, done, messages, counts)) for i in range(hops)]
        await asyncio.sleep(3)   # the consumers join their groups
        cpu0, t0 = time.process_time(), time.perf_counter()
        for _ in range(messages):
            await producer.send(topics[0], b"x" * 600, key=str(uuid.uuid4()).encode())
        await producer.flush()
        await asyncio.wait_for(done.wait(), timeout=600)
        took, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        await asyncio.gather(*tasks)
    finally:
        await producer.stop()
        await _drop_topics(bootstrap, topics)   # left behind, they slow every client's metadata refresh
        async with pool.acquire() as conn:
            await conn.execute(f"drop schema if exists {SCHEMA} cascade")
        await pool.close()
    hop_messages = messages * hops
    return {"hops": hops, "messages": messages, "seconds": took, "hop_messages_per_s": hop_messages / took,
            "chain_per_s": messages / took, "cpu_ms_per_hop": cpu * 1000 / hop_messages}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--hops", type=int, default=12)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.database_url, args.bootstrap, args.hops, args.messages))))
    sys.stdout.flush()


if __name__ == "__main__":
    sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "libs")]
    main()
