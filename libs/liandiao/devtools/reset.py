"""Wipe a local environment: drop the services' schemas in one database and the
platform's topics on the broker, so a demo or a test run starts from nothing.
(Consumer-group offsets are not deleted: each run uses a fresh release name,
hence fresh groups.)"""

from __future__ import annotations

import asyncio

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from liandiao.devtools.localrun import SERVICES


async def ensure_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        if not await conn.fetchval("select 1 from pg_database where datname = $1", name):
            await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()


async def drop_schemas(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for service in SERVICES:
            for schema in (service, f"{service}_svc"):  # _svc: the service-level tests' copy
                await conn.execute(f"drop schema if exists {schema} cascade")
    finally:
        await conn.close()


async def delete_topics(bootstrap: str, prefix: str = "liandiao.") -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if topics:
            await admin.delete_topics(topics)
            for _ in range(100):  # deletion is asynchronous on the broker
                if not any(t.startswith(prefix) for t in await admin.list_topics()):
                    break
                await asyncio.sleep(0.1)
        return len(topics)
    finally:
        await admin.close()
