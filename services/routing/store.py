"""Routing's SQL: its own schema only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg

from services.routing.domain.rules import Mediator


@dataclass(frozen=True)
class AssignmentRow:
    dispute_id: UUID
    assignment_id: UUID
    status: str
    mediator_id: UUID | None
    organization_id: str
    offer_round: int
    offered_at: datetime
    respond_by: datetime | None
    respond_by_last_day: date | None
    respond_by_provisional: bool
    accepted_at: datetime | None
    reason: str
    choose_by: datetime | None = None
    choose_by_last_day: date | None = None
    choose_by_provisional: bool = False


_A = list(AssignmentRow.__dataclass_fields__)


async def upsert_mediator(conn: asyncpg.Connection, row: dict) -> None:
    """Newer versions win; an older event arriving late changes nothing."""
    await conn.execute(
        """insert into mediators (person_id, name, organization_id, roles, specialties, languages, region_codes,
                                  roster_status, on_duty, updated_at, relations)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           on conflict (person_id) do update set
               name = excluded.name, organization_id = excluded.organization_id, roles = excluded.roles,
               specialties = excluded.specialties, languages = excluded.languages,
               region_codes = excluded.region_codes, roster_status = excluded.roster_status,
               on_duty = excluded.on_duty, updated_at = excluded.updated_at, relations = excluded.relations
           where mediators.updated_at < excluded.updated_at""",
        row["person_id"], row["name"], row["organization_id"], row["roles"], row["specialties"],
        row["languages"], row["region_codes"], row["roster_status"], row["on_duty"], row["updated_at"], row["relations"],
    )


async def mediators_for(conn: asyncpg.Connection, dispute_type: str, region_chain: list[str]) -> list[Mediator]:
    rows = await conn.fetch(
        """select person_id, name, organization_id, specialties, languages, region_codes, roster_status, on_duty,
                  relations
           from mediators where 'mediator' = any(roles) and $1 = any(specialties) and region_codes && $2::text[]""",
        dispute_type, region_chain)
    return [_mediator(r) for r in rows]


def _mediator(r: asyncpg.Record) -> Mediator:
    return Mediator(person_id=str(r["person_id"]), name=r["name"], organization_id=r["organization_id"],
                    specialties=frozenset(r["specialties"]), languages=frozenset(r["languages"]),
                    region_codes=frozenset(r["region_codes"]), active=r["roster_status"] == "active",
                    on_duty=r["on_duty"], relations=frozenset(r["relations"]))


async def mediator_name(conn: asyncpg.Connection, person_id: UUID) -> str:
    return await conn.fetchval("select name from mediators where person_id = $1", person_id) or ""


async def open_cases(conn: asyncpg.Connection, mediator_ids: list[str]) -> dict[str, int]:
    rows = await conn.fetch(
        """select mediator_id, count(*) as n from assignments
           where status in ('offered', 'accepted') and case_ended_at is null and mediator_id = any($1::uuid[])
           group by mediator_id""",
        mediator_ids)
    return {str(r["mediator_id"]): r["n"] for r in rows}


async def end_case(conn: asyncpg.Connection, dispute_id: UUID, at: datetime) -> None:
    """The case of the dispute's accepted assignment ended; the first ending counts."""
    await conn.execute("update assignments set case_ended_at = $2 where dispute_id = $1 and case_ended_at is null",
                       dispute_id, at)


async def insert_dispute(conn: asyncpg.Connection, dispute_id: UUID, region_code: str, dispute_type: str,
                         payload: bytes, trace_parent: str, registered_at: datetime) -> bool:
    return bool(await conn.fetchval(
        """insert into disputes (dispute_id, region_code, dispute_type, payload, trace_parent, registered_at)
           values ($1, $2, $3, $4, $5, $6) on conflict do nothing returning true""",
        dispute_id, region_code, dispute_type, payload, trace_parent, registered_at))


