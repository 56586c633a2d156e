"""Replay protection that holds across replicas: every accepted signature is recorded in
PostgreSQL (schema ``external_systems``) until the signature window has passed for it; a
second request with the same signature, on any replica, finds it and is refused. Outside
the window the timestamp check refuses it already, so older rows are swept."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg


class ReplayStore:
    def __init__(self, pool: asyncpg.Pool, window: timedelta):
        self.pool, self.window = pool, window

    async def first_use(self, system_id: str, signature: str, signed_at: datetime) -> bool:
        """True the first time ``signature`` is seen for ``system_id``; False for a replay."""
        # Kept until the timestamp can no longer pass the window check (it may lie ahead of our clock).
        expires = signed_at + self.window
        inserted = await self.pool.fetchval(
            """insert into seen_signatures (system_id, signature, expires_at) values ($1, $2, $3)
               on conflict (system_id, signature) do nothing returning true""", system_id, signature, expires)
        return bool(inserted)

    async def sweep(self, now: datetime) -> int:
        done = await self.pool.execute("delete from seen_signatures where expires_at < $1", now - self.window)
        return int(done.split()[-1])

    async def ready(self) -> bool:
        try:
            async with self.pool.acquire(timeout=2) as conn:
                await conn.fetchval("select 1")
            return True
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
