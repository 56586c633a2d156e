"""Mediation use cases. Issue 2 scope: open a case on the mediator's acceptance
with its statutory deadline, and read cases. Sessions, agreements and
terminations are declared in the contract and answer UNIMPLEMENTED until built."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg

from liandiao import access, telemetry
from liandiao.auth import Claims
from liandiao.errors import FieldViolation, InvalidInput
from liandiao.events.consumer import ConsumedEvent
from liandiao.ids import prefecture_of
from liandiao.legaltime import HolidayCalendar, load_calendar
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc.convert import aware
from liandiao.rpc.enums import CASE_SOURCE, COURT_PROCEDURE
from liandiao.rpc.paging import region_filter
from liandiao.uuid7 import uuid7
from services.mediation import access as case_access
from services.mediation.domain.rules import case_deadline

SOURCE, PROCEDURE = CASE_SOURCE, COURT_PROCEDURE


@dataclass(frozen=True)
class CaseRow:
    case_id: UUID
    dispute_id: UUID
    region_code: str
    dispute_type: str
    source: str
    court_procedure: str
    mediator_id: str
    organization_id: str
    referring_org_id: str
    status: str
    opened_at: datetime
    period_name: str
    period_source: str
    deadline_last_day: date
    deadline_at: datetime
    deadline_provisional: bool
    parties: bytes
    trace_parent: str


_COLS = list(CaseRow.__dataclass_fields__)


class Mediation:
    def __init__(self, pool: asyncpg.Pool, peoples_mediation_days: int | None = None,
                 calendar: HolidayCalendar | None = None):
        self.pool = pool
        self.calendar = (calendar or load_calendar()).with_weekend_fallback()
        self.peoples_mediation_days = peoples_mediation_days

    async def on_dispute_assigned(self, conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        a: routing_pb2.DisputeAssigned = event.payload
        accepted_at = aware(a.accepted_at)
        source, procedure = SOURCE.to_domain(a.source) or "", PROCEDURE.to_domain(a.court_procedure) or ""
        due = case_deadline(accepted_at, source, procedure, self.calendar, self.peoples_mediation_days)
        parties = routing_pb2.DisputeAssigned(parties=a.parties).SerializeToString()
        row = CaseRow(uuid7(), UUID(a.dispute_id), a.region_code, a.dispute_type, source, procedure, a.mediator_id,
                      a.organization_id, a.referring_org_id, "open", accepted_at, due.period.name, due.period.source,
                      due.last_day, due.expires_at, due.provisional, parties, event.envelope.traceparent)
        inserted = await conn.fetchval(
            f"insert into cases ({', '.join(_COLS)}) values ({', '.join(f'${i + 1}' for i in range(len(_COLS)))}) "
            "on conflict (dispute_id) do nothing returning true", *(getattr(row, c) for c in _COLS))
        if inserted:
            telemetry.BUSINESS.labels("mediation", "case_opened", prefecture_of(a.region_code), a.dispute_type).inc()

    async def recompute_provisional_deadlines(self) -> int:
        """Deadlines counted across a year whose holiday schedule was missing are counted
        again with the calendar loaded now (operators load next year's schedule and
        restart). Returns how many changed. The clock's start is unchanged: the mediator's
        acceptance (SPC-Invited Art.27)."""
        changed = 0
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """select case_id, opened_at, source, court_procedure, deadline_last_day from cases
                   where deadline_provisional and status = 'open' for update skip locked""")
            for r in rows:
                due = case_deadline(r["opened_at"], r["source"], r["court_procedure"], self.calendar,
                                    self.peoples_mediation_days)
                if due.provisional:
                    continue
                await conn.execute(
                    """update cases set deadline_last_day = $2, deadline_at = $3, deadline_provisional = false
                       where case_id = $1""", r["case_id"], due.last_day, due.expires_at)
                changed += 1
        return changed

    async def get(self, caller: Claims, case_id: str = "", dispute_id: str = "") -> CaseRow:
        column, value = ("case_id", case_id) if case_id else ("dispute_id", dispute_id)
        try:
            key = UUID(value)
        except ValueError:
            raise InvalidInput(FieldViolation(column, "is not a UUID" if value else "give case_id or dispute_id")) from None
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(f"select {', '.join(_COLS)} from cases where {column} = $1", key)
        found = CaseRow(**row) if row is not None else None
        access.check_see(case_access.CASE, caller, found and case_access.facts(
            found.region_code, found.organization_id, found.referring_org_id, found.mediator_id),
            f"case for {column} {value}")
        assert found is not None
        return found

    async def list(self, caller: Claims, mediator_id: str, region_prefix: str, status: str, limit: int,
                   offset: int) -> list[CaseRow]:
        """The cases ``caller`` may see (filtered in SQL by the access policy), newest first."""
        region_prefix = region_filter(region_prefix)
        visible, params = access.visible_sql(case_access.CASE, caller, case_access.COLUMNS, 6,
                                             region_prefix=region_prefix)
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"""select {', '.join(_COLS)} from cases
                    where ($1 = '' or mediator_id = $1) and region_code like $2 || '%' and ($3 = '' or status = $3)
                      and {visible}
                    order by opened_at desc, case_id limit $4 offset $5""",
                mediator_id, region_prefix, status, limit, offset, *params)
        return [CaseRow(**r) for r in rows]
