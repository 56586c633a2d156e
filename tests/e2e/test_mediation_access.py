"""Mediation cases under the one access policy (issues 7 and 8): a police officer's
token for one station used to list 190 cases of two prefectures with the parties'
names, 184 of them not its referrals. Now only the case's mediator, the holding
organization's clerks, the referring station or court and the provincial operator
read a case, and ListCases filters by the same rule in SQL."""

from __future__ import annotations

import random

import asyncpg
import grpc
import pytest

from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.devtools import province
from liandiao.devtools.clients import token
from liandiao.mediation.v1 import mediation_pb2
from tests.e2e.support import CLERK, OPERATOR, accept, eventually, register_until_offered

pytestmark = pytest.mark.e2e


async def open_police_case(stubs, prov, seed: int):
    """A police referral, offered and accepted: its case, and the registration request."""
    rng = random.Random(seed)
    req, d, offer = await register_until_offered(
        stubs, lambda: province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_POLICE_REFERRAL))
    return await accept(stubs, d.dispute_id, offer), req


async def test_a_case_is_read_only_by_its_people_and_lists_filter_the_same_way(world, stack_env):
    stubs, prov = world
    m = stubs["mediation"]
    case, req = await open_police_case(stubs, prov, seed=8808)
    for seed in range(8809, 8830):   # and another station's referral beside it
        _, other = await open_police_case(stubs, prov, seed=seed)
        if other.police.station_org_id != req.police.station_org_id:
            break
    get = mediation_pb2.GetCaseRequest(case_id=case.case_id)
    station = req.police.station_org_id
    allowed = {
        "its mediator": token(Role.MEDIATOR, subject=case.mediator_id),
        "the holding committee's clerk": token(Role.CLERK, organization_id=case.organization_id),
        "the referring station": token(Role.POLICE, organization_id=station),
        "the provincial operator": OPERATOR,
    }
    refused = {
        "another mediator": token(Role.MEDIATOR, subject="00000000-0000-7000-8000-00000000beef"),
        "another office's clerk": token(Role.CLERK, organization_id="office-elsewhere"),
        "another station": token(Role.POLICE, organization_id="station-elsewhere"),
        "the committee's clerk with another prefecture's token": token(
            Role.CLERK, organization_id=case.organization_id, region_scope=("1504",)),
        "a court that did not delegate it": token(Role.COURT, organization_id="court-elsewhere"),
    }
    for who, meta in allowed.items():
        assert (await m.GetCase(get, metadata=meta)).case_id == case.case_id, who
        listed = await m.ListCases(mediation_pb2.ListCasesRequest(page={"page_size": 200}), metadata=meta)
        assert all(c.case_id for c in listed.cases)
        if who != "the provincial operator":
            assert case.case_id in {c.case_id for c in listed.cases}, who
    for who, meta in refused.items():
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await m.GetCase(get, metadata=meta)
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND, who
        listed = await m.ListCases(mediation_pb2.ListCasesRequest(page={"page_size": 200}), metadata=meta)
        assert case.case_id not in {c.case_id for c in listed.cases}, who
    # The station's list holds its referrals only (checked against mediation's own table).
    mine = await m.ListCases(mediation_pb2.ListCasesRequest(page={"page_size": 200}),
                             metadata=allowed["the referring station"])
    listed = [c.case_id for c in mine.cases]
    conn = await asyncpg.connect(stack_env["LIANDIAO_DATABASE_URL"])
    try:
        others = await conn.fetchval("select count(*) from mediation.cases where case_id::text = any($1) "
                                     "and referring_org_id <> $2", listed, station)
        total = await conn.fetchval("select count(*) from mediation.cases where referring_org_id <> $1", station)
    finally:
        await conn.close()
    assert listed and others == 0 and total > 0   # other referrals exist, none of them listed


async def test_deliveries_are_read_by_the_region_and_by_whom_they_were_for(world):
    from liandiao.notification.v1 import notification_pb2

    stubs, prov = world
    case, _ = await open_police_case(stubs, prov, seed=9909)
    n = stubs["notification"]
    req = notification_pb2.ListDeliveriesRequest(dispute_id=case.dispute_id, page_size=100)
    mediator = token(Role.MEDIATOR, subject=case.mediator_id)

    async def told_the_mediator():
        got = await n.ListDeliveries(req, metadata=mediator)
        return got if any(d.recipient_id == case.mediator_id for d in got.deliveries) else None

    # The mediator reads their own messages and the parties' (issue 10), not the station's.
    mine = await eventually(told_the_mediator)
    assert {d.recipient_kind for d in mine.deliveries} <= {notification_pb2.RECIPIENT_KIND_MEDIATOR,
                                                           notification_pb2.RECIPIENT_KIND_PARTY}
    everything = await n.ListDeliveries(req, metadata=CLERK)
    assert any(d.recipient_kind == notification_pb2.RECIPIENT_KIND_POLICE_STATION for d in everything.deliveries)
    assert len(mine.deliveries) < len(everything.deliveries)
    for stranger in (token(Role.CLERK, organization_id="office-x", region_scope=("1504",)),
                     token(Role.MEDIATOR, subject="00000000-0000-7000-8000-00000000beef"),
                     token(Role.POLICE, organization_id="station-elsewhere")):
        assert not (await n.ListDeliveries(req, metadata=stranger)).deliveries
