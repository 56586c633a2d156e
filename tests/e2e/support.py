"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from liandiao.auth import Role
from liandiao.devtools.clients import token
from liandiao.mediation.v1 import mediation_pb2
from liandiao.routing.v1 import routing_pb2

CLERK = token(Role.CLERK, region_scope=("15",))
OPERATOR = token(Role.OPERATOR, region_scope=("15",))


async def eventually(probe, timeout: float = 30.0, interval: float = 0.2):
    """Calls ``probe`` until it returns something truthy; fails with its last error."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = await probe()
            if result:
                return result
        except grpc.aio.AioRpcError as exc:
            last = exc
        await asyncio.sleep(interval)
    pytest.fail(f"not reached within {timeout}s (last: {last})")


async def placed(stubs, dispute_id: str, metadata=CLERK, timeout: float = 30.0):
    """The dispute's assignment once routing has placed it (offered, unassigned, awaiting choice)."""
    async def probe():
        a = await stubs["routing"].GetAssignment(routing_pb2.GetAssignmentRequest(dispute_id=dispute_id),
                                                 metadata=metadata)
        return a if a.status != routing_pb2.ASSIGNMENT_STATUS_UNSPECIFIED else None
    return await eventually(probe, timeout=timeout)


async def register_until_offered(stubs, requests, tries: int = 8):
    """Registers the requests ``requests()`` draws, one after another, until routing offers one to a
    mediator: (request, dispute, offer). A drawn dispute type may have no mediator on duty where it
    arose (the seed's specialties are random draws, and earlier tests change the roster); routing
    then leaves it unassigned for a clerk, which is right, but not what these tests are about."""
    for _ in range(tries):
        req = requests()
        d = (await stubs["intake"].RegisterDispute(req, metadata=CLERK)).dispute
        offer = await placed(stubs, d.dispute_id)
        if offer.status == routing_pb2.ASSIGNMENT_STATUS_OFFERED:
            return req, d, offer
    pytest.fail(f"none of {tries} registrations was offered to a mediator (last: {offer})")


async def accept(stubs, dispute_id: str, offer):
    """The offered mediator accepts; the case mediation opens from it."""
    await stubs["routing"].AcceptAssignment(routing_pb2.AcceptAssignmentRequest(
        dispute_id=dispute_id, mediator_id=offer.mediator_id), metadata=token(Role.MEDIATOR, subject=offer.mediator_id))
    return await eventually(lambda: stubs["mediation"].GetCase(
        mediation_pb2.GetCaseRequest(dispute_id=dispute_id), metadata=OPERATOR))
