"""Personnel's SQL: its own schema only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class OrgRow:
    organization_id: UUID
    kind: str
    name: str
    region_code: str
    prefecture: str
    credit_code: str
    parent_organization_id: UUID | None
    committee_level: str
    created_at: datetime


@dataclass(frozen=True)
class PersonRow:
    person_id: UUID
    name: str
    organization_id: UUID
    roles: list[str]
    specialties: list[str]
    languages: list[str]
    region_codes: list[str]
    roster_status: str
    removal_reason: str
    phone_enc: bytes | None
    phone_masked: str
    id_number_enc: bytes | None
    id_fp: str | None
    on_duty: bool
    version: int
    updated_at: datetime


_ORG = list(OrgRow.__dataclass_fields__)
_PERSON = list(PersonRow.__dataclass_fields__)


def _insert_sql(table: str, cols: list[str]) -> str:
    return f"insert into {table} ({', '.join(cols)}) values ({', '.join(f'${i + 1}' for i in range(len(cols)))})"


async def insert_org(conn: asyncpg.Connection, o: OrgRow) -> None:
    await conn.execute(_insert_sql("organizations", _ORG), *(getattr(o, c) for c in _ORG))


async def get_org(conn: asyncpg.Connection, org_id: UUID) -> OrgRow | None:
    row = await conn.fetchrow(f"select {', '.join(_ORG)} from organizations where organization_id = $1", org_id)
    return OrgRow(**row) if row else None


async def list_orgs(conn: asyncpg.Connection, region_prefix: str, kind: str, limit: int, offset: int) -> list[OrgRow]:
    rows = await conn.fetch(
        f"""select {', '.join(_ORG)} from organizations
            where region_code like $1 || '%' and ($2 = '' or kind = $2)
            order by region_code, name limit $3 offset $4""", region_prefix, kind, limit, offset)
    return [OrgRow(**r) for r in rows]


async def insert_person(conn: asyncpg.Connection, p: PersonRow) -> None:
    await conn.execute(_insert_sql("people", _PERSON), *(getattr(p, c) for c in _PERSON))


async def get_person(conn: asyncpg.Connection, person_id: UUID, *, for_update: bool = False) -> PersonRow | None:
    lock = " for update" if for_update else ""
    row = await conn.fetchrow(f"select {', '.join(_PERSON)} from people where person_id = $1{lock}", person_id)
    return PersonRow(**row) if row else None


async def remove_from_roster(conn: asyncpg.Connection, person_id: UUID, reason: str) -> PersonRow:
    row = await conn.fetchrow(
        f"""update people set roster_status = 'removed', removal_reason = $2, version = version + 1,
                updated_at = now() where person_id = $1 returning {', '.join(_PERSON)}""", person_id, reason)
    return PersonRow(**row)


async def list_people(conn: asyncpg.Connection, organization_id: UUID | None, role: str, region_prefix: str,
                      limit: int, offset: int) -> list[PersonRow]:
    rows = await conn.fetch(
        f"""select {', '.join(_PERSON)} from people
            where ($1::uuid is null or organization_id = $1) and ($2 = '' or $2 = any(roles))
              and ($3 = '' or exists (select 1 from unnest(region_codes) r where r like $3 || '%'))
            order by name, person_id limit $4 offset $5""", organization_id, role, region_prefix, limit, offset)
    return [PersonRow(**r) for r in rows]


async def eligible_mediators(conn: asyncpg.Connection, region_chain: list[str], dispute_type: str,
                             language: str) -> list[PersonRow]:
    """Active mediators covering any code of ``region_chain`` with the specialty."""
    rows = await conn.fetch(
        f"""select {', '.join(_PERSON)} from people
            where 'mediator' = any(roles) and roster_status = 'active'
              and $2 = any(specialties) and region_codes && $1::text[]
              and ($3 = '' or $3 = any(languages))
            order by name""", region_chain, dispute_type, language)
    return [PersonRow(**r) for r in rows]
