"""Routing under the one access policy (issue 7): a clerk of one prefecture used to
reassign and accept offers of another; GetAssignment, Accept and Reassign checked no
region and no relation. Now a caller who may not see an assignment gets NOT_FOUND, one
who may see but not act PERMISSION_DENIED, and the right people still get through."""

from __future__ import annotations

import random

import grpc
import pytest

from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.devtools import province
from liandiao.devtools.clients import token
from liandiao.routing.v1 import routing_pb2
from tests.e2e.support import CLERK, register_until_offered

pytestmark = pytest.mark.e2e


async def refused(call, code: grpc.StatusCode) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    assert raised.value.code() == code, raised.value.details()


async def test_assignments_are_seen_and_answered_only_by_who_the_policy_allows(world):
    stubs, prov = world
    r = stubs["routing"]
    rng = random.Random(7707)
    # Earlier tests change the roster (removals, relations, workload) and may have registered
    # the same parties (a registration is then linked to their open dispute): register police
    # referrals until one is freshly offered to a mediator, as a clerk would see on the queue.
    req, d, offer = await register_until_offered(
        stubs, lambda: province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_POLICE_REFERRAL))
    get = routing_pb2.GetAssignmentRequest(dispute_id=d.dispute_id)
    other_prefecture = token(Role.CLERK, organization_id="office-x", region_scope=("1504",))
    other_station = token(Role.POLICE, organization_id="station-elsewhere", region_scope=("15",))
    the_station = token(Role.POLICE, organization_id=req.police.station_org_id, region_scope=("15",))
    another_mediator = token(Role.MEDIATOR, subject="00000000-0000-7000-8000-000000000001", region_scope=("15",))
    the_mediator = token(Role.MEDIATOR, subject=offer.mediator_id, region_scope=("15",))
    accept = routing_pb2.AcceptAssignmentRequest(dispute_id=d.dispute_id, mediator_id=offer.mediator_id)
    reassign = routing_pb2.ReassignRequest(dispute_id=d.dispute_id, reason="the clerk of another prefecture")

    # Not theirs to see: NOT_FOUND, nothing of the dispute in the answer.
    for caller in (other_prefecture, other_station, another_mediator):
        await refused(r.GetAssignment(get, metadata=caller), grpc.StatusCode.NOT_FOUND)
    await refused(r.AcceptAssignment(accept, metadata=other_prefecture), grpc.StatusCode.NOT_FOUND)
    await refused(r.AcceptAssignment(accept, metadata=another_mediator), grpc.StatusCode.NOT_FOUND)
    await refused(r.Reassign(reassign, metadata=other_prefecture), grpc.StatusCode.NOT_FOUND)
    # The referring station sees its referral's assignment but cannot direct it.
    assert (await r.GetAssignment(get, metadata=the_station)).mediator_id == offer.mediator_id
    await refused(r.Reassign(reassign, metadata=the_station), grpc.StatusCode.PERMISSION_DENIED)
    # Nothing above changed the offer; the offered mediator answers it.
    assert (await r.GetAssignment(get, metadata=CLERK)).offer_round == offer.offer_round
    accepted = await r.AcceptAssignment(accept, metadata=the_mediator)
    assert accepted.status == routing_pb2.ASSIGNMENT_STATUS_ACCEPTED
