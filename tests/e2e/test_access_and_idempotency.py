"""What callers may see and do, and that a retried registration is one dispute."""

from __future__ import annotations

import random
import time
import uuid

import asyncpg
import grpc
import pytest

from liandiao.auth import Claims, Role
from liandiao.common.v1 import common_pb2
from liandiao.confirmation.v1 import confirmation_pb2, confirmation_pb2_grpc
from liandiao.devtools import province
from liandiao.devtools.clients import channel, token
from liandiao.devtools.issuer import LocalIssuer, dev_issuer
from liandiao.intake.v1 import intake_pb2
from liandiao.routing.v1 import routing_pb2
from tests.e2e.support import CLERK, eventually

pytestmark = pytest.mark.e2e


async def test_calls_without_a_valid_token_are_refused(world):
    stubs, _ = world
    req = intake_pb2.GetDisputeRequest(dispute_id="00000000-0000-0000-0000-000000000000")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stubs["intake"].GetDispute(req)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    forged = (("authorization", "Bearer " + token(Role.OPERATOR)[0][1].split(" ")[1][:-4] + "AAAA"),)
    operator = Claims(subject="op", organization_id="dc", role=Role.OPERATOR, region_scope=("15",))
    elsewhere = LocalIssuer.generate(key_id="mallory-1")
    for bad, why in [(forged, "signature does not match"),
                     (bearer(elsewhere.issue(operator)), "unknown key"),
                     (bearer(dev_issuer().issue(operator, issuer="https://idp.elsewhere.example")), "another issuer"),
                     (bearer(dev_issuer().issue(operator, audience="another-system")), "audience"),
                     (bearer(dev_issuer().issue(operator, issued_at=int(time.time()) - 7200)), "expired")]:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stubs["intake"].GetDispute(req, metadata=bad)
        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED and why in raised.value.details(), why


async def test_a_service_identity_has_no_wildcard(world):
    """It used to skip the method policy and see every region."""
    stubs, _ = world
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stubs["intake"].ListDisputes(intake_pb2.ListDisputesRequest(), metadata=token(Role.SERVICE))
    # Under mutual TLS the gateway's connection carries no service token at all (UNAUTHENTICATED);
    # in plain text the method policy refuses it.
    assert raised.value.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)


def bearer(jwt: str) -> tuple[tuple[str, str]]:
    return (("authorization", "Bearer " + jwt),)


async def test_a_police_station_sees_the_disputes_it_referred_and_no_others(world):
    stubs, prov = world
    rng = random.Random(5)
    referred = province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_POLICE_REFERRAL)
    station = referred.police.station_org_id
    other = province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION)
    mine = (await stubs["intake"].RegisterDispute(referred, metadata=CLERK)).dispute
    theirs = (await stubs["intake"].RegisterDispute(other, metadata=CLERK)).dispute

    police = token(Role.POLICE, subject="officer-1", organization_id=station, region_scope=("15",))
    listed = await stubs["intake"].ListDisputes(intake_pb2.ListDisputesRequest(), metadata=police)
    ids = {d.dispute_id for d in listed.disputes}
    assert mine.dispute_id in ids and theirs.dispute_id not in ids
    assert all(d.referring_org_id == station for d in listed.disputes)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stubs["intake"].GetDispute(intake_pb2.GetDisputeRequest(dispute_id=theirs.dispute_id), metadata=police)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_clerk_outside_the_region_cannot_register_there(world):
    stubs, prov = world
    elsewhere = token(Role.CLERK, region_scope=("1504",))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stubs["intake"].RegisterDispute(province.dispute_request(random.Random(6), prov), metadata=elsewhere)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_retried_registration_is_the_same_dispute_and_one_event(world, stack_env):
    stubs, prov = world
    req = province.dispute_request(random.Random(8), prov)
    first = (await stubs["intake"].RegisterDispute(req, metadata=CLERK)).dispute
    again = (await stubs["intake"].RegisterDispute(req, metadata=CLERK)).dispute
    assert again.dispute_id == first.dispute_id
    conn = await asyncpg.connect(stack_env["LIANDIAO_DATABASE_URL"])
    try:
        events = await conn.fetchval("select count(*) from intake.outbox where headers->>'dispute-id' = $1 "
                                     "and event_type = 'intake.dispute-registered.v1'", first.dispute_id)
        stored = await conn.fetchrow("select id_number_enc, id_masked from intake.parties where dispute_id = $1 "
                                     "order by position limit 1", uuid.UUID(first.dispute_id))
    finally:
        await conn.close()
    assert events == 1
    # Personal data at rest is ciphertext, never the number itself.
    assert req.parties[0].id_document.number.encode() not in bytes(stored["id_number_enc"])
    assert stored["id_masked"].endswith(req.parties[0].id_document.number[-4:]) and "*" in stored["id_masked"]


async def test_refused_consent_never_reaches_routing(world):
    stubs, prov = world
    rng = random.Random(12)
    refused = (await stubs["intake"].RegisterDispute(province.dispute_request(rng, prov, refuse=True),
                                                     metadata=CLERK)).dispute
    control = (await stubs["intake"].RegisterDispute(province.dispute_request(rng, prov), metadata=CLERK)).dispute
    assert refused.status == intake_pb2.DISPUTE_STATUS_REFUSED
    # Once routing has placed a dispute registered after it, the refused one is still unknown there.
    await eventually(lambda: stubs["routing"].GetAssignment(
        routing_pb2.GetAssignmentRequest(dispute_id=control.dispute_id), metadata=CLERK))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stubs["routing"].GetAssignment(routing_pb2.GetAssignmentRequest(dispute_id=refused.dispute_id),
                                             metadata=CLERK)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_mediator_cannot_answer_someone_elses_offer(world):
    stubs, prov = world
    req = province.dispute_request(random.Random(21), prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION)
    d = (await stubs["intake"].RegisterDispute(req, metadata=CLERK)).dispute
    offer = await eventually(lambda: stubs["routing"].GetAssignment(
        routing_pb2.GetAssignmentRequest(dispute_id=d.dispute_id), metadata=CLERK))
    stranger = token(Role.MEDIATOR, subject="someone-else")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stubs["routing"].AcceptAssignment(routing_pb2.AcceptAssignmentRequest(
            dispute_id=d.dispute_id, mediator_id=offer.mediator_id), metadata=stranger)
    # Another mediator may not even see the offer (liandiao.access): NOT_FOUND, not its data.
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_confirmation_names_what_an_empty_application_lacks(services):
    async with channel(services.address("confirmation")) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await confirmation_pb2_grpc.ConfirmationServiceStub(ch).Apply(confirmation_pb2.ApplyRequest(),
                                                                        metadata=CLERK)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "agreement_id: required" in raised.value.details() and "court_org_id: required" in raised.value.details()
