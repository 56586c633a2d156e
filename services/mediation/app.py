"""Mediation use cases: load the case, let the pure domain decide (domain/*.decide_*), store the
case and its events (outbox) in one transaction. No SQL here (store.py), no protobuf beyond the
outbox messages (convert.py). A disallowed transition is the domain's TransitionNotAllowed
(FAILED_PRECONDITION naming the state and the action); the caller's right to act is checked
first by the one access policy (liandiao.access), then the domain's own who-may rules."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import asyncpg

from liandiao import access, audit, dutyrota, telemetry
from liandiao.auth import Claims, Role
from liandiao.errors import FieldViolation, InvalidInput, NotFound, parse_uuid
from liandiao.events import catalog, outbox
from liandiao.events.consumer import ConsumedEvent
from liandiao.ids import prefecture_of
from liandiao.legaltime import HolidayCalendar, load_calendar, start_of_china_day, to_china_date
from liandiao.mediation.v1 import mediation_pb2
from liandiao.pii import PiiCipher
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc.convert import aware
from liandiao.rpc.enums import CASE_SOURCE, COURT_PROCEDURE
from liandiao.rpc.paging import region_filter
from liandiao.signing import KeyEntry, KeyRing, PrivateKey, Signer, sm3_hex
from liandiao.uuid7 import uuid7
from services.mediation import access as case_access
from services.mediation import convert
from services.mediation.domain import agreement as ag
from services.mediation.domain import clock as ck
from services.mediation.domain import ending as en
from services.mediation.domain import false_mediation as fm
from services.mediation.domain import sessions as se
from services.mediation.domain import signing_code as sc
from services.mediation.domain.content import PartyKind, PartySide, SignatureMethod, SignerRole
from services.mediation.domain.document import canonical_document
from services.mediation.domain.events import AgreementEffective
from services.mediation.domain.model import (
    Actor,
    ActorRole,
    Case,
    CaseSource,
    CourtProcedure,
    Decision,
    Party,
    Policy,
)
from services.mediation.domain.rules import OpenCase, case_deadline, open_case
from services.mediation.domain.states import AgreementState, CaseState
from services.mediation.store import DocumentRow, Loaded, MessageRow, Store

SOURCE, PROCEDURE = CASE_SOURCE, COURT_PROCEDURE
log = logging.getLogger(__name__)

# Documents: what a case file may hold (evidence photos, scans, PDFs), and how large.
DOCUMENT_TYPES = {"application/pdf": (b"%PDF-",), "image/jpeg": (b"\xff\xd8\xff",),
                  "image/png": (b"\x89PNG\r\n\x1a\n",)}
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024  # under the 4 MiB request limit with room for the rest


@dataclass(frozen=True)
class Settings:
    """Mediation's own configuration (main.load_config)."""
    peoples_mediation_days: int | None = None
    reminder_working_days: int = 3
    follow_up_months: int = 3
    sweep_seconds: float = 30.0
    retention_years: int = 30   # case files (卷宗) kept this long after closing
    policy: Policy = field(default_factory=Policy)
    false_mediation: fm.FalseMediationRules = field(default_factory=fm.FalseMediationRules)


class SigningKeys:
    """The committees' seal keys: the configured key ring (LIANDIAO_SIGNING_KEYS_FILE), or, in
    development without one, a key made per organization on first use (kept in memory: a
    restart makes new keys, seals already applied stay verified in the case's timeline)."""

    def __init__(self, ring: KeyRing | None = None, signers: dict[str, Signer] | None = None,
                 generate: bool = False):
        self.ring = ring or KeyRing()
        self.signers = dict(signers or {})
        self.generate = generate

    def signer(self, organization_id: str) -> Signer:
        found = self.signers.get(organization_id)
        if found is None and self.generate:
            private = PrivateKey.generate()
            found = Signer(f"{organization_id}-dev-{uuid7().hex[-8:]}", organization_id, private)
            self.ring = self.ring.with_entry(KeyEntry(found.key_id, organization_id, private.public_key()))
            self.signers[organization_id] = found
        if found is None:
            raise NotFound(f"no seal key for organization {organization_id}")
        return found


