"""The audit trail beyond intake and personnel (issue 7): routing, mediation, confirmation
and notification record each command with the caller who made it and each resource a
read showed, readable through every service's AuditService by auditors only."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import grpc
import pytest

from liandiao.auditlog.v1 import auditlog_pb2, auditlog_pb2_grpc
from liandiao.auth import Role
from liandiao.confirmation.v1 import confirmation_pb2 as cpb
from liandiao.devtools.clients import channel, token
from liandiao.mediation.v1 import mediation_pb2
from liandiao.notification.v1 import notification_pb2
from liandiao.routing.v1 import routing_pb2
from tests.e2e.support import CLERK, OPERATOR, eventually
from tests.e2e.test_confirmation_flow import COMMITTEE, JUDGE, NOW, _apply, _effective, confirmation  # noqa: F401
from tests.e2e.test_mediation_access import open_police_case
from tests.security.test_audit import AUDITOR

pytestmark = pytest.mark.e2e
CHANGE, READ = auditlog_pb2.AUDIT_ACTION_CHANGE, auditlog_pb2.AUDIT_ACTION_READ


async def trail(services, service: str, resource_id: str) -> list[tuple[str, str, str, int, str]]:
    """(actor, role, method, action, resource kind) of a resource's entries in ``service``'s
    trail, oldest first."""
    async with channel(services.address(service)) as ch:
        got = await auditlog_pb2_grpc.AuditServiceStub(ch).ListAuditEntries(
            auditlog_pb2.ListAuditEntriesRequest(resource_id=resource_id), metadata=AUDITOR)
    return [(e.actor, e.role, e.method.rsplit("/")[-1], e.action, e.resource_kind) for e in reversed(got.entries)]


async def refused_to(services, service: str, who) -> grpc.StatusCode:
    async with channel(services.address(service)) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await auditlog_pb2_grpc.AuditServiceStub(ch).ListAuditEntries(auditlog_pb2.ListAuditEntriesRequest(),
                                                                          metadata=who)
    return refused.value.code()


async def _sent(stubs, listing):
    got = (await stubs["notification"].ListDeliveries(listing, metadata=CLERK)).deliveries
    done = {notification_pb2.DELIVERY_STATUS_SENT, notification_pb2.DELIVERY_STATUS_DELIVERED}
    return got if got and all(d.status in done for d in got) else None


async def test_routing_mediation_and_notification_record_commands_and_reads(world, services, stack_env):
    stubs, prov = world
    case, _ = await open_police_case(stubs, prov, seed=7707)   # the mediator accepts; the operator reads the case
    mediator = token(Role.MEDIATOR, subject=case.mediator_id)
    await stubs["routing"].GetAssignment(routing_pb2.GetAssignmentRequest(dispute_id=case.dispute_id), metadata=CLERK)
    routed = await trail(services, "routing", case.dispute_id)
    assert (case.mediator_id, "mediator", "AcceptAssignment", CHANGE, "assignment") in routed
    assert routed[-1] == ("demo", "clerk", "GetAssignment", READ, "assignment")

    await stubs["mediation"].PostMessage(mediation_pb2.PostMessageRequest(
        case_id=case.case_id, party_id=case.parties[0].party_id, text="下周二上午调解"), metadata=mediator)
    listed = await stubs["mediation"].ListCases(mediation_pb2.ListCasesRequest(mediator_id=case.mediator_id),
                                                metadata=mediator)
    assert case.case_id in {c.case_id for c in listed.cases}
    mediated = await trail(services, "mediation", case.case_id)
    assert ("demo", "operator", "GetCase", READ, "case") in mediated
    assert mediated[-2:] == [(case.mediator_id, "mediator", "PostMessage", CHANGE, "case"),
                             (case.mediator_id, "mediator", "ListCases", READ, "case")]

    # The clerk's list: one read per delivery shown; one of them failed, resent by the operator: a change.
    listing = notification_pb2.ListDeliveriesRequest(dispute_id=case.dispute_id, page_size=100)
    shown = await eventually(lambda: _sent(stubs, listing))
    for d in shown:
        assert (await trail(services, "notification", d.delivery_id))[-1][2:] == ("ListDeliveries", READ, "delivery")
    failed = shown[0].delivery_id
    conn = await asyncpg.connect(stack_env["LIANDIAO_DATABASE_URL"])
    try:
        await conn.execute("update notification.deliveries set status = 'failed' where delivery_id = $1::uuid",
                           failed)
    finally:
        await conn.close()
    await stubs["notification"].ResendDelivery(notification_pb2.ResendDeliveryRequest(delivery_id=failed),
                                               metadata=OPERATOR)
    assert (await trail(services, "notification", failed))[-1] == ("demo", "operator", "ResendDelivery", CHANGE,
                                                                   "delivery")

    for service in ("routing", "mediation", "notification"):
        for who in (CLERK, mediator, OPERATOR):
            assert await refused_to(services, service, who) == grpc.StatusCode.PERMISSION_DENIED


async def test_confirmation_records_the_application_and_its_reads(confirmation, services):  # noqa: F811
    stub, writer = confirmation
    a = await _effective(writer, NOW - timedelta(days=3))
    filed = await stub.Apply(_apply(a), metadata=COMMITTEE)
    await stub.GetApplication(cpb.GetApplicationRequest(application_id=filed.application_id), metadata=JUDGE)
    await stub.AcceptApplication(cpb.AcceptApplicationRequest(application_id=filed.application_id), metadata=JUDGE)
    assert await trail(services, "confirmation", filed.application_id) == [
        ("clerk-dalin", "clerk", "Apply", CHANGE, "application"),
        ("judge-horqin", "judge", "GetApplication", READ, "application"),
        ("judge-horqin", "judge", "AcceptApplication", CHANGE, "application")]
    for who in (COMMITTEE, JUDGE, OPERATOR):
        assert await refused_to(services, "confirmation", who) == grpc.StatusCode.PERMISSION_DENIED
