"""Intake use cases: load -> decide (pure rules) -> store state and outbox rows
in one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from liandiao import access, audit, dutyrota, telemetry
from liandiao.auth import Claims, Role
from liandiao.errors import FieldViolation, InvalidInput, NotFound, PermissionDenied, RuleViolation, parse_uuid
from liandiao.events import catalog
from liandiao.events.consumer import ConsumedEvent
from liandiao.events.outbox import enqueue
from liandiao.ids import mask_id, mask_phone, prefecture_of
from liandiao.legaltime import to_china_date
from liandiao.personnel.v1 import personnel_pb2
from liandiao.pii import PiiCipher
from liandiao.reference import dispute_types
from liandiao.rpc import paging
from liandiao.rpc.convert import aware
from liandiao.uuid7 import uuid7
from services.intake import access as policy
from services.intake import events, store
from services.intake.casecodes import CaseCodes
from services.intake.codes import ORGANIZATION_OFFICE
from services.intake.domain.model import (
    Acknowledgement,
    Decision,
    LiaisonOfficer,
    OfficeKind,
    ReferralKind,
    Registration,
    RiskAssessment,
    Status,
    WarningState,
)
from services.intake.domain.rules import (
    RiskPolicy,
    decide_registration,
    duplicate_key,
    mask_address,
    request_id_violation,
)
from services.intake.domain.warnings import (
    REQUIRED_OFFICES,
    WarningPolicy,
    decide_acknowledgement,
    decide_escalation,
    next_escalation_at,
    unacknowledged,
)
from services.intake.limits import SEARCH_TEXT

log = logging.getLogger(__name__)
# The service identity of the court and police systems' HTTP adapter (services/intake/external).
EXTERNAL_SYSTEMS = "external-systems"



@dataclass(frozen=True)
class Registered:
    record: store.DisputeRecord
    warnings: tuple[str, ...]
    replayed: bool   # True when the request id was seen before: nothing new happened
    linked: bool     # True when the registration was linked to an open dispute of the same parties
    case_code: str = ""   # the parties' case code (一案一码), canonical form


@dataclass(frozen=True)
class WarningAnswer:
    acknowledgement: Acknowledgement
    warning: store.WarningRow
    acknowledgements: list[store.AckRow]


class _Replay(Exception):
    """A concurrent call with the same request id won: answer as a retry."""


class Intake:
    def __init__(self, pool: asyncpg.Pool, pii: PiiCipher, risk_policy: RiskPolicy | None = None,
                 warning_policy: WarningPolicy | None = None, codes: CaseCodes | None = None):
        self.pool, self.pii = pool, pii
        self.codes = codes   # the parties' case codes (issue 11); None: registrations get none
        self.risk_policy = risk_policy or RiskPolicy()
        self.warning_policy = warning_policy or WarningPolicy()

    # ---- registration ---------------------------------------------------------------
    async def register(self, reg: Registration, caller: Claims, now: datetime | None = None) -> Registered:
        now = now or datetime.now(UTC)
        reg = _own_referral(reg, caller)
        if (wrong := request_id_violation(reg.request_id) if reg.request_id else None) is not None:
            raise InvalidInput(wrong)
        async with self.pool.acquire() as conn:
            seen = await store.registration_for_request(conn, reg.request_id) if reg.request_id else None
            if seen:
                return await self._replayed(conn, *seen, caller)
            decision = decide_registration(
                reg, known_types=dispute_types(), today=to_china_date(now),
                risk_policy=self.risk_policy, now=now,
            )
            if not caller.sees_region(reg.region_code):
                raise PermissionDenied(f"region {reg.region_code} is outside the caller's scope")
            dispute, parties, agents = self._rows(reg, decision, now)
            # Only a dispute that goes to mediation is found again; a refusal is its own record (PML Art.17).
            key = duplicate_key(reg.dispute_type, [p.id_fp or "" for p in parties]) \
                if decision.status is Status.REGISTERED else None
            notes: tuple[str, ...] = ()
            try:
                async with conn.transaction():
                    owner = await store.claim_duplicate_key(conn, key, dispute.dispute_id) if key else None
                    if owner is not None and owner != dispute.dispute_id \
                            and not await self._may_see(conn, owner, caller, reg):
                        # Never linked to, nor told of, a dispute the caller may not see.
                        owner, notes = None, (POSSIBLE_DUPLICATE,)
                    if owner is not None and owner != dispute.dispute_id:
                        await self._link(conn, reg, decision, owner, now)
                        await audit.record(conn, caller, audit.Action.CHANGE, "dispute", str(owner), reg.region_code)
                        linked_to = owner
                    else:
                        if not await store.insert_dispute(conn, dispute, parties, agents):
                            raise _Replay
                        first = _registration(reg, decision.risk, dispute.dispute_id, False, now)
                        if not await store.insert_registration(conn, first):
                            raise _Replay
                        warning = await self._publish(conn, dispute, parties, agents, decision)
                        code = await self.codes.issue(conn, dispute.dispute_id, now) if self.codes else ""
                        await audit.record(conn, caller, audit.Action.CHANGE, "dispute", str(dispute.dispute_id),
                                           dispute.region_code)
                        linked_to = None
            except _Replay:
                seen = await store.registration_for_request(conn, reg.request_id)
                assert seen is not None
                return await self._replayed(conn, *seen, caller)
            if linked_to is not None:
                record = await store.get_dispute(conn, linked_to)
                assert record is not None
                telemetry.BUSINESS.labels("intake", "registration_linked", record.dispute.prefecture,
                                          reg.dispute_type).inc()
                code = await self.codes.code_for(conn, linked_to) if self.codes else ""
                return Registered(record, (*decision.warnings, _linked_note(record)), replayed=False, linked=True,
                                  case_code=code)
        # What was just written, as a read would return it (no second round of queries).
        record = store.DisputeRecord(dispute, parties, store.agents_by_party(agents), [first], warning, [])
        telemetry.BUSINESS.labels("intake", f"dispute_{decision.status.value}", dispute.prefecture,
                                  reg.dispute_type).inc()
        return Registered(record, (*decision.warnings, *notes), replayed=False, linked=False, case_code=code)

    async def _may_see(self, conn: asyncpg.Connection, dispute_id: UUID, caller: Claims, reg: Registration) -> bool:
        """Whether ``caller`` may see the open dispute a registration would be linked
        to, counting the referral this registration adds (a station that refers the
        same parties again is one of the dispute's referrers once linked) but only
        within the caller's region scope."""
        found = await store.get_dispute(conn, dispute_id)
        if found is None:
            return False
        orgs = {g.referring_org_id for g in found.registrations} | {reg.referral.org_id}
        offices = policy.offices({g.registering_org_id for g in found.registrations} | {reg.registering_org_id}, orgs)
        return policy.DISPUTE.may_see(caller, policy.facts(found.dispute.region_code, orgs,
                                                           await dutyrota.caller_on_duty(conn, caller, offices)))

    async def _replayed(self, conn: asyncpg.Connection, dispute_id: UUID, linked: bool,
                        caller: Claims) -> Registered:
        """The stored answer to a retried request id, after the same check as
        GetDispute: a caller who may not see the dispute learns nothing of it."""
        found = await store.get_dispute(conn, dispute_id)
        access.check_see(policy.DISPUTE, caller, await _facts(conn, caller, found) if found else None, "registration")
        assert found is not None
        await audit.record(conn, caller, audit.Action.READ, "dispute", str(dispute_id), found.dispute.region_code)
        code = await self.codes.code_for(conn, dispute_id) if self.codes else ""
        return Registered(found, (_linked_note(found),) if linked else (), replayed=True, linked=linked,
                          case_code=code)

    async def _link(self, conn: asyncpg.Connection, reg: Registration, decision: Decision, dispute_id: UUID,
                    now: datetime) -> None:
        """Records this channel's registration on the open dispute; no second
        dispute-registered goes out. A risk this channel saw that the first did not
        still raises the warning (PML Art.25)."""
        if not await store.insert_registration(conn, _registration(reg, decision.risk, dispute_id, True, now)):
            raise _Replay
        if decision.risk.flagged and not await store.has_warning(conn, dispute_id):
            existing = await store.get_dispute_row(conn, dispute_id)
            assert existing is not None
            await self._raise_warning(conn, existing, decision.risk, now, journey=existing.trace_parent)

    def _rows(self, reg: Registration, decision: Decision, now: datetime,
              ) -> tuple[store.DisputeRow, list[store.PartyRow], list[store.AgentRow]]:
        dispute_id = uuid7()
        r = reg.referral
        dispute = store.DisputeRow(
            dispute_id=dispute_id, request_id=reg.request_id, region_code=reg.region_code,
            prefecture=prefecture_of(reg.region_code), dispute_type=reg.dispute_type,
            source=reg.source.value if reg.source else "",
            court_procedure=r.procedure.value if r.procedure else None,
            referring_org_id=r.org_id, referring_person_id=r.person_id, referral_reference=r.reference,
            referral_department=r.department_name.strip(), facts=reg.facts, requested_outcome=reg.requested_outcome,
            amount_fen=reg.amount_fen, status=decision.status.value, risk_score=decision.risk.score,
            risk_reasons=list(decision.risk.reasons), registering_person_id=reg.registering_person_id,
            registering_org_id=reg.registering_org_id, chosen_mediator_id=reg.chosen_mediator_id,
            trace_parent=telemetry.current_traceparent(), registered_at=now,
            referring_system_id=reg.referring_system_id,
        )
        pii = self.pii
        parties, agents = [], []
        for position, checked in enumerate(decision.parties):
            p = checked.party
            party_id = uuid7()
            parties.append(store.PartyRow(
                party_id=party_id, position=position, kind=p.kind.value if p.kind else "",
                side=p.side.value if p.side else "", name=p.name.strip(), sex=checked.birth_sex,
                ethnicity=p.ethnicity, age=p.age, occupation=p.occupation, language=p.language or "zh",
                id_type=p.id_type.value if p.id_type else ("credit_code" if checked.id_number else ""),
                id_number_enc=store.PARTY_ID_NUMBER.encrypt(pii, checked.id_number, party_id),
                id_fp=self.pii.fingerprint(checked.id_number) if checked.id_number else None,
                id_masked=mask_id(checked.id_number) if checked.id_number else "",
                no_id_reason=p.no_id_reason,
                phone_enc=store.PARTY_PHONE.encrypt(pii, checked.phone, party_id),
                phone_masked=mask_phone(checked.phone) if checked.phone else "",
                address_enc=store.PARTY_ADDRESS.encrypt(pii, p.address, party_id),
                service_address_enc=store.PARTY_SERVICE_ADDRESS.encrypt(pii, p.service_address, party_id),
                service_address_masked=mask_address(p.service_address),
                service_address_confirmed=p.service_address_confirmed,
                consent=p.consent.value if p.consent else "", disclosed_at=p.disclosed_at,
                routes_told=list(p.routes_told),
            ))
            for j, ca in enumerate(checked.agents):
                a = ca.agent
                agent_id = uuid7()
                agents.append(store.AgentRow(
                    agent_id=agent_id, party_id=party_id, position=j, name=a.name.strip(),
                    id_type=a.id_type.value if a.id_type else "",
                    id_number_enc=store.AGENT_ID_NUMBER.encrypt(pii, ca.id_number, agent_id),
                    id_fp=self.pii.fingerprint(ca.id_number), id_masked=mask_id(ca.id_number),
                    phone_enc=store.AGENT_PHONE.encrypt(pii, ca.phone, agent_id),
                    phone_masked=mask_phone(ca.phone) if ca.phone else "",
                    authority=a.authority.value if a.authority else "", scope=a.scope.strip(),
                ))
        return dispute, parties, agents

    async def _publish(self, conn: asyncpg.Connection, d: store.DisputeRow, parties: list[store.PartyRow],
                       agents: list[store.AgentRow], decision: Decision) -> store.WarningRow | None:
        if decision.status is Status.REGISTERED:
            # PML Art.17: a refused dispute never reaches routing.
            await enqueue(conn, catalog.DISPUTE_REGISTERED, events.dispute_registered(d, parties, store.agents_by_party(agents)),
                          dispute_id=str(d.dispute_id), region_code=d.region_code, now=d.registered_at)
        if decision.risk.flagged:
            # PML Art.25: the duty to warn does not depend on consent to mediation.
            return await self._raise_warning(conn, d, decision.risk, d.registered_at)
        return None

    async def _raise_warning(self, conn: asyncpg.Connection, d: store.DisputeRow, risk: RiskAssessment,
                             now: datetime, journey: str = "") -> store.WarningRow:
        state = WarningState(d.region_code, now, 0)
        w = store.WarningRow(
            dispute_id=d.dispute_id, region_code=d.region_code, risk_score=risk.score, reasons=list(risk.reasons),
            flagged_at=now, escalation_level=0, escalated_at=None,
            next_escalation_at=next_escalation_at(state, self.warning_policy), acknowledged_at=None,
        )
        await store.insert_warning(conn, w)
        await enqueue(conn, catalog.RISK_FLAGGED, events.risk_flagged(w, 0, REQUIRED_OFFICES),
                      dispute_id=str(d.dispute_id), region_code=d.region_code, journey_traceparent=journey, now=now)
        telemetry.BUSINESS.labels("intake", "risk_flagged", d.prefecture, d.dispute_type).inc()
        return w

    # ---- queries ------------------------------------------------------------------
    async def get(self, dispute_id: str, caller: Claims) -> store.DisputeRecord:
        key = parse_uuid("dispute_id", dispute_id)
        async with self.pool.acquire() as conn:
            found = await store.get_dispute(conn, key)
            access.check_see(policy.DISPUTE, caller, await _facts(conn, caller, found) if found else None,
                             f"dispute {dispute_id}")
            assert found is not None
            await audit.record(conn, caller, audit.Action.READ, "dispute", str(key), found.dispute.region_code)
        return found

    async def contacts(self, dispute_id: str, caller: Claims) -> tuple[list[PartyContact], list[ReferringSystem]]:
        """The parties' and agents' real phones and confirmed e-mail service addresses,
        for the service that must reach them (notification's identity only, by the
        method's policy), and every case system that referred the dispute (a duplicate
        referral linked to it included: each hears the results). One audit entry per
        party read (``party_contact``)."""
        key = parse_uuid("dispute_id", dispute_id)
        async with self.pool.acquire() as conn:
            found = await store.get_dispute(conn, key)
            access.check_see(policy.DISPUTE, caller, await _facts(conn, caller, found) if found else None, f"dispute {dispute_id}")
            assert found is not None
            await audit.record(conn, caller, audit.Action.READ, "party_contact",
                               [str(p.party_id) for p in found.parties], found.dispute.region_code)
        out = []
        for p in found.parties:
            address = store.PARTY_SERVICE_ADDRESS.decrypt(self.pii, p.service_address_enc, p.party_id) or ""
            email = address if p.service_address_confirmed and "@" in address else ""
            agents = tuple(AgentContact(str(a.agent_id), a.name,
                                        store.AGENT_PHONE.decrypt(self.pii, a.phone_enc, a.agent_id) or "")
                           for a in found.agents.get(p.party_id, []))
            out.append(PartyContact(str(p.party_id), store.PARTY_PHONE.decrypt(self.pii, p.phone_enc, p.party_id)
                                    or "", email, p.language, agents))
        systems: dict[str, ReferringSystem] = {}
        for r in sorted(found.registrations, key=lambda r: (r.linked, r.registered_at)):
            if r.referring_system_id and r.referring_system_id not in systems:
                systems[r.referring_system_id] = ReferringSystem(r.referring_system_id, r.referring_org_id or "",
                                                                 r.referral_reference or "", r.source)
        return out, list(systems.values())

    async def list(self, caller: Claims, query: DisputeQuery) -> tuple[list[store.DisputeRecord], str]:
        limit = paging.page_size(query.page_size)
        after = paging.decode_cursor(query.page_token)
        if query.registered_from and query.registered_to and query.registered_from >= query.registered_to:
            raise InvalidInput(FieldViolation("registered_to", "must be after registered_from"))
        if len(query.text) > SEARCH_TEXT:
            raise InvalidInput(FieldViolation("text", f"longer than {SEARCH_TEXT} characters"))
        visible, params = access.visible_sql(policy.DISPUTE, caller, policy.COLUMNS, 1,
                                             region_prefix=paging.region_filter(query.region_prefix))
        if visible == "false":
            return [], ""
        f = store.DisputeFilter(
            visible=visible, visible_params=params, dispute_type=query.dispute_type, source=query.source,
            status=query.status, registered_from=query.registered_from, registered_to=query.registered_to,
            text=query.text.strip(), after=after, limit=limit,
        )
        async with self.pool.acquire() as conn:
            rows = await store.list_disputes(conn, f)
            # A list shows parties' names and masked numbers: each dispute shown is a read.
            await audit.record(conn, caller, audit.Action.READ, "dispute", [str(r.dispute.dispute_id) for r in rows])
        last = rows[-1].dispute if len(rows) == f.limit else None
        token = paging.encode_cursor(last.registered_at, last.dispute_id) if last else ""
        return rows, token

    # ---- early warnings -------------------------------------------------------------
    async def acknowledge(self, dispute_id: str, liaison_person_id: str, caller: Claims,
                          now: datetime | None = None) -> WarningAnswer:
        """Records the acknowledgement of a liaison officer's office (PML Art.25).
        A liaison officer acknowledges for themself; a police officer, clerk or
        court user may record it for their own office's liaison officer."""
        now = now or datetime.now(UTC)
        key = parse_uuid("dispute_id", dispute_id)
        if not liaison_person_id.strip():
            raise InvalidInput(FieldViolation("liaison_person_id", "required"))
        if caller.role is Role.LIAISON and caller.subject != liaison_person_id:
            raise PermissionDenied("a liaison officer acknowledges warnings for themself only")
        async with self.pool.acquire() as conn, conn.transaction():
            d = await store.get_dispute_row(conn, key)
            if d is None or not caller.sees_region(d.region_code):
                raise NotFound(f"dispute {dispute_id} not found")
            w = await store.warning_for_update(conn, key)
            if w is None:
                raise RuleViolation("early-warning.none", f"no early warning was raised for dispute {dispute_id} "
                                    f"(risk score {d.risk_score})")
            acks = await store.acknowledgements(conn, key)
            row = await store.get_liaison(conn, liaison_person_id)
            if row and caller.role not in (Role.LIAISON, Role.SERVICE) and caller.organization_id != row.organization_id:
                raise PermissionDenied("an acknowledgement is recorded by the liaison officer or their own office")
            state = _state(w, acks)
            ack, fresh = decide_acknowledgement(state, _liaison(row), liaison_person_id, now)
            if fresh:
                stored = store.AckRow(key, ack.office.value, ack.liaison_person_id, ack.organization_id, now,
                                      caller.subject)
                await store.insert_acknowledgement(conn, stored)
                await audit.record(conn, caller, audit.Action.CHANGE, "dispute", str(key), d.region_code)
                acks.append(stored)
                after = _state(w, acks)
                done = not unacknowledged(after)
                await store.settle_warning(conn, key, next_escalation_at(after, self.warning_policy),
                                           now if done else None)
                # Statistics counts acknowledgement times from this (issue 11).
                await enqueue(conn, catalog.WARNING_ACKNOWLEDGED, events.warning_acknowledged(w, stored, done),
                              dispute_id=str(key), region_code=w.region_code, now=now)
                w = await store.warning_for_update(conn, key)
                assert w is not None
                telemetry.BUSINESS.labels("intake", "warning_acknowledged", d.prefecture, ack.office.value).inc()
        return WarningAnswer(ack, w, acks)

    async def escalate_due(self, now: datetime | None = None) -> int:
        """Escalates every warning some office has left unacknowledged past its
        time: risk-flagged again, with the level and the offices still missing."""
        now = now or datetime.now(UTC)
        escalated = 0
        async with self.pool.acquire() as conn, conn.transaction():
            for w in await store.lock_due_warnings(conn, now):
                state = _state(w, await store.acknowledgements(conn, w.dispute_id))
                step = decide_escalation(state, now, self.warning_policy)
                if step is None:
                    # Not due under the current policy (it changed, or all acknowledged): re-aim the sweep.
                    await store.settle_warning(conn, w.dispute_id, next_escalation_at(state, self.warning_policy),
                                               None)
                    continue
                await store.escalate_warning(conn, w.dispute_id, step.level, now, step.next_at)
                d = await store.get_dispute_row(conn, w.dispute_id)
                assert d is not None
                await enqueue(conn, catalog.RISK_FLAGGED, events.risk_flagged(w, step.level, step.unacknowledged),
                              dispute_id=str(w.dispute_id), region_code=w.region_code,
                              journey_traceparent=d.trace_parent, now=now)
                telemetry.BUSINESS.labels("intake", "warning_escalated", d.prefecture, d.dispute_type).inc()
                escalated += 1
        return escalated


    # ---- events in ------------------------------------------------------------------
    async def on_person_changed(self, conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        """Projects the liaison officers (联络人) of police stations, tribunals and
        judicial offices from personnel's snapshots."""
        changed: personnel_pb2.PersonChanged = event.payload
        p = changed.person
        updated = aware(p.updated_at) if p.HasField("updated_at") else event.envelope.occurred_at
        await dutyrota.project(conn, p, event.envelope.occurred_at)
        office = ORGANIZATION_OFFICE.to_domain(changed.organization_kind)
        if office is None:
            await store.retire_liaison(conn, p.person_id, updated)
            return
        active = (personnel_pb2.ROLE_LIAISON_OFFICER in p.roles
                  and p.roster_status != personnel_pb2.ROSTER_STATUS_REMOVED)
        await store.upsert_liaison(conn, store.LiaisonRow(
            person_id=p.person_id, organization_id=p.organization_id, office=office,
            office_region=changed.organization_region_code, active=active, updated_at=updated))

    async def on_mediation_ended(self, conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        """An agreement took effect or mediation failed: the dispute is no longer
        open, so the same parties coming back open a new dispute."""
        await store.close_dispute(conn, parse_uuid("dispute_id", event.payload.dispute_id), event.envelope.occurred_at)


@dataclass(frozen=True)
class DisputeQuery:
    region_prefix: str = ""
    dispute_type: str = ""
    source: str = ""
    status: str = ""
    registered_from: datetime | None = None
    registered_to: datetime | None = None
    text: str = ""
    page_size: int = 0
    page_token: str = ""


def _registration(reg: Registration, risk: RiskAssessment, dispute_id: UUID, linked: bool,
                  now: datetime) -> store.RegistrationRow:
    r = reg.referral
    return store.RegistrationRow(
        request_id=reg.request_id, dispute_id=dispute_id, linked=linked,
        source=reg.source.value if reg.source else "", court_procedure=r.procedure.value if r.procedure else None,
        referring_org_id=r.org_id, referring_person_id=r.person_id, referral_reference=r.reference,
        referral_department=r.department_name.strip(), registering_person_id=reg.registering_person_id,
        registering_org_id=reg.registering_org_id, risk_score=risk.score, risk_reasons=list(risk.reasons),
        registered_at=now, referring_system_id=reg.referring_system_id,
    )


def _linked_note(record: store.DisputeRecord) -> str:
    d = record.dispute
    return (f"linked to open dispute {d.dispute_id} (registered {to_china_date(d.registered_at).isoformat()}, "
            f"{d.source}): the same parties and dispute type are already being handled; no new dispute was opened")


def _state(w: store.WarningRow, acks: list[store.AckRow]) -> WarningState:
    return WarningState(
        region_code=w.region_code, flagged_at=w.flagged_at, escalation_level=w.escalation_level,
        acknowledgements=tuple(Acknowledgement(OfficeKind(a.office), a.liaison_person_id, a.organization_id,
                                               a.acknowledged_at) for a in acks),
    )


def _liaison(row: store.LiaisonRow | None) -> LiaisonOfficer | None:
    if row is None:
        return None
    return LiaisonOfficer(row.person_id, row.organization_id, OfficeKind(row.office), row.office_region, row.active)




@dataclass(frozen=True)
class AgentContact:
    agent_id: str
    name: str
    phone: str


@dataclass(frozen=True)
class ReferringSystem:
    system_id: str
    organization_id: str
    reference: str
    source: str


@dataclass(frozen=True)
class PartyContact:
    party_id: str
    phone: str
    email: str
    language: str
    agents: tuple[AgentContact, ...]


async def _facts(conn: asyncpg.Connection, caller: Claims, r: store.DisputeRecord) -> access.Facts:
    referrers = {g.referring_org_id for g in r.registrations}
    offices = policy.offices({g.registering_org_id for g in r.registrations}, referrers)
    return policy.facts(r.dispute.region_code, referrers, await dutyrota.caller_on_duty(conn, caller, offices))


def _own_referral(reg: Registration, caller: Claims) -> Registration:
    """The referring organization that grants a police station or a court sight of a
    dispute is the caller's own when the caller is one (issue 7): taken from the token
    when the request leaves it blank, refused when it names another. A clerk recording
    a paper referral names the station or court; the clerk's region scope bounds it."""
    if reg.referring_system_id and not (caller.role is Role.SERVICE and caller.subject == EXTERNAL_SYSTEMS):
        # Results go back to the named system: only the adapter that authenticated it may name one.
        raise InvalidInput(FieldViolation("referring_system_id", "set only by the external-systems adapter"))
    kind = {Role.POLICE: ReferralKind.POLICE, Role.COURT: ReferralKind.COURT}.get(caller.role)
    if kind is None:
        return reg
    field_name = "police.station_org_id" if kind is ReferralKind.POLICE else "court.court_org_id"
    r = reg.referral
    if r.kind is not None and r.kind is not kind:
        raise InvalidInput(FieldViolation(r.kind.value, f"a {caller.role} caller registers its own referrals only"))
    if r.kind is kind and r.org_id and r.org_id != caller.organization_id:
        raise InvalidInput(FieldViolation(field_name, "must be the caller's own organization (from its token)"))
    if r.kind is kind and not r.org_id:
        return replace(reg, referral=replace(r, org_id=caller.organization_id))
    return reg


# Told to a caller whose registration matches an open dispute it may not see: that one
# exists, nothing of it (issue 7). The coordination groups reconcile the two.
POSSIBLE_DUPLICATE = ("possible duplicate: the same parties have an open dispute of this type that this caller "
                      "may not see (another region or office); registered as a new dispute")