def actor_of(caller: Claims) -> Actor:
    role = {Role.MEDIATOR: ActorRole.MEDIATOR, Role.LAWYER: ActorRole.MEDIATOR, Role.CLERK: ActorRole.CLERK,
            Role.SERVICE: ActorRole.SYSTEM}.get(caller.role, ActorRole.OFFICIAL)
    return Actor(caller.subject, caller.organization_id, role)


def facts(case: Case, on_duty: frozenset[str] = frozenset()) -> access.Facts:
    return case_access.facts(case.region_code, case.organization_id, case.referring_org_id,
                             *(m.person_id for m in case.mediators), on_duty=on_duty)


async def facts_of(conn: asyncpg.Connection, caller: Claims, loaded: Loaded | None) -> access.Facts | None:
    """What the policy knows of a loaded case for ``caller``, the duty rota included."""
    if loaded is None:
        return None
    return facts(loaded.case, await dutyrota.caller_on_duty(conn, caller, loaded.offices))


def _date(value: str, field_name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(FieldViolation(field_name, "an ISO date, e.g. 2026-03-31")) from None


class Mediation:
    def __init__(self, pool: asyncpg.Pool, cipher: PiiCipher, settings: Settings | None = None,
                 calendar: HolidayCalendar | None = None, keys: SigningKeys | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.pool = pool
        self.settings = settings or Settings()
        self.calendar = (calendar or load_calendar()).with_weekend_fallback()
        self.policy = replace(self.settings.policy, peoples_mediation_days=self.settings.peoples_mediation_days,
                              reminder_working_days=self.settings.reminder_working_days,
                              follow_up_months=self.settings.follow_up_months)
        self.store = Store(cipher)
        self.cipher = cipher
        self.keys = keys or SigningKeys(generate=True)
        self.now = now

    # ---- opening ----------------------------------------------------------------------------

    async def on_dispute_assigned(self, conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        """The mediator accepted (routing's dispute-assigned): the case opens with its own
        copy of the dispute and the parties, the clock from the acceptance."""
        a: routing_pb2.DisputeAssigned = event.payload
        source = CaseSource(SOURCE.to_domain(a.source) or CaseSource.PARTY_APPLICATION.value)
        procedure = CourtProcedure(PROCEDURE.to_domain(a.court_procedure) or "")
        parties = tuple(Party(party_id=p.party_id, name=p.display_name,
                              side=PartySide(convert.SIDE.to_domain(p.side) or PartySide.APPLICANT.value),
                              kind=PartyKind(convert.KIND.to_domain(p.kind) or PartyKind.NATURAL_PERSON.value),
                              masked_id_number=p.masked_id_number, id_fingerprint=p.id_fingerprint,
                              language=p.language or "zh") for p in a.parties)
        command = OpenCase(case_id=uuid7(), dispute_id=UUID(a.dispute_id), region_code=a.region_code,
                           dispute_type=a.dispute_type, source=source, court_procedure=procedure,
                           organization_id=a.organization_id, referring_org_id=a.referring_org_id,
                           parties=parties, mediator_id=a.mediator_id,
                           accepted_at=aware(a.accepted_at))
        decision = self._open(command)
        if await self.store.insert_case(conn, decision.case, event.envelope.traceparent,
                                        self._next_sweep(decision.case), a.registering_org_id):
            telemetry.BUSINESS.labels("mediation", "case_opened", prefecture_of(a.region_code), a.dispute_type).inc()

    def _open(self, command: OpenCase) -> Decision:
        """The domain's opening. A registration that reached us without a party of each side or
        without its court still opens (the clock started with the acceptance): the check that
        failed is met with stand-ins and the case keeps what it was given; the mediator completes it."""
        try:
            return open_case(command, self.calendar, self.policy)
        except InvalidInput as exc:
            log.warning("case opened with incomplete registration", extra={"dispute_id": str(command.dispute_id),
                                                                            "problem": str(exc)})
        decision = open_case(replace(command, parties=_STAND_IN, referring_org_id=command.referring_org_id or "-"),
                             self.calendar, self.policy)
        return replace(decision, case=replace(decision.case, parties=command.parties,
                                              referring_org_id=command.referring_org_id))

    # ---- reading ----------------------------------------------------------------------------

    async def get(self, caller: Claims, case_id: str = "", dispute_id: str = "") -> Case:
        column, value = ("case_id", case_id) if case_id else ("dispute_id", dispute_id)
        try:
            key = UUID(value)
        except ValueError:
            raise InvalidInput(FieldViolation(column, "is not a UUID" if value else "required: give case_id or dispute_id")) from None
        async with self.pool.acquire() as conn:
            loaded = await (self.store.load(conn, case_id=key) if case_id else self.store.load(conn, dispute_id=key))
            seen = await facts_of(conn, caller, loaded)
        found = loaded.case if loaded else None
        access.check_see(case_access.CASE, caller, seen, f"case for {column} {value}")
        assert found is not None
        await audit.record(self.pool, caller, audit.Action.READ, "case", str(found.case_id), found.region_code)
        return found

    async def list(self, caller: Claims, mediator_id: str, region_prefix: str, state: str, limit: int,
                   offset: int) -> list[Case]:
        """The cases ``caller`` may see (filtered in SQL by the access policy), newest first."""
        region_prefix = region_filter(region_prefix)
        visible, params = access.visible_sql(case_access.CASE, caller, case_access.COLUMNS, 6,
                                             region_prefix=region_prefix)
        async with self.pool.acquire() as conn:
            cases = await self.store.list_cases(conn, visible, params, mediator_id, region_prefix, state, limit,
                                                offset)
            await audit.record(conn, caller, audit.Action.READ, "case", [str(c.case_id) for c in cases])
        return cases

    async def agreement(self, caller: Claims, agreement_id: str) -> tuple[Case, bytes]:
        if not agreement_id:
            raise InvalidInput(FieldViolation("agreement_id", "required"))
        async with self.pool.acquire() as conn:
            case_id = await self.store.case_of_agreement(conn, agreement_id)
            loaded = await self.store.load(conn, case_id=case_id) if case_id else None
            seen = await facts_of(conn, caller, loaded)
        found = loaded.case if loaded else None
        access.check_see(case_access.CASE, caller, seen, f"agreement {agreement_id}")
        assert found is not None
        a = next(x for x in found.agreements if x.agreement_id == agreement_id)
        await audit.record(self.pool, caller, audit.Action.READ, "case", str(found.case_id), found.region_code)
        return found, canonical_document(a)

    # ---- the one way a command runs ---------------------------------------------------------

    async def _run(self, caller: Claims, what: str, action: str, decide: Callable[[Case, Actor, datetime], Decision],
                   *, case_id: str = "", session_id: str = "", agreement_id: str = "",
                   rule: access.Rule = case_access.CASE) -> Case:
        now = self.now()
        async with self.pool.acquire() as conn, conn.transaction():
            key = await self._resolve(conn, case_id, session_id, agreement_id, what)
            loaded = await self.store.load(conn, case_id=key, for_update=True) if key else None
            access.check_act(rule, caller, await facts_of(conn, caller, loaded), what, action)
            assert loaded is not None
            decision = await self._commit(conn, loaded, decide(loaded.case, actor_of(caller), now))
            await audit.record(conn, caller, audit.Action.CHANGE, "case", str(loaded.case.case_id),
                               loaded.case.region_code)
        return decision.case

    async def _resolve(self, conn: asyncpg.Connection, case_id: str, session_id: str,
                       agreement_id: str, what: str) -> UUID | None:
        """The case a command is about, by the key its request carries (`what` names it)."""
        if what.startswith("session"):
            if not session_id:
                raise InvalidInput(FieldViolation("session_id", "required"))
            return await self.store.case_of_session(conn, session_id)
        if what.startswith("agreement"):
            if not agreement_id:
                raise InvalidInput(FieldViolation("agreement_id", "required"))
            return await self.store.case_of_agreement(conn, agreement_id)
        if not case_id:
            raise InvalidInput(FieldViolation("case_id", "required"))
        return parse_uuid("case_id", case_id)

    async def _commit(self, conn: asyncpg.Connection, loaded: Loaded, decision: Decision) -> Decision:
        """Store the case and its events; returns what was stored (the false-mediation rule
        may have added to the decision)."""
        decision = await self._false_mediation_rule(conn, decision)
        case = decision.case
        await self.store.save(conn, loaded, case, self._next_sweep(case))
        for event in decision.events:
            out = convert.published(case, event, self.cipher.fingerprint)
            if out is not None:
                kind, message = out
                await outbox.enqueue(conn, kind, message, dispute_id=str(case.dispute_id),  # type: ignore[arg-type]
                                     region_code=case.region_code, journey_traceparent=loaded.trace_parent,
                                     now=event.at)
            name = type(event).__name__
            if name in ("AgreementEffective", "MediationTerminated", "CaseReturnedToCourt", "SessionHeld"):
                telemetry.BUSINESS.labels("mediation", name, prefecture_of(case.region_code), case.dispute_type).inc()
        return decision

    async def _false_mediation_rule(self, conn: asyncpg.Connection, decision: Decision) -> Decision:
        """Every way an agreement takes effect (seal, the last e-signature, an oral agreement's
        date) passes here: the rule (domain/false_mediation.py) may hold and report it at once,
        in the same transaction, so no effective agreement escapes the check."""
        effective = next((e for e in decision.events if isinstance(e, AgreementEffective)), None)
        if effective is None:
            return decision
        case, rules = decision.case, self.settings.false_mediation
        others: list[fm.CaseOfParty] = []
        if rules.repeat_cases and rules.repeat_days:
            others = await self.store.cases_of_parties(
                conn, case.organization_id, [p.id_fingerprint for p in case.parties],
                effective.at - timedelta(days=rules.repeat_days + 1))
        flagged = fm.decide_false_mediation_rule(case, effective, others, rules, effective.at)
        if flagged is None:
            return decision
        log.warning("false-mediation rule flagged a case",
                    extra={"case_id": str(case.case_id), "rule": flagged.case.timeline[-1].actor.person_id})
        return Decision(flagged.case, (*decision.events, *flagged.events))

    def _next_sweep(self, case: Case) -> datetime | None:
        """When the sweep must look at this case again: the reminder day, the period's end,
        an oral agreement's date, the end of the follow-up period. None: never again."""
        if case.state in (CaseState.TERMINATED, CaseState.RETURNED_TO_COURT, CaseState.CLOSED):
            return None
        due = case.clock.current
        times: list[datetime] = []
        if case.state in (CaseState.OPENED, CaseState.IN_SESSION, CaseState.AGREEMENT_DRAFTED):
            if case.clock.reminded_for != due.last_day:
                times.append(start_of_china_day(ck.reminder_day(due, self.policy.reminder_working_days,
                                                                self.calendar)))
            times.append(due.expires_at)
        a = case.agreement
        if a is not None and a.state is AgreementState.DRAFT and a.agreed_on is not None:
            times.append(start_of_china_day(a.agreed_on))
        if case.state is CaseState.AGREEMENT_EFFECTIVE:
            follow = en.follow_up_deadline(case, self.calendar, self.policy)
            if follow is not None:
                times.append(follow.expires_at)
        return min(times) if times else None

    # ---- sessions ---------------------------------------------------------------------------

    async def schedule_session(self, caller: Claims, case_id: str, command: Callable[[Actor], se.ScheduleSession]):
        case = await self._run(caller, f"case {case_id}", "schedule a session on",
                               lambda c, a, now: se.decide_schedule_session(c, command(a), now), case_id=case_id)
        return case, case.sessions[-1]

    async def session_command(self, caller: Claims, session_id: str, action: str,
                              decide: Callable[[Case, Actor, datetime], Decision]):
        case = await self._run(caller, f"session {session_id}", action, decide, session_id=session_id)
        return case, next(s for s in case.sessions if s.session_id == session_id)

    async def case_command(self, caller: Claims, case_id: str, action: str,
                           decide: Callable[[Case, Actor, datetime], Decision],
                           rule: access.Rule = case_access.CASE) -> Case:
        return await self._run(caller, f"case {case_id}", action, decide, case_id=case_id, rule=rule)

    async def agreement_command(self, caller: Claims, agreement_id: str, action: str,
                                decide: Callable[[Case, Actor, datetime], Decision]) -> Case:
        return await self._run(caller, f"agreement {agreement_id}", action, decide, agreement_id=agreement_id)

    # ---- the clock --------------------------------------------------------------------------

    def request_extension(self, command: Callable[[Actor], ck.RequestExtension]):
        return lambda c, a, now: ck.decide_request_extension(c, command(a), now, self.policy)

    def record_consent(self, command: Callable[[Actor], ck.RecordConsent]):
        return lambda c, a, now: ck.decide_extension_consent(c, command(a), now, self.calendar)

    def end_appraisal(self, reason: str):
        return lambda c, a, now: ck.decide_end_appraisal(c, ck.EndAppraisal(reason=reason, actor=a), now,
                                                         self.calendar)

    # ---- signing ----------------------------------------------------------------------------

    def sign(self, signer_id: str, role, method, digest: str, challenge_id: str):
        """A party's or mediator's signature. Online, the party's one-time code is its consent:
        the signature is the party's own (recorded with the id of the challenge it answered,
        never the code; sign_agreement checks the code first)."""
        def decide(c: Case, actor: Actor, now: datetime) -> Decision:
            ref = challenge_id.strip()
            if ref and role.value == "party":
                actor = Actor(signer_id, c.organization_id, ActorRole.PARTY)
            return ag.decide_sign(c, ag.SignAgreement(signer_id=signer_id, role=role, method=method, digest=digest,
                                                      actor=actor, one_time_code_ref=ref), now)
        return decide

    async def request_signing_code(self, caller: Claims, agreement_id: str, party_id: str) -> sc.Challenge:
        """Send the party a one-time code for its online e-signature of the current text: a
        random code (secrets), kept as a salted hash, sent through the outbox to notification,
        which texts it to the party's phone. Refused when that party could not e-sign now."""
        if not party_id.strip():
            raise InvalidInput(FieldViolation("party_id", "the party who will e-sign"))
        now = self.now()
        async with self.pool.acquire() as conn, conn.transaction():
            key = await self._resolve(conn, "", "", agreement_id, f"agreement {agreement_id}")
            loaded = await self.store.load(conn, case_id=key, for_update=True) if key else None
            access.check_act(case_access.CASE, caller, await facts_of(conn, caller, loaded), f"agreement {agreement_id}",
                             "send a signing code for")
            assert loaded is not None
            case = loaded.case
            current = case.agreement
            if current is None or current.agreement_id != agreement_id:
                raise NotFound(f"agreement {agreement_id} is not the case's current agreement")
            # Would this party's online signature of this text be accepted now? (state, party, signed)
            ag.decide_sign(case, ag.SignAgreement(
                signer_id=party_id, role=SignerRole.PARTY, method=SignatureMethod.ONLINE_E_SIGNATURE,
                digest=current.digest, actor=Actor(party_id, case.organization_id, ActorRole.PARTY),
                one_time_code_ref="pending"), now)
            code = sc.make_code(secrets.randbelow(10**sc.CODE_DIGITS))
            challenge = sc.issue(str(uuid7()), agreement_id, party_id, current.digest, code, now)
            await self.store.insert_challenge(conn, challenge)
            message = mediation_pb2.SigningCodeIssued(
                case_id=str(case.case_id), dispute_id=str(case.dispute_id), agreement_id=agreement_id,
                region_code=case.region_code, organization_id=case.organization_id, party_ids=[party_id], code=code,
                valid_minutes=sc.VALID_MINUTES, challenge_id=challenge.challenge_id, digest=current.digest)
            message.expires_at.FromDatetime(challenge.expires_at)
            await outbox.enqueue(conn, catalog.SIGNING_CODE_ISSUED, message, dispute_id=str(case.dispute_id),
                                 region_code=case.region_code, journey_traceparent=loaded.trace_parent, now=now)
            await audit.record(conn, caller, audit.Action.CHANGE, "case", str(case.case_id), case.region_code)
        return challenge

    async def sign_agreement(self, caller: Claims, agreement_id: str, signer_id: str, role, method, digest: str,
                             one_time_code: str) -> Case:
        """A signature; a party's online e-signature only with the code sent to it (checked
        here, used up with the signature in one transaction; a wrong entry is counted even
        though the signature is refused)."""
        if not (role is SignerRole.PARTY and method is SignatureMethod.ONLINE_E_SIGNATURE):
            return await self.agreement_command(caller, agreement_id, "sign",
                                                self.sign(signer_id, role, method, digest, ""))
        if not one_time_code.strip():
            raise InvalidInput(FieldViolation("one_time_code", "an online e-signature is confirmed with the code "
                                                               "sent to the party (RequestSigningCode)"))
        now = self.now()
        refused: Exception | None = None
        async with self.pool.acquire() as conn, conn.transaction():
            what = f"agreement {agreement_id}"
            key = await self._resolve(conn, "", "", agreement_id, what)
            loaded = await self.store.load(conn, case_id=key, for_update=True) if key else None
            access.check_act(case_access.CASE, caller, await facts_of(conn, caller, loaded), what, "sign")
            assert loaded is not None
            challenge = await self.store.latest_challenge(conn, agreement_id, signer_id)
            checked = sc.check_code(challenge, one_time_code, digest, now)
            if checked is None:
                raise sc.CodeRefused("no code was sent to this party for this agreement; ask for one")
            if checked.error is None:
                decision = self.sign(signer_id, role, method, digest, checked.challenge.challenge_id)(
                    loaded.case, actor_of(caller), now)
                await self.store.save_challenge(conn, checked.challenge)
                decision = await self._commit(conn, loaded, decision)
                await audit.record(conn, caller, audit.Action.CHANGE, "case", str(loaded.case.case_id),
                                   loaded.case.region_code)
                return decision.case
            if checked.challenge != challenge:
                await self.store.save_challenge(conn, checked.challenge)  # the wrong entry counts
            refused = checked.error
        raise refused

    def apply_seal(self):
        def decide(c: Case, actor: Actor, now: datetime) -> Decision:
            a = c.agreement
            if a is None:
                return ag.decide_apply_seal(c, ag.ApplySeal(signature=None, actor=actor), now,  # type: ignore[arg-type]
                                            self.keys.ring)
            signature = self.keys.signer(c.organization_id).sign(bytes.fromhex(a.digest))
            return ag.decide_apply_seal(c, ag.ApplySeal(signature=signature, actor=actor), now, self.keys.ring)
        return decide

    # ---- the sweep --------------------------------------------------------------------------

    async def sweep(self, limit: int = 100) -> int:
        """One pass: reminders, expiry (terminated, ground "period expired"), oral agreements
        whose date came, follow-up periods over. Rows locked FOR UPDATE SKIP LOCKED: a second
        replica's sweep takes other cases, never the same one twice. Returns decisions made."""
        now = self.now()
        made = 0
        async with self.pool.acquire() as conn, conn.transaction():
            for case_id in await self.store.due_for_sweep(conn, now, limit):
                loaded = await self.store.load(conn, case_id=case_id)
                if loaded is None:
                    continue
                decision = self._sweep_decision(loaded.case, now)
                if decision is None:
                    later = self._next_sweep(loaded.case)
                    # Nothing due yet: look again when something is, never sooner than a minute.
                    await self.store.postpone_sweep(conn, case_id, later if later is None or later > now
                                                    else now + timedelta(minutes=10))
                    continue
                await self._commit(conn, loaded, decision)
                made += 1
        return made

    def _sweep_decision(self, case: Case, now: datetime) -> Decision | None:
        for decide in (lambda c: ck.decide_expiry(c, now),
                       lambda c: ck.decide_reminder(c, now, self.calendar, self.policy),
                       lambda c: ag.decide_oral_effective(c, now),
                       lambda c: en.decide_follow_up_expiry(c, now, self.calendar, self.policy)):
            decision = decide(case)
            if decision is not None:
                return decision
        return None

    async def recompute_provisional_deadlines(self) -> int:
        """Deadlines counted across a year whose holiday schedule was missing are counted again
        with the calendar loaded now (operators load next year's schedule and restart)."""
        changed = 0
        async with self.pool.acquire() as conn, conn.transaction():
            for case_id in await self.store.provisional_deadlines(conn):
                loaded = await self.store.load(conn, case_id=case_id)
                if loaded is None:
                    continue
                c = loaded.case
                base = case_deadline(c.clock.accepted_at, c.source.value, c.court_procedure.value, self.calendar,
                                     self.policy.peoples_mediation_days)
                if base.provisional:
                    continue
                recounted = replace(c, clock=replace(c.clock, base=base))
                recounted = replace(recounted, clock=ck.recount(recounted, self.calendar, self.policy))
                await self.store.save(conn, loaded, recounted, self._next_sweep(recounted))
                changed += 1
        return changed

    async def convert_legacy_cases(self) -> int:
        """Cases opened before the case kept its own copy of the parties (routing's bytes in
        `cases.parties`): rebuilt once as cases of their own, the bytes dropped."""
        converted = 0
        async with self.pool.acquire() as conn, conn.transaction():
            for r in await self.store.legacy_cases(conn, 500):
                a = routing_pb2.DisputeAssigned.FromString(r["parties"] or b"")
                a.dispute_id, a.region_code, a.dispute_type = str(r["dispute_id"]), r["region_code"], r["dispute_type"]
                a.mediator_id, a.organization_id, a.referring_org_id = (r["mediator_id"], r["organization_id"],
                                                                        r["referring_org_id"])
                a.source = SOURCE.to_proto(r["source"])
                a.court_procedure = PROCEDURE.to_proto(r["court_procedure"])
                a.accepted_at.FromDatetime(r["opened_at"])
                command = OpenCase(
                    case_id=r["case_id"], dispute_id=r["dispute_id"], region_code=r["region_code"],
                    dispute_type=r["dispute_type"], source=CaseSource(r["source"] or "party_application"),
                    court_procedure=CourtProcedure(r["court_procedure"] or ""), organization_id=r["organization_id"],
                    referring_org_id=r["referring_org_id"],
                    parties=tuple(Party(
                        party_id=p.party_id, name=p.display_name,
                        side=PartySide(convert.SIDE.to_domain(p.side) or "applicant"),
                        kind=PartyKind(convert.KIND.to_domain(p.kind) or "natural_person"),
                        masked_id_number=p.masked_id_number, id_fingerprint=p.id_fingerprint) for p in a.parties),
                    mediator_id=r["mediator_id"], accepted_at=r["opened_at"])
                case = self._open(command).case
                await self.store.convert_legacy(conn, case, self._next_sweep(case))
                converted += 1
        return converted

    # ---- documents, messages, the case file ------------------------------------------------------

    async def upload(self, caller: Claims, case_id: str, kind: str, file_name: str, media_type: str, content: bytes,
                     description: str, replaces: str) -> DocumentRow:
        problems = []
        if not file_name.strip():
            problems.append(FieldViolation("file_name", "required"))
        magic = DOCUMENT_TYPES.get(media_type)
        if magic is None:
            problems.append(FieldViolation("media_type", f"one of {', '.join(sorted(DOCUMENT_TYPES))}"))
        elif not content.startswith(magic):
            problems.append(FieldViolation("content", f"is not a {media_type} file"))
        if not content:
            problems.append(FieldViolation("content", "empty"))
        if len(content) > MAX_DOCUMENT_BYTES:
            problems.append(FieldViolation("content", f"{len(content)} bytes, over the limit of {MAX_DOCUMENT_BYTES}"))
        replaces_id = parse_uuid("replaces_document_id", replaces) if replaces else None
        if problems:
            raise InvalidInput(problems)
        key = parse_uuid("case_id", case_id)
        async with self.pool.acquire() as conn, conn.transaction():
            loaded = await self.store.load(conn, case_id=key, for_update=True)
            access.check_act(case_access.CASE, caller, await facts_of(conn, caller, loaded), f"case {case_id}",
                             "upload a document to")
            if replaces_id is not None:
                old = await self.store.document(conn, replaces_id)
                if old is None or old.case_id != key:
                    raise InvalidInput(FieldViolation("replaces_document_id", "not a document of this case"))
                if await self.store.replaced(conn, replaces_id):
                    raise InvalidInput(FieldViolation("replaces_document_id", "already replaced by a newer version"))
            row = DocumentRow(uuid7(), key, kind or "other", file_name.strip(), media_type, len(content),
                              hashlib.sha256(content).hexdigest(), sm3_hex(content), caller.subject,
                              caller.role.value, self.now(), description.strip(), replaces_id)
            assert loaded is not None
            await audit.record(conn, caller, audit.Action.CHANGE, "case", str(key), loaded.case.region_code)
            return await self.store.insert_document(conn, row, content)

    async def case(self, caller: Claims, case_id: str) -> Case:
        """GetCase's read, for requests that name the case by case_id only."""
        if not case_id:
            raise InvalidInput(FieldViolation("case_id", "required"))
        return await self.get(caller, case_id=case_id)

    async def documents(self, caller: Claims, case_id: str, limit: int, offset: int) -> list[DocumentRow]:
        await self.case(caller, case_id)
        async with self.pool.acquire() as conn:
            return await self.store.documents(conn, UUID(case_id), limit, offset)

    async def post_message(self, caller: Claims, case_id: str, party_id: str, text: str) -> MessageRow:
        if not text.strip():
            raise InvalidInput(FieldViolation("text", "required"))
        key = parse_uuid("case_id", case_id)
        async with self.pool.acquire() as conn, conn.transaction():
            loaded = await self.store.load(conn, case_id=key)
            access.check_act(case_access.CASE, caller, await facts_of(conn, caller, loaded), f"case {case_id}",
                             "post a message in")
            assert loaded is not None
            if loaded.case.party(party_id) is None:
                raise InvalidInput(FieldViolation("party_id", "not a party of this case"))
            row = MessageRow(uuid7(), key, party_id, caller.subject, caller.role.value, text.strip(), self.now())
            await self.store.insert_message(conn, row)
            await audit.record(conn, caller, audit.Action.CHANGE, "case", str(key), loaded.case.region_code)
        return row

    async def messages(self, caller: Claims, case_id: str, limit: int, offset: int) -> list[MessageRow]:
        await self.case(caller, case_id)
        async with self.pool.acquire() as conn:
            return await self.store.messages(conn, UUID(case_id), limit, offset)

    async def case_file(self, caller: Claims, case_id: str) -> tuple[Case, list[DocumentRow], date]:
        case = await self.case(caller, case_id)
        async with self.pool.acquire() as conn:
            docs = await self.store.documents(conn, case.case_id)
        ended = case.closure.at if case.closure else case.termination.at if case.termination else self.now()
        day = to_china_date(ended)
        try:
            retain = day.replace(year=day.year + self.settings.retention_years)
        except ValueError:  # 29 February
            retain = day.replace(year=day.year + self.settings.retention_years, day=28)
        return case, docs, retain


_STAND_IN = (Party(party_id="-applicant", name="-", side=PartySide.APPLICANT),
             Party(party_id="-respondent", name="-", side=PartySide.RESPONDENT))
