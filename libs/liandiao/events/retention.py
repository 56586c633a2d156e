"""Retention of the platform tables (issue 6): published outbox rows and old inbox
ids are purged on a schedule, so neither table grows forever.

Why the inbox cut-off is safe: an event can come again only while Kafka still holds
it, i.e. within the topic's retention (14 days in the chart) of being produced, and
it was processed after it was produced. An inbox row processed longer ago than that
retention cannot meet its event again; LIANDIAO_INBOX_RETENTION_DAYS (21 by default,
at least 15) is checked against the topics' retention.ms by the chart.
Parked outbox rows are never purged: they wait for an operator."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from liandiao import telemetry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Purged:
    outbox: int
    inbox: int


async def purge(conn: asyncpg.Connection, service: str, *, now: datetime, outbox_keep: timedelta,
                inbox_keep: timedelta, batch: int = 5000) -> Purged:
    """Deletes, in batches of ``batch`` rows (short transactions, no long locks),
    outbox rows published before ``now - outbox_keep`` and inbox rows processed
    before ``now - inbox_keep``. Two replicas may run it at once: each batch takes a
    transaction-level advisory lock, and a replica that finds it taken leaves this round
    to the other. Transaction-level, not a session lock: a pooled connection carries no
    session state back to the pool (liandiao.db.create_pool skips the reset round trip)."""
    purged = {"outbox": 0, "inbox": 0}
    for table, sql, cutoff in (
            ("outbox", """delete from outbox where id = any(array(
                              select id from outbox where published_at < $1 order by id limit $2))""",
             now - outbox_keep),
            ("inbox", """delete from inbox where ctid = any(array(
                             select ctid from inbox where processed_at < $1 limit $2))""",
             now - inbox_keep)):
        deleted = batch
        while deleted == batch:
            async with conn.transaction():
                if not await conn.fetchval(
                        "select pg_try_advisory_xact_lock(hashtext('liandiao.retention.' || current_schema()))"):
                    return _counted(service, Purged(**purged))   # another replica purges now
                deleted = int((await conn.execute(sql, cutoff, batch)).rsplit(" ", 1)[-1])
            purged[table] += deleted
    return _counted(service, Purged(**purged))


def _counted(service: str, purged: Purged) -> Purged:
    telemetry.RETENTION_PURGED.labels(service, "outbox").inc(purged.outbox)
    telemetry.RETENTION_PURGED.labels(service, "inbox").inc(purged.inbox)
    return purged


async def run(pool: asyncpg.Pool, service: str, settings, stopping: asyncio.Event) -> None:
    """The service's retention loop: one purge every ``retention_interval_seconds``."""
    while not stopping.is_set():
        async with pool.acquire() as conn:
            now = await conn.fetchval("select now()")
            done = await purge(conn, service, now=now,
                               outbox_keep=timedelta(hours=settings.outbox_retention_hours),
                               inbox_keep=timedelta(days=settings.inbox_retention_days))
        if done.outbox or done.inbox:
            log.info("retention purged", extra={"outbox": done.outbox, "inbox": done.inbox})
        try:
            await asyncio.wait_for(stopping.wait(), timeout=settings.retention_interval_seconds)
        except TimeoutError:
            pass
