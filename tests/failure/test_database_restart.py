"""What `pg_ctl restart -m fast` does to every service (issue 6): all their database
connections are cut at once. Before the fix the outbox relay of every service ended
for good on the closed connection, without a log line, while health stayed SERVING and
the backlog metric read 0; 66 of 300 disputes stopped in intake's outbox. Now every
relay and consumer is supervised: the flow goes on, backlog back to zero everywhere."""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest

from liandiao.common.v1 import common_pb2
from liandiao.devtools import metrics, province
from tests.e2e.support import eventually
from tests.failure.test_crash_recovery import register_with_retries

pytestmark = pytest.mark.e2e


async def cut_every_service_connection(conn: asyncpg.Connection) -> int:
    return await conn.fetchval(
        """select count(pg_terminate_backend(pid)) from pg_stat_activity
           where datname = current_database() and pid <> pg_backend_pid()""")


async def test_every_service_recovers_when_its_database_connections_are_cut(world, services, stack_env):
    stubs, prov = world
    rng = random.Random(606)
    conn = await asyncpg.connect(stack_env["LIANDIAO_DATABASE_URL"])
    try:
        first = [await register_with_retries(stubs, province.dispute_request(
            rng, prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION)) for _ in range(3)]
        cut = await cut_every_service_connection(conn)
        assert cut >= 12   # each service's relay (its own connection) and its pool
        later = [await register_with_retries(stubs, province.dispute_request(
            rng, prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION)) for _ in range(3)]
        await asyncio.sleep(0.5)
        assert await cut_every_service_connection(conn) >= 1   # and once more, while they reconnect
        ids = [d.dispute_id for d in first + later]

        async def all_placed():
            n = await conn.fetchval("select count(*) from routing.assignments where dispute_id::text = any($1)", ids)
            return n == len(ids)

        await eventually(all_placed, timeout=90)

        async def every_outbox_drained():
            for svc in services.procs:
                if await conn.fetchval(f"select count(*) from {svc}.outbox where published_at is null"):
                    return False
            return True

        await eventually(every_outbox_drained, timeout=60)
    finally:
        await conn.close()
    # The gauges say so too, and every service is ready again.
    for svc in services.procs:
        port = services.metrics_port(svc)

        async def backlog_zero(port=port, svc=svc):
            return metrics.total(port, "liandiao_outbox_backlog", service=svc) == 0

        await eventually(backlog_zero, timeout=30)   # gauges refresh every 5 s
    assert set((await services.wait_serving(timeout=60)).values()) == {"SERVING"}
