"""The parties' case code (一案一码, issue 11) as intake's use cases: the code issued
with a registration, the receipt a clerk prints, the status a party reads with the
code and the last four digits of their phone, and the projection of the platform's
events that status is read from.

Storage: the code is looked up by a keyed hash (HMAC-SHA256 under the fingerprint
key, liandiao.pii) and kept beside it encrypted under the PII key, bound to its
dispute, only so that the receipt can be printed again. A reader of the database
holds neither key, so neither column gives a code away; a party's phone is decrypted
only for the parties of the one dispute the code names.

Against guessing (services.intake.domain.lookups): a wrong code and wrong digits get
the same NOT_FOUND; failures are counted per code and per client address in the
database, under row locks, so the limit holds across replicas; a lock answers
RESOURCE_EXHAUSTED whatever is asked. Every look-up, refused or not, is audited."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import quote
from uuid import UUID

import asyncpg

from liandiao import access, audit
from liandiao.auth import Claims
from liandiao.errors import Exhausted, FieldViolation, InvalidInput, NotFound, parse_uuid
from liandiao.events.consumer import ConsumedEvent
from liandiao.ids import mask_name
from liandiao.legaltime import HolidayCalendar, load_calendar
from liandiao.pii import PiiCipher
from liandiao.rpc.convert import aware
from services.intake import access as policy
from services.intake import receipt as printed
from services.intake import status_store, store
from services.intake.domain import casecode
from services.intake.domain.lookups import LookupPolicy, after_failure, is_locked
from services.intake.domain.status import NextStep, Session, Term, View, describe

log = logging.getLogger(__name__)

# The one answer to a code that names no dispute and to digits that match no party of it.
NO_MATCH = "no dispute matches this case code and these phone digits"
_NOBODY = UUID(int=0)
_DRAWS = 8   # fresh codes tried when one is taken (a collision of 45 random bits: never in practice)


@dataclass(frozen=True)
class ReceiptOut:
    dispute_id: UUID
    code: str
    status_url: str
    qr_svg: str
    qr_png: bytes
    pdf: bytes
    registered_at: datetime


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def client_key(address: str) -> str:
    """The client a failure is counted against: an IPv4 address, or an IPv6 address's
    /64 (one household or phone is given a whole /64)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        raise InvalidInput(FieldViolation("client_address", "is not an IP address")) from None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


