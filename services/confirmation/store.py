"""Confirmation's SQL, all of it. Rows in and out as plain records; app.py turns them into
the domain's Application and back."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from liandiao import access
from liandiao.auth import Claims
from liandiao.pii import EncryptedColumn, PiiCipher, UnreadableValue

# ---- courts --------------------------------------------------------------------------------


async def upsert_court(conn: asyncpg.Connection, court_id: str, name: str, region_code: str, level: str,
                       basic_court_id: str | None = None, jurisdiction_regions: Sequence[str] = (),
                       case_code: str = "") -> None:
    await conn.execute(
        """insert into courts (court_id, name, region_code, level, basic_court_id, jurisdiction_regions, case_code)
           values ($1, $2, $3, $4, $5, $6, $7)
           on conflict (court_id) do update set name = excluded.name, region_code = excluded.region_code,
             level = excluded.level, basic_court_id = excluded.basic_court_id,
             jurisdiction_regions = excluded.jurisdiction_regions, case_code = excluded.case_code""",
        court_id, name, region_code, level, basic_court_id, list(jurisdiction_regions), case_code)


async def get_court(conn: asyncpg.Connection, court_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from courts where court_id = $1", court_id)


async def courts(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("select * from courts order by court_id")


# ---- the agreements projection ----------------------------------------------------------------

# The projection holds the parties' names (and terms that name them): personal data, encrypted
# at rest, bound to its row (python -m liandiao.pii reencrypt --service confirmation). The value
# is the ConfirmableAgreement's bytes in base64 (the platform cipher encrypts text).
AGREEMENT_PAYLOAD = EncryptedColumn("confirmation", "agreements", "payload", "agreement_id")
PII_COLUMNS = (AGREEMENT_PAYLOAD,)


def seal_payload(cipher: PiiCipher, agreement_id: str, payload: bytes) -> bytes:
    sealed = AGREEMENT_PAYLOAD.encrypt(cipher, base64.b64encode(payload).decode(), agreement_id)
    assert sealed is not None
    return sealed


def _is_plain(blob: bytes) -> bool:
    """A payload stored before encryption: a serialized ConfirmableAgreement, whose first
    field (agreement_id, always set) starts with tag 0x0a; a ciphertext never does."""
    return blob[:1] == b"\x0a"


def open_payload(cipher: PiiCipher, agreement_id: str, blob: bytes) -> bytes:
    blob = bytes(blob)
    try:
        plain = AGREEMENT_PAYLOAD.decrypt(cipher, blob, agreement_id)
    except UnreadableValue:
        if _is_plain(blob):
            return blob  # until encrypt_plain_agreements has run
        raise
    assert plain is not None
    return base64.b64decode(plain)


async def encrypt_plain_agreements(conn: asyncpg.Connection, cipher: PiiCipher, limit: int = 500) -> int:
    """Encrypts payloads stored in plain text before the projection was encrypted; safe to run again and concurrently."""
    rows = await conn.fetch("select agreement_id, payload from agreements where substring(payload from 1 for 1) = "
                            "'\\x0a'::bytea limit $1 for update skip locked", limit)
    for r in rows:
        await conn.execute("update agreements set payload = $2 where agreement_id = $1", r["agreement_id"],
                           seal_payload(cipher, r["agreement_id"], bytes(r["payload"])))
    return len(rows)



async def upsert_agreement(conn: asyncpg.Connection, agreement_id: str, dispute_id: UUID, region_code: str,
                           organization_id: str, party_ids: list[str], agent_ids: list[str], payload: bytes,
                           received_at: datetime) -> bool:
    """True when stored; an agreement is effective once, so a repeat keeps the first."""
    row = await conn.fetchval(
        """insert into agreements (agreement_id, dispute_id, region_code, organization_id, party_ids, agent_ids,
                                   payload, received_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (agreement_id) do nothing returning 1""",
        agreement_id, dispute_id, region_code, organization_id, party_ids, agent_ids, payload, received_at)
    return row is not None


async def get_agreement(conn: asyncpg.Connection, agreement_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from agreements where agreement_id = $1", agreement_id)


# ---- applications -----------------------------------------------------------------------------

_JSON = ("applicants", "required", "submitted", "supplement_items", "refusal", "reminders_sent", "signals",
         "admission")


def _jsonify(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (json.dumps(v) if k in _JSON and v is not None else v) for k, v in values.items()}


def decode(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    for k in _JSON:
        if isinstance(out.get(k), str):
            out[k] = json.loads(out[k])
    return out


async def insert_application(conn: asyncpg.Connection, values: dict[str, Any]) -> None:
    values = _jsonify(values)
    cols = list(values)
    await conn.execute(
        f"insert into applications ({', '.join(cols)}) values ({', '.join(f'${i + 1}' for i in range(len(cols)))})",
        *values.values())


async def update_application(conn: asyncpg.Connection, application_id: UUID, values: dict[str, Any]) -> None:
    values = _jsonify(values)
    sets = ", ".join(f"{k} = ${i + 2}" for i, k in enumerate(values))
    await conn.execute(f"update applications set {sets} where application_id = $1", application_id, *values.values())


async def get_application(conn: asyncpg.Connection, application_id: UUID, *,
                          for_update: bool = False) -> dict[str, Any] | None:
    row = await conn.fetchrow("select * from applications where application_id = $1"
                              + (" for update" if for_update else ""), application_id)
    return decode(row) if row else None


async def applications_for_agreement(conn: asyncpg.Connection, agreement_id: str, *,
                                     for_update: bool = False) -> list[dict[str, Any]]:
    rows = await conn.fetch("select * from applications where agreement_id = $1 order by filed_at, application_id"
                            + (" for update" if for_update else ""), agreement_id)
    return [decode(r) for r in rows]


async def lock_agreement(conn: asyncpg.Connection, agreement_id: str) -> None:
    """Serializes filings and acceptances for one agreement (SPC-Interp Art.352's 'first to docket')."""
    await conn.execute("select 1 from agreements where agreement_id = $1 for update", agreement_id)


async def list_applications(conn: asyncpg.Connection, rule: access.Rule, caller: Claims, columns: access.Columns,
                            court_id: str, statuses: Sequence[str], limit: int, offset: int,
                            overdue_at: datetime | None = None) -> list[dict[str, Any]]:
    where, params = access.visible_sql(rule, caller, columns, first_param=1)
    filters = [where]
    if overdue_at is not None:
        params.append(overdue_at)
        n = len(params)
        filters.append(f"((status = 'filed' and accept_by <= ${n}) or "
                       f"(status in ('accepted', 'review_awaiting_supplement') and decide_by <= ${n}))")
    if court_id:
        params.append(court_id)
        filters.append(f"court_id = ${len(params)}")
    if statuses:
        params.append(list(statuses))
        filters.append(f"status = any(${len(params)}::text[])")
    params += [limit, offset]
    rows = await conn.fetch(
        f"select * from applications where {' and '.join(filters)} order by filed_at desc, application_id desc "
        f"limit ${len(params) - 1} offset ${len(params)}", *params)
    return [decode(r) for r in rows]


async def due_for_sweep(conn: asyncpg.Connection, now: datetime, limit: int) -> list[UUID]:
    """Applications whose supplement deadline passed, or whose court deadline may need a
    reminder, locked for this transaction; SKIP LOCKED lets a second replica take others."""
    rows = await conn.fetch(
        """select application_id from applications
           where (status in ('awaiting_supplement', 'review_awaiting_supplement') and supplement_by <= $1)
              or remind_at <= $1
           order by least(supplement_by, remind_at) limit $2 for update skip locked""", now, limit)
    return [r["application_id"] for r in rows]


async def overdue(conn: asyncpg.Connection, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """select * from applications
           where (status = 'filed' and accept_by <= $1)
              or (status in ('accepted', 'review_awaiting_supplement') and decide_by <= $1)
           order by coalesce(decide_by, accept_by) limit $2""", now, limit)
    return [decode(r) for r in rows]


# ---- case numbers -----------------------------------------------------------------------------


async def next_case_sequence(conn: asyncpg.Connection, court_code: str, year: int, case_type: str) -> int:
    """Gapless: the counter row stays locked until the caller's transaction ends, and a
    rollback returns the number."""
    if not conn.is_in_transaction():
        raise RuntimeError("a case number is drawn inside the acceptance's transaction")
    return await conn.fetchval(
        """insert into case_counters (court_code, year, case_type, last) values ($1, $2, $3, 1)
           on conflict (court_code, year, case_type) do update set last = case_counters.last + 1
           returning last""", court_code, year, case_type)


# ---- rulings and objections -------------------------------------------------------------------


async def insert_ruling(conn: asyncpg.Connection, values: dict[str, Any]) -> None:
    cols = list(values)
    await conn.execute(
        f"insert into rulings ({', '.join(cols)}) values ({', '.join(f'${i + 1}' for i in range(len(cols)))})",
        *values.values())


async def ruling_of_application(conn: asyncpg.Connection, application_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from rulings where application_id = $1", application_id)


async def get_ruling(conn: asyncpg.Connection, ruling_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from rulings where ruling_id = $1", ruling_id)


async def ruling_by_case_number(conn: asyncpg.Connection, case_number: str) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from rulings where case_number = $1", case_number)


async def objection_ids(conn: asyncpg.Connection, application_id: UUID) -> list[str]:
    rows = await conn.fetch("select objection_id from objections where application_id = $1 order by filed_at",
                            application_id)
    return [str(r["objection_id"]) for r in rows]


async def objection_exists(conn: asyncpg.Connection, objection_id: UUID) -> bool:
    return bool(await conn.fetchval("select 1 from objections where objection_id = $1", objection_id))


async def objections_of(conn: asyncpg.Connection, application_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch("select * from objections where application_id = $1 order by filed_at, objection_id",
                            application_id)


async def insert_objection(conn: asyncpg.Connection, values: dict[str, Any]) -> None:
    cols = list(values)
    await conn.execute(
        f"insert into objections ({', '.join(cols)}) values ({', '.join(f'${i + 1}' for i in range(len(cols)))})",
        *values.values())


async def record_service(conn: asyncpg.Connection, delivery_id: UUID, dispute_id: UUID, party_id: str,
                         served_at: datetime) -> None:
    """One row per delivery (a repeated delivery-succeeded keeps the first moment)."""
    await conn.execute("insert into rulings_served (delivery_id, dispute_id, party_id, served_at) "
                       "values ($1, $2, $3, $4) on conflict (delivery_id) do nothing",
                       delivery_id, dispute_id, party_id, served_at)


async def first_service(conn: asyncpg.Connection, dispute_id: UUID, party_id: str,
                        issued_at: datetime) -> datetime | None:
    """When the ruling issued at ``issued_at`` first reached the party, on any channel."""
    return await conn.fetchval("select min(served_at) from rulings_served where dispute_id = $1 and party_id = $2 "
                               "and served_at >= $3", dispute_id, party_id, issued_at)


# ---- traces of earlier applications, for the false-mediation signals -------------------------


async def insert_trace(conn: asyncpg.Connection, values: dict[str, Any]) -> None:
    values = {**values, "parties": json.dumps(values["parties"])}
    cols = list(values)
    await conn.execute(
        f"insert into application_traces ({', '.join(cols)}) "
        f"values ({', '.join(f'${i + 1}' for i in range(len(cols)))}) on conflict (application_id) do nothing",
        *values.values())


async def related_traces(conn: asyncpg.Connection, agreement_id: str, since: datetime, id_fps: list[str],
                         phone_fps: list[str], address_fps: list[str], mediator_ids: list[str],
                         limit: int = 500) -> list[asyncpg.Record]:
    """Earlier applications within the period that share a party, a phone, an address or a
    mediator with this one (another application for the same agreement is not another case)."""
    return await conn.fetch(
        """select * from application_traces
           where filed_at >= $2 and agreement_id <> $1
             and (id_fps && $3::text[] or phone_fps && $4::text[] or address_fps && $5::text[]
                  or mediator_ids && $6::text[])
           order by filed_at desc limit $7""",
        agreement_id, since, id_fps, phone_fps, address_fps, mediator_ids, limit)


async def amount_peers(conn: asyncpg.Connection, agreement_id: str, dispute_type: str, prefecture: str,
                       limit: int = 500) -> list[asyncpg.Record]:
    """The latest earlier applications of the same dispute type and prefecture with an amount:
    the pattern an amount is compared with."""
    return await conn.fetch(
        """select * from application_traces
           where dispute_type = $2 and prefecture = $3 and amount_fen > 0 and agreement_id <> $1
           order by filed_at desc limit $4""", agreement_id, dispute_type, prefecture, limit)