async def get_dispute(conn: asyncpg.Connection, dispute_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from disputes where dispute_id = $1", dispute_id)


async def get_assignment(conn: asyncpg.Connection, dispute_id: UUID, *, for_update: bool = False) -> AssignmentRow | None:
    lock = " for update" if for_update else ""
    row = await conn.fetchrow(f"select {', '.join(_A)} from assignments where dispute_id = $1{lock}", dispute_id)
    return AssignmentRow(**row) if row else None


async def save_assignment(conn: asyncpg.Connection, a: AssignmentRow) -> None:
    cols = ", ".join(_A)
    marks = ", ".join(f"${i + 1}" for i in range(len(_A)))
    updates = ", ".join(f"{c} = excluded.{c}" for c in _A if c != "dispute_id")
    await conn.execute(f"insert into assignments ({cols}) values ({marks}) on conflict (dispute_id) do update set {updates}",
                       *(getattr(a, c) for c in _A))


async def record_offer(conn: asyncpg.Connection, dispute_id: UUID, offer_round: int, mediator_id: UUID,
                       offered_at: datetime) -> None:
    await conn.execute("insert into offers (dispute_id, offer_round, mediator_id, offered_at) values ($1, $2, $3, $4)",
                       dispute_id, offer_round, mediator_id, offered_at)


async def close_offer(conn: asyncpg.Connection, dispute_id: UUID, offer_round: int, outcome: str, at: datetime,
                      reason: str = "") -> None:
    await conn.execute(
        "update offers set outcome = $3, outcome_at = $4, reason = $5 where dispute_id = $1 and offer_round = $2",
        dispute_id, offer_round, outcome, at, reason)


async def offered_before(conn: asyncpg.Connection, dispute_id: UUID) -> set[str]:
    return {str(r["mediator_id"]) for r in await conn.fetch("select mediator_id from offers where dispute_id = $1",
                                                            dispute_id)}


async def lock_due(conn: asyncpg.Connection, now: datetime, limit: int = 100) -> list[tuple[UUID, str]]:
    """Offers past their answer deadline and choice windows past their end, locked."""
    rows = await conn.fetch(
        """select dispute_id, status from assignments
           where (status = 'offered' and respond_by <= $1) or (status = 'awaiting_choice' and choose_by <= $1)
           order by coalesce(respond_by, choose_by) limit $2 for update skip locked""", now, limit)
    return [(r["dispute_id"], r["status"]) for r in rows]


async def kept_after_disclosure(conn: asyncpg.Connection, dispute_id: UUID) -> set[str]:
    rows = await conn.fetch("select mediator_id from kept_after_disclosure where dispute_id = $1", dispute_id)
    return {str(r["mediator_id"]) for r in rows}


async def keep_after_disclosure(conn: asyncpg.Connection, dispute_id: UUID, mediator_id: UUID, disclosure: str,
                                agreed: list[str], at: datetime) -> None:
    await conn.execute(
        """insert into kept_after_disclosure (dispute_id, mediator_id, disclosure, agreed_party_ids, recorded_at)
           values ($1, $2, $3, $4, $5) on conflict (dispute_id, mediator_id) do update
           set disclosure = excluded.disclosure, agreed_party_ids = excluded.agreed_party_ids,
               recorded_at = excluded.recorded_at""", dispute_id, mediator_id, disclosure, agreed, at)


async def mediator(conn: asyncpg.Connection, person_id: UUID) -> Mediator | None:
    rows = await conn.fetch(
        """select person_id, name, organization_id, specialties, languages, region_codes, roster_status, on_duty,
                  relations from mediators where person_id = $1 and 'mediator' = any(roles)""", person_id)
    return [_mediator(r) for r in rows][0] if rows else None


@dataclass(frozen=True)
class ConsultationRow:
    dispute_id: UUID
    status: str
    reasons: list[str]
    called_by: str
    called_at: datetime
    participant_org_ids: list[str]
    plan: str
    lead_mediator_id: str
    co_mediator_ids: list[str]
    planned_at: datetime | None


_C = list(ConsultationRow.__dataclass_fields__)


async def call_consultation(conn: asyncpg.Connection, dispute_id: UUID, reasons: list[str], called_by: str,
                            at: datetime) -> bool:
    """False when one was called already (the reasons are added to it)."""
    fresh = await conn.fetchval(
        """insert into consultations (dispute_id, status, reasons, called_by, called_at)
           values ($1, 'called', $2, $3, $4) on conflict (dispute_id) do nothing returning true""",
        dispute_id, reasons, called_by, at)
    if not fresh:
        await conn.execute("""update consultations set reasons = reasons || $2 where dispute_id = $1""",
                           dispute_id, reasons)
    return bool(fresh)


async def get_consultation(conn: asyncpg.Connection, dispute_id: UUID, *, for_update: bool = False
                           ) -> ConsultationRow | None:
    lock = " for update" if for_update else ""
    row = await conn.fetchrow(f"select {', '.join(_C)} from consultations where dispute_id = $1{lock}", dispute_id)
    return ConsultationRow(**row) if row else None


async def save_plan(conn: asyncpg.Connection, c: ConsultationRow) -> None:
    await conn.execute(
        """update consultations set status = 'planned', participant_org_ids = $2, plan = $3,
               lead_mediator_id = $4, co_mediator_ids = $5, planned_at = $6 where dispute_id = $1""",
        c.dispute_id, c.participant_org_ids, c.plan, c.lead_mediator_id, c.co_mediator_ids, c.planned_at)


async def unassigned_of_types(conn: asyncpg.Connection, dispute_types: list[str], limit: int = 200) -> list[UUID]:
    rows = await conn.fetch(
        """select a.dispute_id from assignments a join disputes d using (dispute_id)
           where a.status = 'unassigned' and d.dispute_type = any($1::text[])
           order by d.registered_at limit $2""", dispute_types, limit)
    return [r["dispute_id"] for r in rows]


async def provisional(conn: asyncpg.Connection) -> list[AssignmentRow]:
    """Open offers and choice windows whose deadline was counted without next year's holidays."""
    rows = await conn.fetch(
        f"""select {', '.join(_A)} from assignments
            where (status = 'offered' and respond_by_provisional) or (status = 'awaiting_choice' and choose_by_provisional)
            for update skip locked""")
    return [AssignmentRow(**r) for r in rows]
