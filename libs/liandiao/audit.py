"""The audit trail (issue 7): every read of personal data and every state change,
recorded with who (person or service, organization, role), through which method,
on which resource, when, and why where a rule requires a reason.

Each service keeps its trail in its own schema (the platform table ``audit_log``,
libs/liandiao/sql/0004_audit.sql), append-only: a trigger refuses UPDATE, DELETE and
TRUNCATE. A command records its entry on the connection of its own transaction, so
the change and its record commit together or not at all; a read records after it
found what it returns. The data centre's auditors read a service's trail through
``AuditService.ListAuditEntries`` (served by every service, AUDITOR role only),
paged and filtered in SQL."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import asyncpg

from liandiao.auth import Claims, Role
from liandiao.errors import FieldViolation, InvalidInput
from liandiao.rpc import paging

# The gRPC method being served (package.Service/Method), set by the server's
# interceptor, so that a use case records it without being told.
METHOD: contextvars.ContextVar[str] = contextvars.ContextVar("liandiao_method", default="")

POLICY = {"ListAuditEntries": frozenset({Role.AUDITOR})}


class Action(StrEnum):
    READ = "read"
    CHANGE = "change"


@dataclass(frozen=True)
class Entry:
    entry_id: int
    at: datetime
    actor: str
    organization_id: str
    role: str
    method: str
    action: str
    resource_kind: str
    resource_id: str
    region_code: str
    reason: str


_COLS = [f for f in Entry.__dataclass_fields__]


async def record(conn: asyncpg.Connection | asyncpg.Pool, caller: Claims, action: Action, resource_kind: str,
                 resource_ids: list[str] | str, region_code: str = "", reason: str = "",
                 method: str | None = None) -> None:
    """One entry per resource (a list read records each row it returned)."""
    ids = [resource_ids] if isinstance(resource_ids, str) else resource_ids
    if not ids:
        return
    await conn.executemany(
        """insert into audit_log (actor, organization_id, role, method, action, resource_kind, resource_id,
                                  region_code, reason) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        [(caller.subject, caller.organization_id, str(caller.role), method or METHOD.get(), str(action),
          resource_kind, rid, region_code, reason) for rid in ids])


@dataclass(frozen=True)
class Query:
    actor: str = ""
    organization_id: str = ""
    resource_kind: str = ""
    resource_id: str = ""
    action: str = ""
    at_from: datetime | None = None
    at_to: datetime | None = None
    region_prefix: str = ""
    page_size: int = 0
    page_token: str = ""


_MAX_TOKEN_DIGITS = 18   # an entry id: bigint


async def query(conn: asyncpg.Connection | asyncpg.Pool, q: Query) -> tuple[list[Entry], str]:
    """Entries newest first; the page token is the last entry id returned."""
    limit = paging.page_size(q.page_size)
    token = q.page_token
    if token and not (token.isascii() and token.isdigit() and len(token) <= _MAX_TOKEN_DIGITS):
        raise InvalidInput(FieldViolation("page.page_token", "is not a token from a previous page"))
    if q.at_from and q.at_to and q.at_from >= q.at_to:
        raise InvalidInput(FieldViolation("to", "must be after from"))
    clauses: list[str] = []
    args: list[Any] = []

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    for column, value in (("actor", q.actor), ("organization_id", q.organization_id),
                          ("resource_kind", q.resource_kind), ("resource_id", q.resource_id),
                          ("action", q.action)):
        if value:
            clauses.append(f"{column} = {arg(value)}")
    if q.at_from:
        clauses.append(f"at >= {arg(q.at_from)}")
    if q.at_to:
        clauses.append(f"at < {arg(q.at_to)}")
    prefix = paging.region_filter(q.region_prefix)
    if prefix:
        clauses.append(f"region_code like {arg(prefix + '%')}")
    if token:
        clauses.append(f"entry_id < {arg(int(token))}")
    where = f"where {' and '.join(clauses)}" if clauses else ""
    rows = await conn.fetch(f"select {', '.join(_COLS)} from audit_log {where} "
                            f"order by entry_id desc limit {arg(limit)}", *args)
    entries = [Entry(**r) for r in rows]
    return entries, str(entries[-1].entry_id) if len(entries) == limit else ""


def servicer(pool: asyncpg.Pool) -> Any:
    """The AuditService servicer every service registers for its own trail."""
    from liandiao.auditlog.v1 import auditlog_pb2 as pb
    from liandiao.auditlog.v1 import auditlog_pb2_grpc
    from liandiao.rpc.convert import aware, timestamp

    actions = {pb.AUDIT_ACTION_READ: Action.READ, pb.AUDIT_ACTION_CHANGE: Action.CHANGE}
    back = {v: k for k, v in actions.items()}

    class AuditApi(auditlog_pb2_grpc.AuditServiceServicer):
        async def ListAuditEntries(self, request, context):
            q = Query(actor=request.actor, organization_id=request.organization_id,
                      resource_kind=request.resource_kind, resource_id=request.resource_id,
                      action=str(actions.get(request.action, "")),
                      at_from=aware(getattr(request, "from"), "from") if request.HasField("from") else None,
                      at_to=aware(request.to, "to") if request.HasField("to") else None,
                      region_prefix=request.region_prefix, page_size=request.page.page_size,
                      page_token=request.page.page_token)
            entries, token = await query(pool, q)
            return pb.ListAuditEntriesResponse(entries=[pb.AuditEntry(
                entry_id=e.entry_id, at=timestamp(e.at), actor=e.actor, organization_id=e.organization_id,
                role=e.role, method=e.method, action=back.get(Action(e.action), pb.AUDIT_ACTION_UNSPECIFIED),
                resource_kind=e.resource_kind, resource_id=e.resource_id, region_code=e.region_code,
                reason=e.reason) for e in entries], next_page_token=token)

    return AuditApi()


def register(server: Any, pool: asyncpg.Pool) -> list[str]:
    from liandiao.auditlog.v1 import auditlog_pb2, auditlog_pb2_grpc
    auditlog_pb2_grpc.add_AuditServiceServicer_to_server(servicer(pool), server)
    return [auditlog_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name]
