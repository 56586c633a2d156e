"""All of mediation's SQL. The case is one row (its aggregate document, written with an
optimistic row version) plus projections rewritten in the same transaction, so lists and
reports read columns instead of documents; documents and messages are append-only rows.
Callers hold the transaction: app.py opens it, loads, decides, saves and enqueues the events."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

import asyncpg

from liandiao.ids.masking import mask_name
from liandiao.pii import EncryptedColumn, EncryptedDocument, PiiCipher
from services.mediation.codec import CASE_AGGREGATE, Codec, reencrypt_document
from services.mediation.domain.false_mediation import CaseOfParty
from services.mediation.domain.model import Case, InPerson
from services.mediation.domain.signing_code import Challenge
from services.mediation.domain.states import CaseState

T = TypeVar("T")

# Personal data at rest (python -m liandiao.pii reencrypt --service mediation). The contexts
# are the ones mediation wrote before it used the platform helper, spelled the same way,
# so stored values read unchanged and there is nothing to rebind.
CASE_PARTY_NAME = EncryptedColumn("mediation", "case_parties", "name", "case_id", sub_id_column="party_id")
CASE_MESSAGE_BODY = EncryptedColumn("mediation", "case_messages", "body", "message_id")
PII_COLUMNS = (CASE_PARTY_NAME, CASE_MESSAGE_BODY,
               EncryptedDocument(CASE_AGGREGATE, reencrypt_document, version_column="row_version"))


def row_to(cls: type[T], record: asyncpg.Record | None) -> T | None:
    """The one row mapper: a record's columns named as the dataclass's fields."""
    if record is None:
        return None
    return cls(**{f.name: record[f.name] for f in fields(cls)})  # type: ignore[arg-type]


class Conflict(Exception):
    """Another writer saved the case first (two replicas, two clicks): decide again."""


@dataclass(frozen=True)
class Loaded:
    case: Case
    row_version: int
    trace_parent: str
    # The offices whose lawyers on duty follow the case (the registering office, the
    # referring station; liandiao.access.Relation.ON_DUTY): a fact of access, not of the case.
    offices: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentRow:
    document_id: UUID
    case_id: UUID
    kind: str
    file_name: str
    media_type: str
    size_bytes: int
    sha256: str
    sm3: str
    uploaded_by: str
    uploader_role: str
    uploaded_at: datetime
    description: str
    replaces_document_id: UUID | None


@dataclass(frozen=True)
class MessageRow:
    message_id: UUID
    case_id: UUID
    party_id: str
    author_id: str
    author_role: str
    body: str
    posted_at: datetime


_DOC_COLS = ", ".join(f.name for f in fields(DocumentRow))


class Store:
    def __init__(self, cipher: PiiCipher):
        self.cipher = cipher
        self.codec = Codec(cipher)

    # ---- cases ----------------------------------------------------------------------------

    async def insert_case(self, conn: asyncpg.Connection, case: Case, trace_parent: str,
                          next_sweep_at: datetime | None, registering_org_id: str = "") -> bool:
        due = case.clock.current
        inserted = await conn.fetchval(
            """insert into cases (case_id, dispute_id, region_code, dispute_type, source, court_procedure,
                   mediator_id, organization_id, referring_org_id, status, state, opened_at, period_name,
                   period_source, deadline_last_day, deadline_at, deadline_provisional, parties, trace_parent,
                   aggregate, row_version, mediator_ids, next_sweep_at, registering_org_id)
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14, $15, $16, null, $17,
                       $18::jsonb, 1, $19, $20, $21)
               on conflict (dispute_id) do nothing returning true""",
            case.case_id, case.dispute_id, case.region_code, case.dispute_type, case.source.value,
            case.court_procedure.value, case.presiding.person_id, case.organization_id, case.referring_org_id,
            case.state.value, case.clock.accepted_at, due.period.name, due.period.source, due.last_day,
            due.expires_at, due.provisional, trace_parent, json.dumps(self.codec.dump(case)),
            [m.person_id for m in case.mediators], next_sweep_at, registering_org_id)
        if inserted:
            await self._parties(conn, case)
            await self._project(conn, case, 0)
        return bool(inserted)

    async def _parties(self, conn: asyncpg.Connection, case: Case) -> None:
        await conn.executemany(
            """insert into case_parties (case_id, party_id, side, kind, name, masked_name, masked_id_number,
                   id_fingerprint, language) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               on conflict (case_id, party_id) do nothing""",
            [(case.case_id, p.party_id, p.side.value, p.kind.value,
              self.cipher.encrypt(p.name, context=CASE_PARTY_NAME.context(
                  CASE_PARTY_NAME.row_id(case.case_id, p.party_id))),
              mask_name(p.name), p.masked_id_number, p.id_fingerprint, p.language) for p in case.parties])

    async def load(self, conn: asyncpg.Connection, *, case_id: UUID | None = None, dispute_id: UUID | None = None,
                   for_update: bool = False) -> Loaded | None:
        column, key = ("case_id", case_id) if case_id is not None else ("dispute_id", dispute_id)
        row = await conn.fetchrow(
            f"""select aggregate, row_version, trace_parent, registering_org_id, referring_org_id from cases
                where {column} = $1 and aggregate is not null {'for update' if for_update else ''}""", key)
        if row is None:
            return None
        return Loaded(self.codec.load(json.loads(row["aggregate"])), row["row_version"], row["trace_parent"],
                      (row["registering_org_id"], row["referring_org_id"]))

    async def save(self, conn: asyncpg.Connection, before: Loaded, case: Case, next_sweep_at: datetime | None) -> None:
        due = case.clock.current
        saved = await conn.fetchval(
            """update cases set state = $3, status = $3, aggregate = $4::jsonb, row_version = row_version + 1,
                   mediator_id = $5, mediator_ids = $6, deadline_last_day = $7, deadline_at = $8,
                   deadline_provisional = $9, period_name = $10, period_source = $11, next_sweep_at = $12,
                   updated_at = now()
               where case_id = $1 and row_version = $2 returning true""",
            case.case_id, before.row_version, case.state.value, json.dumps(self.codec.dump(case)),
            case.presiding.person_id, [m.person_id for m in case.mediators], due.last_day, due.expires_at,
            due.provisional, due.period.name, due.period.source, next_sweep_at)
        if not saved:
            raise Conflict(f"case {case.case_id} changed since it was read")
        await self._project(conn, case, len(before.case.timeline))

    async def _project(self, conn: asyncpg.Connection, case: Case, timeline_from: int) -> None:
        cid = case.case_id
        await conn.executemany(
            """insert into case_timeline (case_id, seq, at, action, from_state, to_state, person_id,
                   organization_id, actor_role, reason) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
            [(cid, i, e.at, e.action, e.from_state.value if e.from_state else None, e.to_state.value,
              e.actor.person_id, e.actor.organization_id, e.actor.role.value, e.reason)
             for i, e in enumerate(case.timeline) if i >= timeline_from])
        for table in ("session_records",):
            await conn.execute(f"delete from {table} where session_id in "
                               "(select session_id from case_sessions where case_id = $1)", cid)
        await conn.execute("delete from case_sessions where case_id = $1", cid)
        await conn.executemany(
            """insert into case_sessions (session_id, case_id, number, state, scheduled_for, venue_kind, publicity,
                   times_rescheduled) values ($1, $2, $3, $4, $5, $6, $7, $8)""",
            [(s.session_id, cid, s.number, s.state.value, s.scheduled_for,
              "in_person" if isinstance(s.venue, InPerson) else "video", s.publicity.value, len(s.reschedules))
             for s in case.sessions])
        await conn.executemany(
            "insert into session_records (session_id, started_at, ended_at, participants, result) "
            "values ($1, $2, $3, $4, $5)",
            [(s.session_id, s.record.started_at, s.record.ended_at, len(s.record.participants), s.record.result.value)
             for s in case.sessions if s.record is not None])
        ids = [a.agreement_id for a in case.agreements]
        for table in ("agreement_copies", "agreement_seals", "agreement_signatures"):
            await conn.execute(f"delete from {table} where agreement_id = any($1)", ids)
        await conn.execute("delete from agreements where case_id = $1", cid)
        await conn.executemany(
            """insert into agreements (agreement_id, case_id, version, mode, state, template_key, digest, drafted_at,
                   agreed_on, effective_on, effective_at, copies) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                   $11, $12)""",
            [(a.agreement_id, cid, a.version, a.mode.value, a.state.value, a.template_key, a.digest, a.drafted_at,
              a.agreed_on, a.effective_on, a.effective_at, a.copies) for a in case.agreements])
        await conn.executemany(
            """insert into agreement_signatures (agreement_id, version, signer_id, role, method, signed_at, digest,
                   recorded_by) values ($1, $2, $3, $4, $5, $6, $7, $8)""",
            [(a.agreement_id, a.version, s.signer_id, s.role.value, s.method.value, s.signed_at, s.digest,
              s.recorded_by) for a in case.agreements for s in a.signatures])
        await conn.executemany(
            """insert into agreement_seals (agreement_id, version, key_id, signature, digest, applied_at)
               values ($1, $2, $3, $4, $5, $6)""",
            [(a.agreement_id, a.version, a.seal.signature.key_id, a.seal.signature.value, a.seal.digest,
              a.seal.applied_at) for a in case.agreements if a.seal is not None])
        await conn.executemany(
            "insert into agreement_copies (agreement_id, copy_no, holder) values ($1, $2, $3)",
            [(a.agreement_id, i + 1, holder) for a in case.agreements if a.effective_on is not None
             for i, holder in enumerate([*(p.party_id for p in a.content.parties), "committee"])])
        t = case.termination
        if t is not None:
            await conn.execute(
                """insert into terminations (case_id, ground, reason, routes_told, terminated_at, returned_to_court,
                       court_next_step) values ($1, $2, $3, $4, $5, $6, $7) on conflict (case_id) do nothing""",
                cid, t.ground.value, t.reason, list(t.routes_told), t.at, t.returned_to_court,
                t.court_next_step.value if t.court_next_step else "")
        await conn.execute("delete from follow_ups where case_id = $1", cid)
        await conn.executemany(
            """insert into follow_ups (visit_id, case_id, visited_on, result, next_visit_on, recorded_at)
               values ($1, $2, $3, $4, $5, $6)""",
            [(f.visit_id, cid, f.visited_on, f.result.value, f.next_visit_on, f.recorded_at) for f in case.follow_ups])

    async def case_of_session(self, conn: asyncpg.Connection, session_id: str) -> UUID | None:
        return await conn.fetchval("select case_id from case_sessions where session_id = $1", session_id)

    async def cases_of_parties(self, conn: asyncpg.Connection, organization_id: str, fingerprints: list[str],
                               since: datetime) -> list[CaseOfParty]:
        """The committee's cases opened since `since` with a party of one of these ID fingerprints
        (the false-mediation rule; the domain decides the exact window)."""
        rows = await conn.fetch(
            """select distinct c.case_id, c.opened_at, p.id_fingerprint from case_parties p
                 join cases c on c.case_id = p.case_id
                where p.id_fingerprint = any($2::text[]) and c.organization_id = $1 and c.opened_at >= $3""",
            organization_id, [f for f in fingerprints if f], since)
        return [CaseOfParty(r["case_id"], r["opened_at"], r["id_fingerprint"]) for r in rows]

    async def case_of_agreement(self, conn: asyncpg.Connection, agreement_id: str) -> UUID | None:
        return await conn.fetchval("select case_id from agreements where agreement_id = $1", agreement_id)

    async def list_cases(self, conn: asyncpg.Connection, visible: str, params: list[object], mediator_id: str,
                         region_prefix: str, state: str, limit: int, offset: int) -> list[Case]:
        rows = await conn.fetch(
            f"""select aggregate from cases
                where aggregate is not null and ($1 = '' or $1 = any(mediator_ids))
                  and region_code like $2 || '%' and ($3 = '' or state = $3) and {visible}
                order by opened_at desc, case_id limit $4 offset $5""",
            mediator_id, region_prefix, state, limit, offset, *params)
        return [self.codec.load(json.loads(r["aggregate"])) for r in rows]

    async def due_for_sweep(self, conn: asyncpg.Connection, now: datetime, limit: int) -> list[UUID]:
        """Cases the sweep should decide on now, locked; another replica's sweep skips them."""
        rows = await conn.fetch(
            """select case_id from cases where next_sweep_at <= $1 and aggregate is not null
               order by next_sweep_at limit $2 for update skip locked""", now, limit)
        return [r["case_id"] for r in rows]

    async def postpone_sweep(self, conn: asyncpg.Connection, case_id: UUID, at: datetime | None) -> None:
        await conn.execute("update cases set next_sweep_at = $2 where case_id = $1", case_id, at)

    async def provisional_deadlines(self, conn: asyncpg.Connection) -> list[UUID]:
        rows = await conn.fetch(
            """select case_id from cases where deadline_provisional and aggregate is not null
                 and state in ('opened', 'in_session', 'agreement_drafted', 'suspended')
               for update skip locked""")
        return [r["case_id"] for r in rows]

    async def legacy_cases(self, conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
        """Rows written before 0002 (routing's parties bytes, no aggregate), locked."""
        return await conn.fetch(
            """select case_id, dispute_id, region_code, dispute_type, source, court_procedure, mediator_id,
                      organization_id, referring_org_id, opened_at, parties, trace_parent from cases
               where aggregate is null limit $1 for update skip locked""", limit)

    async def convert_legacy(self, conn: asyncpg.Connection, case: Case, next_sweep_at: datetime | None) -> None:
        await conn.execute(
            """update cases set aggregate = $2::jsonb, row_version = 1, parties = null, state = $3, status = $3,
                   mediator_ids = $4, next_sweep_at = $5 where case_id = $1""",
            case.case_id, json.dumps(self.codec.dump(case)), case.state.value,
            [m.person_id for m in case.mediators], next_sweep_at)
        await self._parties(conn, case)
        await self._project(conn, case, 0)

    # ---- documents and messages -----------------------------------------------------------

    async def insert_document(self, conn: asyncpg.Connection, row: DocumentRow, content: bytes) -> DocumentRow:
        """The stored document; an identical file already in the case is that upload (never a
        second copy, never a silent replacement)."""
        existing = row_to(DocumentRow, await conn.fetchrow(
            f"select {_DOC_COLS} from case_documents where case_id = $1 and sha256 = $2", row.case_id, row.sha256))
        if existing is not None:
            return existing
        values = [getattr(row, f.name) for f in fields(DocumentRow)]
        cols = [f.name for f in fields(DocumentRow)] + ["content"]
        await conn.execute(
            f"insert into case_documents ({', '.join(cols)}) values ({', '.join(f'${i + 1}' for i in range(len(cols)))})",
            *values, content)
        return row

    async def document(self, conn: asyncpg.Connection, document_id: UUID) -> DocumentRow | None:
        return row_to(DocumentRow, await conn.fetchrow(
            f"select {_DOC_COLS} from case_documents where document_id = $1", document_id))

    async def replaced(self, conn: asyncpg.Connection, document_id: UUID) -> bool:
        return bool(await conn.fetchval(
            "select true from case_documents where replaces_document_id = $1", document_id))

    async def documents(self, conn: asyncpg.Connection, case_id: UUID, limit: int = 200,
                        offset: int = 0) -> list[DocumentRow]:
        rows = await conn.fetch(
            f"""select {_DOC_COLS} from case_documents where case_id = $1 order by uploaded_at, document_id
                limit $2 offset $3""", case_id, limit, offset)
        return [r for r in (row_to(DocumentRow, x) for x in rows) if r is not None]

    async def insert_message(self, conn: asyncpg.Connection, m: MessageRow) -> None:
        await conn.execute(
            """insert into case_messages (message_id, case_id, party_id, author_id, author_role, body, posted_at)
               values ($1, $2, $3, $4, $5, $6, $7)""",
            m.message_id, m.case_id, m.party_id, m.author_id, m.author_role,
            self.cipher.encrypt(m.body, context=CASE_MESSAGE_BODY.context(m.message_id)), m.posted_at)

    async def messages(self, conn: asyncpg.Connection, case_id: UUID, limit: int = 200,
                       offset: int = 0) -> list[MessageRow]:
        rows = await conn.fetch(
            """select message_id, case_id, party_id, author_id, author_role, body, posted_at from case_messages
               where case_id = $1 order by posted_at, message_id limit $2 offset $3""", case_id, limit, offset)
        return [MessageRow(**{**dict(r), "body": CASE_MESSAGE_BODY.decrypt(self.cipher, r["body"], r["message_id"])})
                for r in rows]

    # ---- figures for the demo -------------------------------------------------------------

    # ---- one-time codes of online e-signatures ------------------------------------------------

    async def insert_challenge(self, conn: asyncpg.Connection, c: Challenge) -> None:
        """A new code for a party and an agreement voids the codes sent before it."""
        await conn.execute("delete from signing_challenges where agreement_id = $1 and party_id = $2 "
                           "and used_at is null", c.agreement_id, c.party_id)
        await conn.execute(
            """insert into signing_challenges (challenge_id, agreement_id, party_id, digest, code_hash, issued_at,
                                               expires_at, attempts, used_at)
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            UUID(c.challenge_id), c.agreement_id, c.party_id, c.digest, c.code_hash, c.issued_at, c.expires_at,
            c.attempts, c.used_at)

    async def latest_challenge(self, conn: asyncpg.Connection, agreement_id: str, party_id: str) -> Challenge | None:
        r = await conn.fetchrow("select * from signing_challenges where agreement_id = $1 and party_id = $2 "
                                "order by issued_at desc limit 1 for update", agreement_id, party_id)
        if r is None:
            return None
        return Challenge(challenge_id=str(r["challenge_id"]), agreement_id=r["agreement_id"], party_id=r["party_id"],
                         digest=r["digest"], code_hash=r["code_hash"], issued_at=r["issued_at"],
                         expires_at=r["expires_at"], attempts=r["attempts"], used_at=r["used_at"])

    async def save_challenge(self, conn: asyncpg.Connection, c: Challenge) -> None:
        await conn.execute("update signing_challenges set attempts = $2, used_at = $3 where challenge_id = $1",
                           UUID(c.challenge_id), c.attempts, c.used_at)

    async def figures(self, conn: asyncpg.Connection) -> dict[str, Any]:
        by_state = {r["state"]: r["n"] for r in await conn.fetch(
            "select state, count(*) as n from cases group by state")}
        grounds = {r["ground"]: r["n"] for r in await conn.fetch(
            "select ground, count(*) as n from terminations group by ground")}
        return {"by_state": by_state, "grounds": grounds}


def terminal(state: CaseState) -> bool:
    return state in (CaseState.TERMINATED, CaseState.RETURNED_TO_COURT, CaseState.CLOSED)


def iso(d: date | None) -> str:
    return d.isoformat() if d else ""
