"""A prefecture's own deployment (DESIGN.md "Scale and regions"): a routing release
for 通辽市 (1505) with its own database and consumer groups receives 1505's events
and the province-level shard, and never another region's."""

from __future__ import annotations

import asyncio
import random
import uuid

import asyncpg
import pytest

from liandiao.devtools import metrics, province, reset
from liandiao.devtools.localrun import REPO, LocalServices
from liandiao.ids import children
from liandiao.routing.v1 import routing_pb2
from tests.e2e.support import CLERK, eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
async def region_routing(stack_env, world):
    _, prov = world
    admin = stack_env["LIANDIAO_DATABASE_URL"]
    dsn = admin.rsplit("/", 1)[0] + "/liandiao_region_test"
    await reset.ensure_database(admin, "liandiao_region_test")
    await reset.drop_schemas(dsn)
    local = LocalServices(env={**stack_env, "LIANDIAO_DATABASE_URL": dsn, "LIANDIAO_PREFECTURES": "1505",
                               "LIANDIAO_RELEASE": f"region-1505-{uuid.uuid4().hex[:6]}"},
                          log_dir=REPO / ".state" / "logs" / "region", base_port=24060, metrics_base_port=9960,
                          services=("routing",))
    local.start()
    try:
        await local.wait_serving(timeout=60)
        port = local.metrics_port("routing")

        async def roster_projected():
            return metrics.total(port, "liandiao_events_consumed_total", consumer="routing.roster",
                                 outcome="processed") >= prov.person_events
        await eventually(roster_projected, timeout=60)
        yield dsn
    finally:
        local.stop()


async def test_a_regional_release_takes_its_prefecture_and_nothing_else(world, region_routing):
    stubs, prov = world
    rng = random.Random(77)
    here = province.dispute_request(rng, prov)                       # 1505, the region's own
    chifeng = province.Province(counties=[province.County(d, "jo", "ps", "tr", ["c"], list(children(d.code))[:1])
                                          for d in children("1504")[:2]])
    elsewhere = province.dispute_request(rng, chifeng)                # 1504: the province release's
    d_here = (await stubs["intake"].RegisterDispute(here, metadata=CLERK)).dispute
    d_else = (await stubs["intake"].RegisterDispute(elsewhere, metadata=CLERK)).dispute
    assert (d_here.prefecture, d_else.prefecture) == ("1505", "1504")

    # The province-wide routing saw both ...
    for d in (d_here, d_else):
        await eventually(lambda d=d: stubs["routing"].GetAssignment(
            routing_pb2.GetAssignmentRequest(dispute_id=d.dispute_id), metadata=CLERK))
    # ... the regional one placed its own dispute from its own roster projection, and never saw 1504's.
    conn = await asyncpg.connect(region_routing)
    try:
        async def placed_here():
            return await conn.fetchval("select status from routing.assignments where dispute_id = $1",
                                       uuid.UUID(d_here.dispute_id))

        assert await eventually(placed_here) in ("offered", "awaiting_choice", "unassigned")
        await asyncio.sleep(1.0)
        seen = {str(r["dispute_id"]) for r in await conn.fetch("select dispute_id from routing.disputes")}
        prefectures = {r["region_code"][:4] for r in await conn.fetch("select region_code from routing.disputes")}
    finally:
        await conn.close()
    assert d_here.dispute_id in seen and d_else.dispute_id not in seen
    assert prefectures == {"1505"}