class CaseCodes:
    def __init__(self, pool: asyncpg.Pool, pii: PiiCipher, status_base_url: str,
                 lookup_policy: LookupPolicy | None = None, calendar: HolidayCalendar | None = None):
        self.pool, self.pii = pool, pii
        self.status_base_url = status_base_url.rstrip("/")
        self.policy = lookup_policy or LookupPolicy()
        self.calendar = (calendar or load_calendar()).with_weekend_fallback()

    # ---- codes ---------------------------------------------------------------------
    def fingerprint(self, code: str) -> str:
        return self.pii.fingerprint(casecode.lookup_input(code))

    def status_url(self, code: str) -> str:
        """The console's party page with the code filled in (what the QR code holds)."""
        return f"{self.status_base_url}/party/?code={quote(casecode.shown(code))}"

    async def issue(self, conn: asyncpg.Connection, dispute_id: UUID, now: datetime) -> str:
        """A new code for ``dispute_id``, stored on ``conn`` (the registration's own
        transaction: the dispute and its code commit together)."""
        for _ in range(_DRAWS):
            code = casecode.new_code()
            row = status_store.CodeRow(dispute_id, self.fingerprint(code),
                                       status_store.CASE_CODE.encrypt(self.pii, code, dispute_id) or b"", now)
            if await status_store.insert_code(conn, row):
                return code
            existing = await self.code_of(conn, dispute_id)
            if existing:
                return existing
        raise RuntimeError("no free case code after several draws")

    async def code_of(self, conn: asyncpg.Connection, dispute_id: UUID) -> str:
        """The dispute's code ("" when it has none yet)."""
        blob = await status_store.code_of(conn, dispute_id)
        return status_store.CASE_CODE.decrypt(self.pii, blob, dispute_id) or "" if blob else ""

    async def code_for(self, conn: asyncpg.Connection, dispute_id: UUID, now: datetime | None = None) -> str:
        """The dispute's code, issued now if it has none (a dispute of before codes)."""
        return await self.code_of(conn, dispute_id) or await self.issue(conn, dispute_id, now or datetime.now(UTC))

    async def issue_missing(self, batch: int = 500) -> int:
        """Gives every dispute registered before case codes existed its code (run once
        at start; the disputes' parties learn theirs from a reprinted receipt)."""
        issued = 0
        while True:
            async with self.pool.acquire() as conn:
                missing = await status_store.disputes_without_code(conn, batch)
                for dispute_id in missing:
                    async with conn.transaction():
                        await self.code_for(conn, dispute_id)
                    issued += 1
            if len(missing) < batch:
                if issued:
                    log.info("case codes issued to earlier disputes", extra={"count": issued})
                return issued

    async def receipt(self, dispute_id: str, caller: Claims) -> ReceiptOut:
        """The receipt of a dispute, for a caller who may see it (as GetDispute)."""
        key = parse_uuid("dispute_id", dispute_id)
        async with self.pool.acquire() as conn:
            found = await store.get_dispute(conn, key)
            facts = policy.facts(found.dispute.region_code, {g.referring_org_id for g in found.registrations}) \
                if found else None
            access.check_see(policy.DISPUTE, caller, facts, f"dispute {dispute_id}")
            assert found is not None
            async with conn.transaction():
                code = await self.code_for(conn, key)
                await audit.record(conn, caller, audit.Action.READ, "case-code", str(key), found.dispute.region_code,
                                   reason="receipt")
        url = self.status_url(code)
        d = found.dispute
        return ReceiptOut(key, code, url, printed.qr_svg(url), printed.qr_png(url),
                          printed.receipt_pdf(casecode.shown(code), url, d.registered_at, d.dispute_type),
                          d.registered_at)

    # ---- the party's look-up ---------------------------------------------------------
    async def status(self, code_text: str, phone_last4: str, client_address: str, language: str,
                     caller: Claims, now: datetime | None = None) -> View:
        now = now or datetime.now(UTC)
        code = casecode.canonical(code_text)
        bad = []
        if code is None:
            bad.append(FieldViolation("case_code", "is not a case code: 10 characters as on the receipt, "
                                                   "the last a check character"))
        if not (len(phone_last4) == 4 and phone_last4.isascii() and phone_last4.isdigit()):
            bad.append(FieldViolation("phone_last4", "must be the last 4 digits of the phone"))
        if not client_address.strip():
            bad.append(FieldViolation("client_address", "required"))
        if language not in ("", "zh", "en", "zh-CN"):
            bad.append(FieldViolation("language", "must be zh or en"))
        if bad:
            raise InvalidInput(bad)
        client = self.pii.fingerprint(f"liandiao/status-client/v1:{client_key(client_address)}")
        fp = self.fingerprint(code or "")
        code_key, client_counter = f"code:{fp}", f"client:{client}"
        shown_fp = fp[:16]
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                counters = await status_store.lock_counters(conn, [code_key, client_counter], now)
                locks = [c.locked_until for c in counters.values() if is_locked(c, now) and c.locked_until]
                if locks:
                    await audit.record(conn, caller, audit.Action.READ, "case-code", shown_fp,
                                       reason=f"refused, locked; client {client[:12]}")
                    outcome: str | View = "locked"
                    wait = max(int((max(locks) - now).total_seconds()) + 1, 1)
                else:
                    outcome = await self._answer(conn, fp, phone_last4, language, caller, now, client)
                    if isinstance(outcome, str):
                        for k, limit in ((code_key, self.policy.code_failures),
                                         (client_counter, self.policy.client_failures)):
                            await status_store.save_counter(conn, k, after_failure(counters[k], limit, self.policy,
                                                                                   now))
                    else:
                        await status_store.forget_counter(conn, code_key)
        # Raised after the transaction, so that the failure it counts is committed.
        if outcome == "locked":
            raise Exhausted("too many attempts: try again later", wait)
        if isinstance(outcome, str):
            raise NotFound(NO_MATCH)
        return outcome

    async def _answer(self, conn: asyncpg.Connection, fp: str, last4: str, language: str, caller: Claims,
                      now: datetime, client: str) -> View | str:
        """The view, or "no match". Both paths read the same rows (an unknown code reads
        the parties of no dispute), so neither is noticeably quicker."""
        dispute_id = await status_store.dispute_by_code(conn, fp)
        contacts = await status_store.party_contacts(conn, dispute_id or _NOBODY)
        matches = []
        for p in contacts:
            phone = store.PARTY_PHONE.decrypt(self.pii, p.phone_enc, p.party_id) or ""
            if len(phone) >= 4 and hmac.compare_digest(phone[-4:].encode(), last4.encode()):
                matches.append(p)
        if dispute_id is None or not matches:
            await audit.record(conn, caller, audit.Action.READ, "case-code", fp[:16],
                               reason=f"refused, no match; client {client[:12]}")
            return "no match"
        facts = await status_store.facts(conn, dispute_id)
        assert facts is not None
        # Two parties with the same last four digits: the page names neither.
        asker = matches[0] if len(matches) == 1 else None
        region = await conn.fetchval("select region_code from disputes where dispute_id = $1", dispute_id)
        await audit.record(conn, caller, audit.Action.READ, "case-status", str(dispute_id), region,
                           reason=f"party {asker.party_id if asker else 'ambiguous'}; client {client[:12]}")
        return describe(facts, party_id=str(asker.party_id) if asker else "",
                        masked_name=mask_name(asker.name) if asker else "", now=now,
                        language="en" if language == "en" else "zh", calendar=self.calendar)

    async def prune(self, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        return await status_store.prune_counters(self.pool, now - self.policy.window - self.policy.lock, now)

    # ---- the status projection (consumer intake.status) ------------------------------
    async def on_event(self, conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        """One event of a dispute's progress into its status; an event of a dispute
        intake does not hold (another deployment's, a test's) is dropped."""
        m = event.payload
        dispute_id = parse_uuid("dispute_id", m.dispute_id)
        if not await status_store.dispute_exists(conn, dispute_id):
            return
        at_event = event.envelope.occurred_at
        kind = event.envelope.event_type.split(".")[1] if "." in event.envelope.event_type else ""
        handler = _HANDLERS.get(kind)
        if handler is not None:
            await handler(conn, dispute_id, m, at_event)


def _at(ts, fallback: datetime) -> datetime:
    return aware(ts) if ts.seconds or ts.nanos else fallback


async def _assigned(conn, dispute_id, m, at):
    await status_store.record_assigned(conn, dispute_id, _at(m.accepted_at, at), m.mediator_id, m.mediator_name,
                                       m.organization_id)


async def _session(conn, dispute_id, m, at):
    await status_store.record_session(conn, dispute_id, Session(m.session_id, m.number, aware(m.scheduled_for),
                                                                m.place, m.video_link), at)


async def _session_cancelled(conn, dispute_id, m, at):
    await status_store.record_session_cancelled(conn, dispute_id, Session(m.session_id, m.number,
                                                                          aware(m.scheduled_for), m.place,
                                                                          m.video_link), _at(m.cancelled_at, at))


async def _agreement(conn, dispute_id, m, at):
    terms = [Term(t.obligor_id, t.obligee_id, _date(t.deadline)) for t in m.content.terms]
    await status_store.record_agreement(conn, dispute_id, _at(m.effective_at, at), _date(m.effective_on),
                                        m.agreement_id, terms)


async def _failed(conn, dispute_id, m, at):
    await status_store.record_ended(conn, dispute_id, _at(m.terminated_at, at), m.failure, list(m.routes_told))


async def _returned(conn, dispute_id, m, at):
    from liandiao.mediation.v1 import mediation_pb2 as mp
    step = {mp.COURT_NEXT_STEP_REGISTER_IF_PARTY_INSISTS: NextStep.REGISTER_IF_PARTY_INSISTS,
            mp.COURT_NEXT_STEP_RESUME_TRIAL: NextStep.RESUME_TRIAL}.get(m.next_step, NextStep.UNKNOWN)
    await status_store.record_returned(conn, dispute_id, _at(m.returned_at, at), step.value)


async def _filed(conn, dispute_id, m, at):
    await status_store.record_filed(conn, dispute_id, _at(m.filed_at, at), _date(m.accept_by.last_day))


async def _accepted(conn, dispute_id, m, at):
    await status_store.record_accepted(conn, dispute_id, _at(m.accepted_at, at), _date(m.decide_by.last_day),
                                       m.case_number)


async def _refused(conn, dispute_id, m, at):
    await status_store.record_application_refused(conn, dispute_id, _at(m.refused_at, at))


async def _ruled(conn, dispute_id, m, at):
    from liandiao.confirmation.v1 import confirmation_pb2 as cp
    await status_store.record_ruling(conn, dispute_id, _at(m.issued_at, at), m.outcome == cp.RULING_OUTCOME_VALID,
                                     m.case_number, _date(m.enforcement_by.last_day))


# By the event's name (the event-type header "<service>.<event>.v1").
_HANDLERS = {
    "dispute-assigned": _assigned,
    "session-scheduled": _session,
    "session-cancelled": _session_cancelled,
    "agreement-effective": _agreement,
    "mediation-failed": _failed,
    "case-returned-to-court": _returned,
    "application-filed": _filed,
    "application-accepted": _accepted,
    "application-refused": _refused,
    "ruling-issued": _ruled,
}
