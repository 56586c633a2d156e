"""Routing across the running services: a court delegation placed by the parties'
joint choice, an online application placed by the rules, and a roster that
survives a routing restart while personnel is down."""

from __future__ import annotations

import random

import grpc
import pytest

from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.devtools import province
from liandiao.devtools.clients import token
from liandiao.intake.v1 import intake_pb2
from liandiao.mediation.v1 import mediation_pb2
from liandiao.personnel.v1 import personnel_pb2
from liandiao.routing.v1 import routing_pb2
from tests.e2e.support import CLERK, OPERATOR, eventually

pytestmark = pytest.mark.e2e


async def assignment(stubs, dispute_id: str, status: int):
    async def probe():
        a = await stubs["routing"].GetAssignment(routing_pb2.GetAssignmentRequest(dispute_id=dispute_id),
                                                 metadata=CLERK)
        return a if a.status == status else None
    return await eventually(probe)


async def accept_and_open(stubs, a: routing_pb2.Assignment) -> mediation_pb2.Case:
    await stubs["routing"].AcceptAssignment(routing_pb2.AcceptAssignmentRequest(
        dispute_id=a.dispute_id, mediator_id=a.mediator_id), metadata=token(Role.MEDIATOR, subject=a.mediator_id))
    return await eventually(lambda: stubs["mediation"].GetCase(
        mediation_pb2.GetCaseRequest(dispute_id=a.dispute_id), metadata=OPERATOR))


async def test_court_delegation_waits_for_the_parties_choice_then_runs_30_days(world):
    stubs, prov = world
    req = province.dispute_request(random.Random(31), prov, source=common_pb2.CASE_SOURCE_COURT_DELEGATION)
    court = token(Role.COURT, organization_id=req.court.court_org_id, region_scope=("15",))  # the delegating court
    d = (await stubs["intake"].RegisterDispute(req, metadata=court)).dispute
    waiting = await assignment(stubs, d.dispute_id, routing_pb2.ASSIGNMENT_STATUS_AWAITING_CHOICE)
    assert waiting.choose_by.source == "SPC-Online Art.10"

    # The parties pick, together, a mediator who covers their county and handles the type.
    eligible = await stubs["personnel"].FindEligibleMediators(personnel_pb2.FindEligibleMediatorsRequest(
        region_code=d.region_code, dispute_type=d.dispute_type), metadata=CLERK)
    assert eligible.mediators, "the seeded roster has somebody for this dispute"
    chosen = eligible.mediators[-1].person_id
    picked = await stubs["routing"].RecordPartiesChoice(routing_pb2.RecordPartiesChoiceRequest(
        dispute_id=d.dispute_id, mediator_id=chosen, agreed_party_ids=[p.party_id for p in d.parties]),
        metadata=court)
    assert picked.status == routing_pb2.ASSIGNMENT_STATUS_OFFERED and picked.mediator_id == chosen
    assert "joint choice" in picked.reason

    case = await accept_and_open(stubs, picked)
    assert case.deadline.period_name == "delegated_pre_filing_mediation"
    assert case.deadline.source.startswith("SPC-Invited Art.27")


async def test_online_application_is_placed_by_the_rules(world):
    stubs, prov = world
    req = province.dispute_request(random.Random(32), prov, source=common_pb2.CASE_SOURCE_ONLINE)
    d = (await stubs["intake"].RegisterDispute(req, metadata=CLERK)).dispute
    assert d.source == common_pb2.CASE_SOURCE_ONLINE
    offer = await assignment(stubs, d.dispute_id, routing_pb2.ASSIGNMENT_STATUS_OFFERED)
    assert offer.reason.startswith("covers ")
    case = await accept_and_open(stubs, offer)
    assert case.deadline.period_name == "peoples_mediation"


async def test_routing_places_disputes_after_a_restart_while_personnel_is_down(world, services):
    stubs, prov = world
    services.stop("personnel", "routing")
    try:
        services.start("routing")
        await services.wait_serving(timeout=60)
        req = province.dispute_request(random.Random(33), prov)
        d = (await stubs["intake"].RegisterDispute(req, metadata=CLERK)).dispute
        assert d.status == intake_pb2.DISPUTE_STATUS_REGISTERED
        offer = await assignment(stubs, d.dispute_id, routing_pb2.ASSIGNMENT_STATUS_OFFERED)
        assert offer.mediator_id in prov.mediators
    finally:
        services.start("personnel")
        await services.wait_serving(timeout=60)


async def test_a_clerk_can_call_a_joint_consultation_for_a_cross_agency_dispute(world):
    stubs, prov = world
    d = (await stubs["intake"].RegisterDispute(province.dispute_request(random.Random(34), prov),
                                               metadata=CLERK)).dispute
    await assignment(stubs, d.dispute_id, routing_pb2.ASSIGNMENT_STATUS_OFFERED)
    police = token(Role.POLICE, organization_id=prov.counties[0].police_station)
    called = await stubs["routing"].CallConsultation(routing_pb2.CallConsultationRequest(
        dispute_id=d.dispute_id, reason="cross-agency: a brawl reported to the police over a land boundary"),
        metadata=police)
    assert called.status == routing_pb2.CONSULTATION_STATUS_CALLED
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stubs["routing"].RecordConsultationPlan(routing_pb2.RecordConsultationPlanRequest(
            dispute_id=d.dispute_id, plan=""), metadata=police)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
