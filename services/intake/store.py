"""Intake's SQL: its own schema only, plain parameterised queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import asyncpg

from liandiao.pii import EncryptedColumn, FingerprintColumn
from services.intake.domain.casecode import lookup_input
from services.intake.status_store import CASE_CODE

# Intake's encrypted personal data, each value bound to its row (liandiao.pii).
PARTY_ID_NUMBER = EncryptedColumn("intake", "parties", "id_number_enc", "party_id", legacy_context="party.id_number")
PARTY_PHONE = EncryptedColumn("intake", "parties", "phone_enc", "party_id", legacy_context="party.phone")
PARTY_ADDRESS = EncryptedColumn("intake", "parties", "address_enc", "party_id", legacy_context="party.address")
PARTY_SERVICE_ADDRESS = EncryptedColumn("intake", "parties", "service_address_enc", "party_id",
                                        legacy_context="party.service_address")
AGENT_ID_NUMBER = EncryptedColumn("intake", "agents", "id_number_enc", "agent_id", legacy_context="agent.id_number")
AGENT_PHONE = EncryptedColumn("intake", "agents", "phone_enc", "agent_id", legacy_context="agent.phone")
PII_COLUMNS = (PARTY_ID_NUMBER, PARTY_PHONE, PARTY_ADDRESS, PARTY_SERVICE_ADDRESS, AGENT_ID_NUMBER, AGENT_PHONE,
               CASE_CODE)
# Fingerprints of ID numbers (duplicate detection, recusal), and the case codes' keyed hashes
# (the parties' look-up key), recomputable from the values kept beside them under a new
# fingerprint key (python -m liandiao.pii refingerprint --service intake).
FINGERPRINT_COLUMNS = (FingerprintColumn("id_fp", PARTY_ID_NUMBER), FingerprintColumn("id_fp", AGENT_ID_NUMBER),
                       FingerprintColumn("code_fp", CASE_CODE, prefix=lookup_input("")))


async def after_refingerprint(conn: asyncpg.Connection) -> str:
    """The duplicate keys of open disputes, from the recomputed party fingerprints, as
    services.intake.domain.rules.duplicate_key makes them (and migration 0002 did)."""
    await conn.execute("delete from dispute_keys")
    made = await conn.execute("""
        insert into dispute_keys (duplicate_key, dispute_id)
        select distinct on (k.duplicate_key) k.duplicate_key, k.dispute_id
        from (
            select d.dispute_id, d.registered_at,
                   encode(sha256(convert_to(d.dispute_type || '|' ||
                          string_agg(f.id_fp, ',' order by f.id_fp collate "C"), 'UTF8')), 'hex') as duplicate_key
            from disputes d
            join (select distinct dispute_id, id_fp from parties where coalesce(id_fp, '') <> '') f
              on f.dispute_id = d.dispute_id
            where d.status = 'registered' and d.closed_at is null
            group by d.dispute_id
            having count(*) >= 2
        ) k
        order by k.duplicate_key, k.registered_at, k.dispute_id""")
    return f"{made.split()[-1]} duplicate key(s) of open disputes made again"


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
    service_address_masked: str
    service_address_confirmed: bool
    consent: str
    disclosed_at: datetime | None
    routes_told: list[str]


@dataclass(frozen=True)
class AgentRow:
    agent_id: UUID
    party_id: UUID
    position: int
    name: str
    id_type: str
    id_number_enc: bytes
    id_fp: str
    id_masked: str
    phone_enc: bytes | None
    phone_masked: str
    authority: str
    scope: str


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
    referral_department: str
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
    closed_at: datetime | None = None
    referring_system_id: str = ""    # a court or police case system (external-systems API)


@dataclass(frozen=True)
class RegistrationRow:
    """One registration through one channel; ``linked`` when it found the dispute open already."""
    request_id: str
    dispute_id: UUID
    linked: bool
    source: str
    court_procedure: str | None
    referring_org_id: str
    referring_person_id: str
    referral_reference: str
    referral_department: str
    registering_person_id: str
    registering_org_id: str
    risk_score: int
    risk_reasons: list[str]
    registered_at: datetime
    referring_system_id: str = ""


@dataclass(frozen=True)
class WarningRow:
    dispute_id: UUID
    region_code: str
    risk_score: int
    reasons: list[str]
    flagged_at: datetime
    escalation_level: int
    escalated_at: datetime | None
    next_escalation_at: datetime | None
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class AckRow:
    dispute_id: UUID
    office: str
    liaison_person_id: str
    organization_id: str
    acknowledged_at: datetime
    recorded_by: str


@dataclass(frozen=True)
class LiaisonRow:
    person_id: str
    organization_id: str
    office: str
    office_region: str
    active: bool
    updated_at: datetime


@dataclass(frozen=True)
class DisputeRecord:
    """A dispute with everything its view shows."""
    dispute: DisputeRow
    parties: list[PartyRow]
    agents: dict[UUID, list[AgentRow]] = field(default_factory=dict)   # by party id
    registrations: list[RegistrationRow] = field(default_factory=list)
    warning: WarningRow | None = None
    acknowledgements: list[AckRow] = field(default_factory=list)


def _cols(row_type: type) -> list[str]:
    return list(row_type.__dataclass_fields__)


_DISPUTE_COLS = _cols(DisputeRow)
_PARTY_COLS = _cols(PartyRow)
_AGENT_COLS = _cols(AgentRow)
_REGISTRATION_COLS = _cols(RegistrationRow)
_WARNING_COLS = _cols(WarningRow)
_ACK_COLS = _cols(AckRow)


def _insert_sql(table: str, cols: list[str], suffix: str = "") -> str:
    marks = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
    return f"insert into {table} ({', '.join(cols)}) values ({marks}) {suffix}"


# ---- disputes, parties, agents, registrations ------------------------------------

async def insert_dispute(conn: asyncpg.Connection, d: DisputeRow, parties: list[PartyRow],
                         agents: list[AgentRow] | None = None) -> bool:
    """False when a dispute with the same request id exists already (a retry)."""
    inserted = await conn.fetchval(
        _insert_sql("disputes", _DISPUTE_COLS, "on conflict (request_id) do nothing returning true"),
        *(getattr(d, c) for c in _DISPUTE_COLS),
    )
    if not inserted:
        return False
    await conn.executemany(
        _insert_sql("parties", ["dispute_id", *_PARTY_COLS]),
        [(d.dispute_id, *(getattr(p, c) for c in _PARTY_COLS)) for p in parties],
    )
    if agents:
        await conn.executemany(
            _insert_sql("agents", ["dispute_id", *_AGENT_COLS]),
            [(d.dispute_id, *(getattr(a, c) for c in _AGENT_COLS)) for a in agents],
        )
    return True


async def insert_registration(conn: asyncpg.Connection, r: RegistrationRow) -> bool:
    """False when the request id was registered already (a retry)."""
    return bool(await conn.fetchval(
        _insert_sql("registrations", _REGISTRATION_COLS, "on conflict (request_id) do nothing returning true"),
        *(getattr(r, c) for c in _REGISTRATION_COLS),
    ))


async def registration_for_request(conn: asyncpg.Connection, request_id: str) -> tuple[UUID, bool] | None:
    """(dispute id, linked) of an earlier registration with this request id."""
    row = await conn.fetchrow("select dispute_id, linked from registrations where request_id = $1", request_id)
    return (row["dispute_id"], row["linked"]) if row else None


async def claim_duplicate_key(conn: asyncpg.Connection, key: str, dispute_id: UUID) -> UUID:
    """The open dispute that owns ``key``: ``dispute_id`` if this transaction just
    claimed it. A concurrent transaction holding the same key makes this one wait
    for its outcome (the primary key), so two registrations of one dispute never
    both open one."""
    while True:
        owner = await conn.fetchval(
            """insert into dispute_keys (duplicate_key, dispute_id) values ($1, $2)
               on conflict (duplicate_key) do nothing returning dispute_id""", key, dispute_id)
        if owner is None:
            # Taken: read the holder (committed by now). It may have closed in between: try again.
            owner = await conn.fetchval("select dispute_id from dispute_keys where duplicate_key = $1", key)
        if owner is not None:
            return owner


async def close_dispute(conn: asyncpg.Connection, dispute_id: UUID, at: datetime) -> None:
    """Mediation ended: the dispute no longer takes duplicates."""
    await conn.execute("delete from dispute_keys where dispute_id = $1", dispute_id)
    await conn.execute("update disputes set closed_at = coalesce(closed_at, $2) where dispute_id = $1",
                       dispute_id, at)


async def get_dispute_row(conn: asyncpg.Connection, dispute_id: UUID) -> DisputeRow | None:
    row = await conn.fetchrow(f"select {', '.join(_DISPUTE_COLS)} from disputes where dispute_id = $1", dispute_id)
    return DisputeRow(**row) if row else None


async def get_dispute(conn: asyncpg.Connection, dispute_id: UUID) -> DisputeRecord | None:
    row = await get_dispute_row(conn, dispute_id)
    if row is None:
        return None
    return (await _records(conn, [row]))[0]


def agents_by_party(agents: list[AgentRow]) -> dict[UUID, list[AgentRow]]:
    by_party: dict[UUID, list[AgentRow]] = {}
    for a in agents:
        by_party.setdefault(a.party_id, []).append(a)
    return by_party


async def _records(conn: asyncpg.Connection, disputes: list[DisputeRow]) -> list[DisputeRecord]:
    ids = [d.dispute_id for d in disputes]
    parties = await _by_dispute(conn, "parties", _PARTY_COLS, PartyRow, ids, "position")
    agents = await _by_dispute(conn, "agents", _AGENT_COLS, AgentRow, ids, "party_id, position")
    registrations = await _by_dispute(conn, "registrations", _REGISTRATION_COLS, RegistrationRow, ids,
                                      "registered_at, request_id")
    warnings = await _by_dispute(conn, "warnings", _WARNING_COLS, WarningRow, ids, "flagged_at")
    acks = await _by_dispute(conn, "warning_acknowledgements", _ACK_COLS, AckRow, ids, "acknowledged_at")
    out = []
    for d in disputes:
        by_party = agents_by_party(agents.get(d.dispute_id, []))
        warning = warnings.get(d.dispute_id)
        out.append(DisputeRecord(
            dispute=d, parties=parties.get(d.dispute_id, []), agents=by_party,
            registrations=registrations.get(d.dispute_id, []), warning=warning[0] if warning else None,
            acknowledgements=acks.get(d.dispute_id, []),
        ))
    return out


async def _by_dispute(conn: asyncpg.Connection, table: str, cols: list[str], row_type: type, ids: list[UUID],
                      order: str) -> dict[UUID, list]:
    # ``dispute_id`` is selected once, as the grouping key, even where it is also a column of the row.
    rows = await conn.fetch(
        f"select dispute_id as _key, {', '.join(cols)} from {table} where dispute_id = any($1::uuid[]) "
        f"order by dispute_id, {order}", ids,
    )
    out: dict[UUID, list] = {}
    for r in rows:
        values = dict(r)
        out.setdefault(values.pop("_key"), []).append(row_type(**values))
    return out


@dataclass(frozen=True)
class DisputeFilter:
    # Who may see what (liandiao.access.visible_sql over services.intake.access.COLUMNS):
    # a condition on ``d`` with its parameters numbered from $1.
    visible: str
    visible_params: list[object]
    dispute_type: str = ""
    source: str = ""
    status: str = ""
    registered_from: datetime | None = None   # inclusive
    registered_to: datetime | None = None     # exclusive
    text: str = ""                     # in a party's name or the facts
    after: tuple[datetime, UUID] | None = None  # keyset cursor
    limit: int = 50


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_disputes(conn: asyncpg.Connection, f: DisputeFilter) -> list[DisputeRecord]:
    clauses = [f.visible]
    args: list[object] = list(f.visible_params)

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    for column, value in (("dispute_type", f.dispute_type), ("source", f.source), ("status", f.status)):
        if value:
            clauses.append(f"d.{column} = {arg(value)}")
    if f.registered_from:
        clauses.append(f"d.registered_at >= {arg(f.registered_from)}")
    if f.registered_to:
        clauses.append(f"d.registered_at < {arg(f.registered_to)}")
    if f.text:
        pattern = arg(_like(f.text))
        clauses.append(f"(d.facts ilike {pattern} or exists (select 1 from parties p "
                       f"where p.dispute_id = d.dispute_id and p.name ilike {pattern}))")
    if f.after:
        clauses.append(f"(d.registered_at, d.dispute_id) < ({arg(f.after[0])}, {arg(f.after[1])})")
    limit = arg(f.limit)
    rows = await conn.fetch(
        f"select {', '.join('d.' + c for c in _DISPUTE_COLS)} from disputes d where {' and '.join(clauses)} "
        f"order by d.registered_at desc, d.dispute_id desc limit {limit}", *args,
    )
    return await _records(conn, [DisputeRow(**r) for r in rows])


# ---- early warnings ---------------------------------------------------------------

async def insert_warning(conn: asyncpg.Connection, w: WarningRow) -> None:
    await conn.execute(_insert_sql("warnings", _WARNING_COLS), *(getattr(w, c) for c in _WARNING_COLS))


async def has_warning(conn: asyncpg.Connection, dispute_id: UUID) -> bool:
    return bool(await conn.fetchval("select true from warnings where dispute_id = $1", dispute_id))


async def warning_for_update(conn: asyncpg.Connection, dispute_id: UUID) -> WarningRow | None:
    row = await conn.fetchrow(
        f"select {', '.join(_WARNING_COLS)} from warnings where dispute_id = $1 for update", dispute_id)
    return WarningRow(**row) if row else None


async def acknowledgements(conn: asyncpg.Connection, dispute_id: UUID) -> list[AckRow]:
    rows = await conn.fetch(
        f"select {', '.join(_ACK_COLS)} from warning_acknowledgements where dispute_id = $1 "
        "order by acknowledged_at", dispute_id)
    return [AckRow(**r) for r in rows]


async def insert_acknowledgement(conn: asyncpg.Connection, a: AckRow) -> None:
    await conn.execute(_insert_sql("warning_acknowledgements", _ACK_COLS), *(getattr(a, c) for c in _ACK_COLS))


async def settle_warning(conn: asyncpg.Connection, dispute_id: UUID, next_escalation_at: datetime | None,
                         acknowledged_at: datetime | None) -> None:
    await conn.execute(
        "update warnings set next_escalation_at = $2, acknowledged_at = coalesce(acknowledged_at, $3) "
        "where dispute_id = $1", dispute_id, next_escalation_at, acknowledged_at)


async def escalate_warning(conn: asyncpg.Connection, dispute_id: UUID, level: int, at: datetime,
                           next_escalation_at: datetime | None) -> None:
    await conn.execute(
        "update warnings set escalation_level = $2, escalated_at = $3, next_escalation_at = $4 "
        "where dispute_id = $1", dispute_id, level, at, next_escalation_at)


async def lock_due_warnings(conn: asyncpg.Connection, now: datetime, limit: int = 200) -> list[WarningRow]:
    """Warnings whose next escalation is due, locked for this transaction; other
    replicas skip them rather than escalate twice."""
    rows = await conn.fetch(
        f"""select {', '.join(_WARNING_COLS)} from warnings
            where next_escalation_at is not null and next_escalation_at <= $1
            order by next_escalation_at limit $2 for update skip locked""", now, limit)
    return [WarningRow(**r) for r in rows]


# ---- liaison officers (projection of personnel) -----------------------------------

async def upsert_liaison(conn: asyncpg.Connection, row: LiaisonRow) -> None:
    """Keeps the newest snapshot of a person; an older one arriving late is ignored."""
    await conn.execute(
        """insert into liaison_officers (person_id, organization_id, office, office_region, active, updated_at)
           values ($1, $2, $3, $4, $5, $6)
           on conflict (person_id) do update set organization_id = excluded.organization_id,
               office = excluded.office, office_region = excluded.office_region, active = excluded.active,
               updated_at = excluded.updated_at
           where liaison_officers.updated_at <= excluded.updated_at""",
        row.person_id, row.organization_id, row.office, row.office_region, row.active, row.updated_at)


async def retire_liaison(conn: asyncpg.Connection, person_id: str, updated_at: datetime) -> None:
    """The person now works elsewhere than a police station, tribunal or judicial office."""
    await conn.execute("update liaison_officers set active = false, updated_at = $2 "
                       "where person_id = $1 and updated_at <= $2", person_id, updated_at)


async def get_liaison(conn: asyncpg.Connection, person_id: str) -> LiaisonRow | None:
    row = await conn.fetchrow(
        "select person_id, organization_id, office, office_region, active, updated_at "
        "from liaison_officers where person_id = $1", person_id)
    return LiaisonRow(**row) if row else None


