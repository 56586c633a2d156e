"""Crashes lose and duplicate nothing: a service killed with SIGKILL in the middle
of a burst of registrations comes back, and every dispute is registered once and
placed once. Personal data never reaches the logs."""

from __future__ import annotations

import asyncio
import random

import asyncpg
import grpc
import pytest

from liandiao.common.v1 import common_pb2
from liandiao.devtools import province
from liandiao.devtools.localrun import REPO
from liandiao.intake.v1 import intake_pb2
from tests.e2e.support import CLERK, eventually

pytestmark = pytest.mark.e2e


async def register_with_retries(stubs, req, attempts: int = 60) -> intake_pb2.Dispute:
    """What a counter client does: retry the same request (same request_id) until it lands."""
    for _ in range(attempts):
        try:
            return (await stubs["intake"].RegisterDispute(req, metadata=CLERK, timeout=5)).dispute
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                                  grpc.StatusCode.UNKNOWN, grpc.StatusCode.CANCELLED):
                raise
            await asyncio.sleep(0.5)
    pytest.fail("registration never landed")


async def test_killing_intake_and_routing_mid_burst_loses_and_duplicates_nothing(world, services, stack_env):
    stubs, prov = world
    rng = random.Random(404)
    requests = [province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION)
                for _ in range(40)]

    async def chaos():
        await asyncio.sleep(0.3)
        services.procs["routing"].kill()        # SIGKILL: no graceful stop, offsets not committed
        await asyncio.sleep(0.3)
        services.procs["intake"].kill()
        await asyncio.to_thread(services.procs["routing"].wait)
        await asyncio.to_thread(services.procs["intake"].wait)
        del services.procs["routing"], services.procs["intake"]
        await asyncio.sleep(1)
        services.start("intake", "routing")

    sem = asyncio.Semaphore(4)

    async def one(req):
        async with sem:
            return await register_with_retries(stubs, req)

    results = await asyncio.gather(chaos(), *(one(r) for r in requests))
    disputes = results[1:]
    await services.wait_serving(timeout=90)
    # A retried request is the same dispute: one id per request.
    assert len({d.dispute_id for d in disputes}) == len(requests)

    ids = [d.dispute_id for d in disputes]
    conn = await asyncpg.connect(stack_env["LIANDIAO_DATABASE_URL"])
    try:
        async def all_placed():
            n = await conn.fetchval("select count(*) from routing.assignments where dispute_id::text = any($1)", ids)
            return n == len(ids)

        await eventually(all_placed, timeout=60)
        per_dispute = await conn.fetch(
            "select request_id, count(*) as n from intake.disputes where request_id = any($1) group by request_id",
            [r.request_id for r in requests])
        events = await conn.fetchval(
            "select count(*) from intake.outbox where event_type = 'intake.dispute-registered.v1' "
            "and headers->>'dispute-id' = any($1)", ids)
        rounds = await conn.fetch("select offer_round from routing.assignments where dispute_id::text = any($1)", ids)
        handled = await conn.fetchval(
            "select count(*) from routing.inbox i join intake.outbox o on o.event_id = i.event_id "
            "where i.consumer = 'routing.disputes' and o.headers->>'dispute-id' = any($1)", ids)
    finally:
        await conn.close()
    assert len(per_dispute) == len(requests) and {r["n"] for r in per_dispute} == {1}
    assert events == len(requests)                      # one event per dispute, never two
    # Redelivered events (routing died before committing offsets) were dropped by the inbox:
    # each dispute handled once, placed once, nobody re-offered.
    assert handled == len(requests)
    assert {r["offer_round"] for r in rounds} == {1}


async def test_personal_data_never_reaches_the_logs(world, services):
    stubs, prov = world
    req = province.dispute_request(random.Random(505), prov)
    req.parties[0].id_document.number = req.parties[0].id_document.number[:-1] + "Z"   # a rejected one, too
    with pytest.raises(grpc.aio.AioRpcError):
        await stubs["intake"].RegisterDispute(req, metadata=CLERK)
    good = province.dispute_request(random.Random(506), prov)
    await stubs["intake"].RegisterDispute(good, metadata=CLERK)
    await asyncio.sleep(1.0)
    secrets = {p.id_document.number for r in (req, good) for p in r.parties} | \
              {p.phone for r in (req, good) for p in r.parties}
    logs = "".join(p.read_text(errors="replace") for p in (REPO / ".state" / "logs" / "e2e").glob("*.log"))
    assert logs, "the services wrote logs"
    assert [s for s in secrets if s in logs] == []
