"""SQL of the parties' case code and status (issue 11): intake's own schema only.
Kept apart from store.py (registration, warnings) so that each reads as one job."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg

from liandiao.pii import EncryptedColumn
from services.intake.domain.lookups import Counter
from services.intake.domain.status import Facts, NextStep, Session, Term

CASE_CODE = EncryptedColumn("intake", "case_codes", "code_enc", "dispute_id")


@dataclass(frozen=True)
class CodeRow:
    dispute_id: UUID
    code_fp: str
    code_enc: bytes
    issued_at: datetime


@dataclass(frozen=True)
class PartyContact:
    """What the status look-up needs of a party: who, their masked name, the phone
    ciphertext (decrypted for this dispute's parties only)."""
    party_id: UUID
    name: str
    phone_enc: bytes | None


# ---- codes ------------------------------------------------------------------------

async def insert_code(conn: asyncpg.Connection, row: CodeRow) -> bool:
    """False when the hash is taken (a collision of random codes: draw again) or the
    dispute has its code already."""
    return bool(await conn.fetchval(
        """insert into case_codes (dispute_id, code_fp, code_enc, issued_at) values ($1, $2, $3, $4)
           on conflict do nothing returning true""", row.dispute_id, row.code_fp, row.code_enc, row.issued_at))


async def code_of(conn: asyncpg.Connection, dispute_id: UUID) -> bytes | None:
    return await conn.fetchval("select code_enc from case_codes where dispute_id = $1", dispute_id)


async def dispute_by_code(conn: asyncpg.Connection, code_fp: str) -> UUID | None:
    return await conn.fetchval("select dispute_id from case_codes where code_fp = $1", code_fp)


async def disputes_without_code(conn: asyncpg.Connection, limit: int) -> list[UUID]:
    rows = await conn.fetch(
        """select d.dispute_id from disputes d
           where not exists (select 1 from case_codes c where c.dispute_id = d.dispute_id)
           order by d.registered_at limit $1""", limit)
    return [r["dispute_id"] for r in rows]


async def party_contacts(conn: asyncpg.Connection, dispute_id: UUID) -> list[PartyContact]:
    rows = await conn.fetch("select party_id, name, phone_enc from parties where dispute_id = $1 order by position",
                            dispute_id)
    return [PartyContact(**r) for r in rows]


# ---- failed look-ups ----------------------------------------------------------------

async def lock_counters(conn: asyncpg.Connection, keys: list[str], now: datetime) -> dict[str, Counter]:
    """The counters of ``keys``, locked for this transaction (made if missing, in key
    order so that two look-ups never wait on each other in a cycle)."""
    ordered = sorted(set(keys))
    await conn.executemany(
        """insert into lookup_failures (key, failures, window_started_at) values ($1, 0, $2)
           on conflict (key) do nothing""", [(k, now) for k in ordered])
    rows = await conn.fetch(
        "select key, failures, window_started_at, locked_until from lookup_failures where key = any($1::text[]) "
        "order by key for update", ordered)
    return {r["key"]: Counter(r["failures"], r["window_started_at"] if r["failures"] else None, r["locked_until"])
            for r in rows}


async def save_counter(conn: asyncpg.Connection, key: str, c: Counter) -> None:
    await conn.execute(
        "update lookup_failures set failures = $2, window_started_at = coalesce($3, window_started_at), "
        "locked_until = $4 where key = $1", key, c.failures, c.window_started_at, c.locked_until)


async def forget_counter(conn: asyncpg.Connection, key: str) -> None:
    await conn.execute("delete from lookup_failures where key = $1 and (locked_until is null)", key)


async def prune_counters(conn: asyncpg.Connection | asyncpg.Pool, older_than: datetime, now: datetime) -> int:
    """Counters whose window began before ``older_than`` and that hold no lock: of no use."""
    status = await conn.execute(
        "delete from lookup_failures where window_started_at < $1 and (locked_until is null or locked_until <= $2)",
        older_than, now)
    return int(status.split()[-1])


# ---- status projection --------------------------------------------------------------

async def dispute_exists(conn: asyncpg.Connection, dispute_id: UUID) -> bool:
    return bool(await conn.fetchval("select true from disputes where dispute_id = $1", dispute_id))


async def _row(conn: asyncpg.Connection, dispute_id: UUID, at: datetime) -> None:
    await conn.execute("insert into case_status (dispute_id, updated_at) values ($1, $2) on conflict do nothing",
                       dispute_id, at)


async def record_assigned(conn: asyncpg.Connection, dispute_id: UUID, at: datetime, mediator_id: str,
                          mediator_name: str, organization_id: str) -> None:
    """The newest acceptance wins (a reassignment after a later acceptance)."""
    await _row(conn, dispute_id, at)
    await conn.execute(
        """update case_status set assigned_at = $2, mediator_id = $3, mediator_name = $4, organization_id = $5,
               updated_at = greatest(updated_at, $2)
           where dispute_id = $1 and (assigned_at is null or assigned_at <= $2)""",
        dispute_id, at, mediator_id, mediator_name, organization_id)


async def record_session(conn: asyncpg.Connection, dispute_id: UUID, s: Session, announced_at: datetime) -> None:
    """A session as last announced (a reschedule replaces the time and place)."""
    await _row(conn, dispute_id, announced_at)
    await conn.execute(
        """insert into case_status_sessions (session_id, dispute_id, number, scheduled_for, place, video_link,
                                             announced_at) values ($1, $2, $3, $4, $5, $6, $7)
           on conflict (dispute_id, session_id) do update set scheduled_for = excluded.scheduled_for, place = excluded.place,
               video_link = excluded.video_link, number = excluded.number, announced_at = excluded.announced_at
           where case_status_sessions.announced_at <= excluded.announced_at""",
        s.session_id, dispute_id, s.number, s.scheduled_for, s.place, s.video_link, announced_at)
    await conn.execute("update case_status set updated_at = greatest(updated_at, $2) where dispute_id = $1",
                       dispute_id, announced_at)


async def record_session_cancelled(conn: asyncpg.Connection, dispute_id: UUID, s: Session,
                                   cancelled_at: datetime) -> None:
    """A cancelled session: never again the next date, even if its announcement comes later."""
    await _row(conn, dispute_id, cancelled_at)
    await conn.execute(
        """insert into case_status_sessions (session_id, dispute_id, number, scheduled_for, place, video_link,
                                             announced_at, cancelled_at) values ($1, $2, $3, $4, $5, $6, $7, $7)
           on conflict (dispute_id, session_id) do update set cancelled_at = excluded.cancelled_at,
               announced_at = greatest(case_status_sessions.announced_at, excluded.announced_at)""",
        s.session_id, dispute_id, s.number, s.scheduled_for, s.place, s.video_link, cancelled_at)
    await conn.execute("update case_status set updated_at = greatest(updated_at, $2) where dispute_id = $1",
                       dispute_id, cancelled_at)


async def record_agreement(conn: asyncpg.Connection, dispute_id: UUID, at: datetime, effective_on: date | None,
                           agreement_id: str, terms: list[Term]) -> None:
    await _row(conn, dispute_id, at)
    doc = json.dumps([{"obligor": t.obligor_id, "obligee": t.obligee_id,
                       "deadline": t.deadline.isoformat() if t.deadline else ""} for t in terms])
    await conn.execute(
        """update case_status set agreement_effective_at = $2, agreement_effective_on = $3, agreement_id = $4,
               terms = $5::jsonb, updated_at = greatest(updated_at, $2)
           where dispute_id = $1 and (agreement_effective_at is null or agreement_effective_at <= $2)""",
        dispute_id, at, effective_on, agreement_id, doc)


async def record_ended(conn: asyncpg.Connection, dispute_id: UUID, at: datetime, failure: bool,
                       routes_told: list[str]) -> None:
    await _row(conn, dispute_id, at)
    await conn.execute(
        """update case_status set ended_at = $2, ended_in_failure = $3, routes_told = $4,
               updated_at = greatest(updated_at, $2)
           where dispute_id = $1 and (ended_at is null or ended_at <= $2)""", dispute_id, at, failure, routes_told)


async def record_returned(conn: asyncpg.Connection, dispute_id: UUID, at: datetime, next_step: str) -> None:
    await _row(conn, dispute_id, at)
    await conn.execute(
        """update case_status set returned_at = $2, court_next_step = $3, updated_at = greatest(updated_at, $2)
           where dispute_id = $1 and (returned_at is null or returned_at <= $2)""", dispute_id, at, next_step)


async def record_filed(conn: asyncpg.Connection, dispute_id: UUID, at: datetime, accept_by: date | None) -> None:
    await _row(conn, dispute_id, at)
    await conn.execute(
        """update case_status set filed_at = $2, accept_by = $3, updated_at = greatest(updated_at, $2)
           where dispute_id = $1 and (filed_at is null or filed_at <= $2)""", dispute_id, at, accept_by)


async def record_accepted(conn: asyncpg.Connection, dispute_id: UUID, at: datetime, decide_by: date | None,
                          case_number: str) -> None:
    await _row(conn, dispute_id, at)
    await conn.execute(
        """update case_status set accepted_at = $2, decide_by = $3, case_number = $4,
               updated_at = greatest(updated_at, $2)
           where dispute_id = $1 and (accepted_at is null or accepted_at <= $2)""",
        dispute_id, at, decide_by, case_number)


async def record_application_refused(conn: asyncpg.Connection, dispute_id: UUID, at: datetime) -> None:
    await _row(conn, dispute_id, at)
    await conn.execute(
        """update case_status set application_refused_at = $2, updated_at = greatest(updated_at, $2)
           where dispute_id = $1 and (application_refused_at is null or application_refused_at <= $2)""",
        dispute_id, at)


async def record_ruling(conn: asyncpg.Connection, dispute_id: UUID, at: datetime, valid: bool, case_number: str,
                        enforcement_by: date | None) -> None:
    await _row(conn, dispute_id, at)
    await conn.execute(
        """update case_status set ruled_at = $2, ruling_valid = $3, enforcement_by = $4,
               case_number = case when $5 = '' then case_number else $5 end, updated_at = greatest(updated_at, $2)
           where dispute_id = $1 and (ruled_at is null or ruled_at <= $2)""",
        dispute_id, at, valid, enforcement_by, case_number)


async def facts(conn: asyncpg.Connection, dispute_id: UUID) -> Facts | None:
    """The dispute's progress as the status page reads it; None for an unknown dispute."""
    d = await conn.fetchrow("select registered_at, dispute_type, status from disputes where dispute_id = $1",
                            dispute_id)
    if d is None:
        return None
    base = Facts(registered_at=d["registered_at"], dispute_type=d["dispute_type"], refused=d["status"] == "refused")
    s = await conn.fetchrow("select * from case_status where dispute_id = $1", dispute_id)
    if s is None:
        return base
    sessions = await conn.fetch(
        "select session_id, number, scheduled_for, place, video_link from case_status_sessions "
        "where dispute_id = $1 and cancelled_at is null order by scheduled_for", dispute_id)
    terms = tuple(Term(t["obligor"], t["obligee"], date.fromisoformat(t["deadline"]) if t["deadline"] else None)
                  for t in json.loads(s["terms"]))
    return Facts(
        registered_at=base.registered_at, dispute_type=base.dispute_type, refused=base.refused,
        assigned_at=s["assigned_at"], mediator_name=s["mediator_name"], organization_id=s["organization_id"],
        sessions=tuple(Session(**r) for r in sessions),
        agreement_effective_at=s["agreement_effective_at"], agreement_effective_on=s["agreement_effective_on"],
        terms=terms, ended_at=s["ended_at"], ended_in_failure=s["ended_in_failure"],
        routes_told=tuple(s["routes_told"]), returned_at=s["returned_at"],
        court_next_step=NextStep(s["court_next_step"]) if s["court_next_step"] in NextStep._value2member_map_
        else NextStep.UNKNOWN,
        filed_at=s["filed_at"], accept_by=s["accept_by"], accepted_at=s["accepted_at"], decide_by=s["decide_by"],
        case_number=s["case_number"], application_refused_at=s["application_refused_at"], ruled_at=s["ruled_at"],
        ruling_valid=s["ruling_valid"], enforcement_by=s["enforcement_by"], updated_at=s["updated_at"],
    )
