"""The audit trail (issue 7): reads of personal data and state changes are recorded
(who, organization, role, method, resource, when), a change in its own transaction,
append-only, and readable by auditors only, paged and filtered."""

from __future__ import annotations

import random
import uuid

import asyncpg
import grpc
import pytest

from liandiao import audit
from liandiao.auditlog.v1 import auditlog_pb2, auditlog_pb2_grpc
from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.devtools import province
from liandiao.devtools.clients import channel, token
from liandiao.intake.v1 import intake_pb2
from tests.e2e.support import CLERK
from tests.security.methods import identity_channel

pytestmark = pytest.mark.e2e
AUDITOR = token(Role.AUDITOR, subject="auditor-1", organization_id="data-centre")


async def test_reads_and_changes_are_recorded_and_only_auditors_read_them(world, services):
    stubs, prov = world
    req = province.dispute_request(random.Random(701), prov)
    clerk = token(Role.CLERK, subject="clerk-701", organization_id="office-701", region_scope=("15",))
    d = (await stubs["intake"].RegisterDispute(req, metadata=clerk)).dispute
    await stubs["intake"].GetDispute(intake_pb2.GetDisputeRequest(dispute_id=d.dispute_id), metadata=clerk)
    async with channel(services.address("intake")) as ch:
        trail = auditlog_pb2_grpc.AuditServiceStub(ch)
        got = await trail.ListAuditEntries(auditlog_pb2.ListAuditEntriesRequest(resource_id=d.dispute_id),
                                           metadata=AUDITOR)
        seen = [(e.actor, e.organization_id, e.role, e.method, e.action) for e in reversed(got.entries)]
        assert seen == [
            ("clerk-701", "office-701", "clerk", "liandiao.intake.v1.IntakeService/RegisterDispute",
             auditlog_pb2.AUDIT_ACTION_CHANGE),
            ("clerk-701", "office-701", "clerk", "liandiao.intake.v1.IntakeService/GetDispute",
             auditlog_pb2.AUDIT_ACTION_READ)]
        assert all(e.region_code == d.region_code and e.at.seconds > 0 for e in got.entries)
        # Filtered and paged in the query: one entry a page, by actor.
        first = await trail.ListAuditEntries(auditlog_pb2.ListAuditEntriesRequest(
            actor="clerk-701", page=common_pb2.PageRequest(page_size=1)), metadata=AUDITOR)
        second = await trail.ListAuditEntries(auditlog_pb2.ListAuditEntriesRequest(
            actor="clerk-701", page=common_pb2.PageRequest(page_size=1, page_token=first.next_page_token)),
            metadata=AUDITOR)
        assert [e.method.rsplit("/")[-1] for e in (*first.entries, *second.entries)] == ["GetDispute",
                                                                                        "RegisterDispute"]
        for who in (CLERK, token(Role.OPERATOR)):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await trail.ListAuditEntries(auditlog_pb2.ListAuditEntriesRequest(), metadata=who)
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # Another service, over its own certificate (a service token must match it), is refused too.
        async with identity_channel(services, "intake", "routing") as routing_ch:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await auditlog_pb2_grpc.AuditServiceStub(routing_ch).ListAuditEntries(
                    auditlog_pb2.ListAuditEntriesRequest(), metadata=token(Role.SERVICE, subject="routing"))
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # An auditor reads the trail and nothing else.
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stubs["intake"].GetDispute(intake_pb2.GetDisputeRequest(dispute_id=d.dispute_id), metadata=AUDITOR)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_the_trail_is_append_only(stack_env, services):
    conn = await asyncpg.connect(stack_env["LIANDIAO_DATABASE_URL"], server_settings={"search_path": "intake"})
    try:
        await conn.execute("insert into audit_log (actor, organization_id, role, method, action, resource_kind, "
                           "resource_id) values ('t', 'o', 'clerk', 'm', 'read', 'dispute', $1)", str(uuid.uuid4()))
        for statement in ("update audit_log set actor = 'someone-else'", "delete from audit_log",
                          "truncate audit_log"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_a_bad_page_token_is_invalid_argument(services):
    async with channel(services.address("personnel")) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await auditlog_pb2_grpc.AuditServiceStub(ch).ListAuditEntries(auditlog_pb2.ListAuditEntriesRequest(
                page=common_pb2.PageRequest(page_token="abc")), metadata=AUDITOR)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert audit.POLICY == {"ListAuditEntries": frozenset({Role.AUDITOR})}
