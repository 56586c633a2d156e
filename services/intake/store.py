"""Intake's SQL: its own schema only, plain parameterised queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class PartyRow:
    party_id: UUID
    position: int
    kind: str
    side: str
    name: str
    sex: str
    ethnicity: str
    age: int
    occupation: str
    language: str
    id_type: str
    id_number_enc: bytes | None
    id_fp: str | None
    id_masked: str
    no_id_reason: str
    phone_enc: bytes | None
    phone_masked: str
    address_enc: bytes | None
    service_address_enc: bytes | None
    service_address_confirmed: bool
    consent: str
    disclosed_at: datetime | None
    routes_told: list[str]


@dataclass(frozen=True)
class DisputeRow:
    dispute_id: UUID
    request_id: str
    region_code: str
    prefecture: str
    dispute_type: str
    source: str
    court_procedure: str | None
    referring_org_id: str
    referring_person_id: str
    referral_reference: str
    facts: str
    requested_outcome: str
    amount_fen: int
    status: str
    risk_score: int
    risk_reasons: list[str]
    registering_person_id: str
    registering_org_id: str
    chosen_mediator_id: str
    trace_parent: str
    registered_at: datetime


_DISPUTE_COLS = [f for f in DisputeRow.__dataclass_fields__]
_PARTY_COLS = [f for f in PartyRow.__dataclass_fields__]


async def insert_dispute(conn: asyncpg.Connection, d: DisputeRow, parties: list[PartyRow]) -> bool:
    """False when a dispute with the same request id exists already (a retry)."""
    cols = ", ".join(_DISPUTE_COLS)
    marks = ", ".join(f"${i}" for i in range(1, len(_DISPUTE_COLS) + 1))
    inserted = await conn.fetchval(
        f"insert into disputes ({cols}) values ({marks}) on conflict (request_id) do nothing returning true",
        *(getattr(d, c) for c in _DISPUTE_COLS),
    )
    if not inserted:
        return False
    pcols = ", ".join(["dispute_id", *_PARTY_COLS])
    pmarks = ", ".join(f"${i}" for i in range(1, len(_PARTY_COLS) + 2))
    await conn.executemany(
        f"insert into parties ({pcols}) values ({pmarks})",
        [(d.dispute_id, *(getattr(p, c) for c in _PARTY_COLS)) for p in parties],
    )
    return True


async def get_dispute(conn: asyncpg.Connection, dispute_id: UUID) -> tuple[DisputeRow, list[PartyRow]] | None:
    row = await conn.fetchrow(f"select {', '.join(_DISPUTE_COLS)} from disputes where dispute_id = $1", dispute_id)
    if row is None:
        return None
    parties = await _parties(conn, [dispute_id])
    return DisputeRow(**row), parties.get(dispute_id, [])


async def dispute_id_for_request(conn: asyncpg.Connection, request_id: str) -> UUID | None:
    return await conn.fetchval("select dispute_id from disputes where request_id = $1", request_id)


async def _parties(conn: asyncpg.Connection, ids: list[UUID]) -> dict[UUID, list[PartyRow]]:
    rows = await conn.fetch(
        f"select dispute_id, {', '.join(_PARTY_COLS)} from parties where dispute_id = any($1::uuid[]) "
        "order by dispute_id, position", ids,
    )
    out: dict[UUID, list[PartyRow]] = {}
    for r in rows:
        values = dict(r)
        out.setdefault(values.pop("dispute_id"), []).append(PartyRow(**values))
    return out


@dataclass(frozen=True)
class DisputeFilter:
    region_prefixes: tuple[str, ...]   # the caller's scope, already intersected with the query
    dispute_type: str = ""
    source: str = ""
    status: str = ""
    referring_org_id: str = ""         # police station sees its own referrals only
    after: tuple[datetime, UUID] | None = None  # keyset cursor
    limit: int = 50


async def list_disputes(conn: asyncpg.Connection, f: DisputeFilter) -> list[tuple[DisputeRow, list[PartyRow]]]:
    clauses = ["region_code like any($1::text[])"]
    args: list[object] = [[p + "%" for p in f.region_prefixes]]
    for column, value in (("dispute_type", f.dispute_type), ("source", f.source), ("status", f.status),
                          ("referring_org_id", f.referring_org_id)):
        if value:
            args.append(value)
            clauses.append(f"{column} = ${len(args)}")
    if f.after:
        args += [f.after[0], f.after[1]]
        clauses.append(f"(registered_at, dispute_id) < (${len(args) - 1}, ${len(args)})")
    args.append(f.limit)
    rows = await conn.fetch(
        f"select {', '.join(_DISPUTE_COLS)} from disputes where {' and '.join(clauses)} "
        f"order by registered_at desc, dispute_id desc limit ${len(args)}", *args,
    )
    disputes = [DisputeRow(**r) for r in rows]
    parties = await _parties(conn, [d.dispute_id for d in disputes])
    return [(d, parties.get(d.dispute_id, [])) for d in disputes]
