"""Routing use cases: place a registered dispute, answer an offer, sweep
expired offers. Each runs in one transaction with its outbox rows."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from liandiao import access, audit, dutyrota, telemetry
from liandiao.auth import Claims
from liandiao.errors import FieldViolation, InvalidInput, NotFound, RuleViolation, parse_uuid
from liandiao.events import catalog
from liandiao.events.consumer import ConsumedEvent
from liandiao.events.outbox import enqueue
from liandiao.ids import ancestors, lookup, prefecture_of
from liandiao.intake.v1 import intake_pb2
from liandiao.legaltime import HolidayCalendar, deadline, load_calendar, statutory
from liandiao.personnel.v1 import personnel_pb2
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc.convert import aware, timestamp
from liandiao.rpc.enums import CASE_SOURCE as SOURCE
from liandiao.uuid7 import uuid7
from services.routing import access as routing_access
from services.routing import store
from services.routing.domain.rules import (
    Difficulty,
    Level,
    Need,
    choose_mediator,
    difficulty_reasons,
    must_step_aside,
    waits_for_joint_choice,
)
from services.routing.limits import CONSULTATION_REASONS

log = logging.getLogger(__name__)

_LEVEL_NAMES = {2: "province", 4: "prefecture", 6: "county", 9: "township", 12: "village"}
_ROLE_NAMES = {personnel_pb2.ROLE_MEDIATOR: "mediator", personnel_pb2.ROLE_LAWYER: "lawyer",
               personnel_pb2.ROLE_LEGAL_SERVICE_WORKER: "legal_service_worker"}


def region_chain(region_code: str) -> tuple[Level, ...]:
    own = lookup(region_code)
    if own is None:
        return ()
    return tuple(Level(d.code, f"{_LEVEL_NAMES.get(len(d.code), 'division')} {d.name} ({d.code})")
                 for d in (own, *ancestors(own.code)))




def _fingerprints(d: intake_pb2.DisputeRegistered) -> frozenset[str]:
    """The parties' and their agents' ID fingerprints: whom a mediator must not be related to."""
    return frozenset(f for p in d.parties for f in (p.id_fingerprint, *p.agent_fingerprints) if f)




class Routing:
    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], datetime] | None = None,
                 difficulty: Difficulty | None = None, calendar: HolidayCalendar | None = None):
        self.pool = pool
        self.calendar = (calendar or load_calendar()).with_weekend_fallback()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.difficulty = difficulty or Difficulty()

    # ---- events in -----------------------------------------------------------
    async def on_person_changed(self, conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        p = event.payload.person
        await dutyrota.project(conn, p, event.envelope.occurred_at)   # the lawyer on duty (access)
        await store.upsert_mediator(conn, {
            "person_id": UUID(p.person_id), "name": p.name, "organization_id": p.organization_id,
            "roles": [_ROLE_NAMES.get(r, str(r)) for r in p.roles], "specialties": list(p.specialties),
            "languages": list(p.languages), "region_codes": list(p.region_codes),
            "roster_status": "active" if p.roster_status == personnel_pb2.ROSTER_STATUS_ACTIVE else "removed",
            "on_duty": p.on_duty, "updated_at": aware(p.updated_at),
            "relations": sorted({r.id_fingerprint for r in p.relations if r.id_fingerprint}),
        })
        if p.roster_status == personnel_pb2.ROSTER_STATUS_ACTIVE and p.on_duty:
            await self._place_waiting(conn, set(p.specialties), set(p.region_codes))

    async def _place_waiting(self, conn: asyncpg.Connection, specialties: set[str], regions: set[str]) -> None:
        """A mediator joined or came back on duty: disputes nobody could take that
        this mediator might (type among the specialties, region within the coverage)
        are placed again, instead of waiting for a clerk."""
        for did in await store.unassigned_of_types(conn, sorted(specialties)):
            dispute = await store.get_dispute(conn, did)
            d = intake_pb2.DisputeRegistered.FromString(dispute["payload"])
            if regions & {level.code for level in region_chain(d.region_code)}:
                a = await store.get_assignment(conn, did, for_update=True)
                if a is not None and a.status == "unassigned":
                    await self._offer(conn, did, d, a.offer_round + 1, self.clock())

    async def on_case_ended(self, conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        """Mediation's agreement-effective or mediation-failed: the mediator's workload (the
        fewest-open-cases rule) no longer counts the case. Follow-up visits after an agreement
        are not mediation work in this sense."""
        await store.end_case(conn, UUID(event.payload.dispute_id), event.envelope.occurred_at)

    async def on_dispute_registered(self, conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        d: intake_pb2.DisputeRegistered = event.payload
        dispute_id = UUID(d.dispute_id)
        fresh = await store.insert_dispute(conn, dispute_id, d.region_code, d.dispute_type, d.SerializeToString(),
                                           event.envelope.traceparent, aware(d.registered_at))
        if not fresh:
            return
        now = self.clock()
        reasons = difficulty_reasons(d.risk_score, len(d.parties), d.amount_in_dispute_fen, self.difficulty)
        if reasons:
            await self._call_consultation(conn, d, list(reasons), "routing", now, event.envelope.traceparent)
        if waits_for_joint_choice(SOURCE.to_domain(d.source) or "", d.chosen_mediator_id):
            # SPC-Online Art.10: the parties have 2 working days to choose jointly.
            due = deadline(now, statutory.JOINT_CHOICE_OF_MEDIATOR, self.calendar)
            await store.save_assignment(conn, store.AssignmentRow(
                dispute_id, uuid7(), "awaiting_choice", None, "", 0, now, None, None, False, None,
                "court-delegated: waiting for the parties' joint choice (SPC-Online Art.10)",
                choose_by=due.expires_at, choose_by_last_day=due.last_day, choose_by_provisional=due.provisional))
            return
        await self._offer(conn, dispute_id, d, offer_round=1, now=now, chosen=d.chosen_mediator_id)

    # ---- the placement itself ------------------------------------------------------
    async def _offer(self, conn: asyncpg.Connection, dispute_id: UUID, d: intake_pb2.DisputeRegistered,
                     offer_round: int, now: datetime, chosen: str = "") -> store.AssignmentRow:
        chain = region_chain(d.region_code)
        roster = await store.mediators_for(conn, d.dispute_type, [lvl.code for lvl in chain])
        need = self._need(d, chain, chosen, await store.offered_before(conn, dispute_id),
                          await store.kept_after_disclosure(conn, dispute_id))
        choice = choose_mediator(need, roster, await store.open_cases(conn, [m.person_id for m in roster]))
        previous = await store.get_assignment(conn, dispute_id)
        assignment_id = previous.assignment_id if previous else uuid7()
        if choice is None:
            why = "no eligible mediator on any roster covering the region; a clerk must act"
            row = store.AssignmentRow(dispute_id, assignment_id, "unassigned", None, "", offer_round, now, None, None,
                                      False, None, why)
            log.warning("dispute could not be placed", extra={"dispute_id": str(dispute_id)})
        else:
            # SPC-Online Art.12: the mediator answers within 3 working days.
            due = deadline(now, statutory.MEDIATOR_ACCEPT_OR_DECLINE, self.calendar)
            row = store.AssignmentRow(dispute_id, assignment_id, "offered", UUID(choice.mediator.person_id),
                                      choice.mediator.organization_id, offer_round, now, due.expires_at,
                                      due.last_day, due.provisional, None, choice.reason)
            await store.record_offer(conn, dispute_id, offer_round, UUID(choice.mediator.person_id), now)
        await store.save_assignment(conn, row)
        telemetry.BUSINESS.labels("routing", f"dispute_{row.status}", prefecture_of(d.region_code),
                                  d.dispute_type).inc()
        return row

    def _need(self, d: intake_pb2.DisputeRegistered, chain: tuple[Level, ...], chosen: str,
              offered: set[str], kept: set[str]) -> Need:
        return Need(
            dispute_type=d.dispute_type, region_chain=chain,
            languages=frozenset(p.language for p in d.parties if p.language and p.language != "zh"),
            chosen_mediator_id=chosen, excluded=frozenset(offered), party_fingerprints=_fingerprints(d),
            kept_after_disclosure=frozenset(kept),
        )

    async def _call_consultation(self, conn: asyncpg.Connection, d: intake_pb2.DisputeRegistered,
                                 reasons: list[str], called_by: str, now: datetime, traceparent: str) -> None:
        if await store.call_consultation(conn, UUID(d.dispute_id), reasons, called_by, now):
            await enqueue(conn, catalog.DISPUTE_ESCALATED, routing_pb2.DisputeEscalated(
                dispute_id=d.dispute_id, region_code=d.region_code, reasons=reasons, escalated_at=timestamp(now)),
                dispute_id=d.dispute_id, region_code=d.region_code, journey_traceparent=traceparent, now=now)
            telemetry.BUSINESS.labels("routing", "consultation_called", prefecture_of(d.region_code),
                                      d.dispute_type).inc()

    # ---- commands ---------------------------------------------------------------
    async def record_parties_choice(self, dispute_id: str, mediator_id: str, agreed_party_ids: list[str],
                                    disclosure: str, caller: Claims, now: datetime | None = None
                                    ) -> store.AssignmentRow:
        """The parties choose a mediator together (SPC-Invited Art.12). Every party must
        agree; a mediator who must step aside is kept only with the disclosure recorded
        and every party's agreement (SPC-Invited Art.15)."""
        now = now or self.clock()
        did, mid = parse_uuid("dispute_id", dispute_id), parse_uuid("mediator_id", mediator_id)
        async with self.pool.acquire() as conn, conn.transaction():
            a = await store.get_assignment(conn, did, for_update=True)
            if a is None:
                raise NotFound(f"no assignment for dispute {dispute_id}")
            _, d = await _dispute(conn, did, caller, routing_access.DIRECT, "record the parties' choice for", a)
            missing = sorted({p.party_id for p in d.parties} - set(agreed_party_ids))
            if missing:
                raise RuleViolation("SPC-Invited Art.12", "the parties choose the mediator jointly: "
                                    f"{len(missing)} party(ies) have not agreed")
            if a.status == "awaiting_choice" and a.choose_by and now >= a.choose_by:
                raise RuleViolation("SPC-Online Art.10", f"the parties' 2 working days to choose ended with "
                                    f"{a.choose_by_last_day}; the mediator is appointed")
            if a.status not in ("awaiting_choice", "unassigned"):
                raise RuleViolation("routing.already-placed", f"the dispute is already {a.status}")
            m = await store.mediator(conn, mid)
            if m is None:
                raise InvalidInput(FieldViolation("mediator_id", "not a mediator on the roster"))
            need = self._need(d, region_chain(d.region_code), str(mid), set(), set())
            if must_step_aside(m, need):
                if not disclosure.strip():
                    raise RuleViolation("SPC-Invited Art.15", "this mediator declared a relationship with a party "
                                        "or agent: record the disclosure to keep them with every party's agreement")
                await store.keep_after_disclosure(conn, did, mid, disclosure.strip(), sorted(agreed_party_ids), now)
            row = await self._offer(conn, did, d, a.offer_round + 1, now, chosen=str(mid))
            if row.mediator_id != mid:
                raise RuleViolation("routing.choice-not-eligible", "the chosen mediator is not eligible for this "
                                    "dispute (roster, duty, specialty or region)")
            await audit.record(conn, caller, audit.Action.CHANGE, "assignment", str(did), d.region_code)
            return row

    async def call_consultation(self, dispute_id: str, reason: str, caller: Claims) -> store.ConsultationRow:
        if not reason.strip():
            raise InvalidInput(FieldViolation("reason", "say why the dispute needs a joint consultation"))
        did = parse_uuid("dispute_id", dispute_id)
        now = self.clock()
        async with self.pool.acquire() as conn, conn.transaction():
            a = await store.get_assignment(conn, did)
            dispute, d = await _dispute(conn, did, caller, routing_access.CONSULT, "call a consultation on", a)
            called = await store.get_consultation(conn, did, for_update=True)
            if called is not None and len(called.reasons) >= CONSULTATION_REASONS:
                raise RuleViolation("consultation.reasons", f"the consultation has its {CONSULTATION_REASONS} "
                                    "reasons already; record the plan")
            await self._call_consultation(conn, d, [reason.strip()], f"{caller.role}:{caller.organization_id}",
                                          now, dispute["trace_parent"])
            await audit.record(conn, caller, audit.Action.CHANGE, "consultation", str(did), d.region_code,
                               reason=reason.strip())
            row = await store.get_consultation(conn, did)
        assert row is not None
        return row

    async def record_consultation_plan(self, dispute_id: str, participant_org_ids: list[str], plan: str,
                                       lead_mediator_id: str, co_mediator_ids: list[str], caller: Claims
                                       ) -> store.ConsultationRow:
        bad = []
        if not plan.strip():
            bad.append(FieldViolation("plan", "the joint mediation plan is required"))
        if len(set(participant_org_ids)) < 2:
            bad.append(FieldViolation("participant_org_ids", "a joint consultation needs the offices that took part"))
        if co_mediator_ids and not lead_mediator_id:
            bad.append(FieldViolation("lead_mediator_id", "several mediators need one presiding (SPC-Invited Art.13)"))
        if bad:
            raise InvalidInput(bad)
        did = parse_uuid("dispute_id", dispute_id)
        async with self.pool.acquire() as conn, conn.transaction():
            c = await store.get_consultation(conn, did, for_update=True)
            _, d = await _dispute(conn, did, caller, routing_access.CONSULT, "record the plan of", None, c)
            if c is None:
                raise RuleViolation("routing.no-consultation", "no joint consultation was called for this dispute")
            planned = store.ConsultationRow(**{**c.__dict__, "status": "planned",
                                               "participant_org_ids": sorted(set(participant_org_ids)),
                                               "plan": plan.strip(), "lead_mediator_id": lead_mediator_id,
                                               "co_mediator_ids": list(co_mediator_ids), "planned_at": self.clock()})
            await store.save_plan(conn, planned)
            await audit.record(conn, caller, audit.Action.CHANGE, "consultation", str(did), d.region_code)
        return planned

    async def get_consultation(self, dispute_id: str, caller: Claims) -> store.ConsultationRow:
        did = parse_uuid("dispute_id", dispute_id)
        async with self.pool.acquire() as conn:
            c = await store.get_consultation(conn, did)
            _, d = await _dispute(conn, did, caller, routing_access.CONSULT, None, await store.get_assignment(conn, did),
                                  c)
            if c is None:
                raise NotFound(f"no joint consultation for dispute {dispute_id}")
            await audit.record(conn, caller, audit.Action.READ, "consultation", str(did), d.region_code)
        return c

    async def accept(self, dispute_id: str, mediator_id: str, caller: Claims,
                     now: datetime | None = None) -> store.AssignmentRow:
        now = now or self.clock()
        did, mid = parse_uuid("dispute_id", dispute_id), parse_uuid("mediator_id", mediator_id)
        async with self.pool.acquire() as conn, conn.transaction():
            a = await self._open_offer(conn, did, mid, caller)
            if a.respond_by and now >= a.respond_by:
                raise RuleViolation("SPC-Online Art.12", f"the offer lapsed at the end of {a.respond_by_last_day} "
                                    "(3 working days); the dispute is being reassigned")
            accepted = store.AssignmentRow(**{**a.__dict__, "status": "accepted", "accepted_at": now})
            await store.save_assignment(conn, accepted)
            await store.close_offer(conn, did, a.offer_round, "accepted", now)
            dispute = await store.get_dispute(conn, did)
            d = intake_pb2.DisputeRegistered.FromString(dispute["payload"])
            await enqueue(conn, catalog.DISPUTE_ASSIGNED, routing_pb2.DisputeAssigned(
                dispute_id=d.dispute_id, assignment_id=str(a.assignment_id), region_code=d.region_code,
                dispute_type=d.dispute_type, source=d.source, court_procedure=d.court_procedure,
                mediator_id=str(mid), mediator_name=await store.mediator_name(conn, mid),
                organization_id=a.organization_id, accepted_at=timestamp(now), parties=d.parties,
                referring_org_id=d.referring_org_id, registering_org_id=d.registering_org_id,
            ), dispute_id=d.dispute_id, region_code=d.region_code, journey_traceparent=dispute["trace_parent"], now=now)
            await audit.record(conn, caller, audit.Action.CHANGE, "assignment", str(did), d.region_code)
        return accepted

    async def decline(self, dispute_id: str, mediator_id: str, reason: str, caller: Claims,
                      now: datetime | None = None) -> store.AssignmentRow:
        now = now or self.clock()
        did, mid = parse_uuid("dispute_id", dispute_id), parse_uuid("mediator_id", mediator_id)
        if not reason.strip():
            raise InvalidInput(FieldViolation("reason", "say why the offer is declined; declines without reason "
                                              "count on the performance file (SPC-Invited Art.28)"))
        async with self.pool.acquire() as conn, conn.transaction():
            a = await self._open_offer(conn, did, mid, caller)
            await store.close_offer(conn, did, a.offer_round, "declined", now, reason.strip())
            dispute = await store.get_dispute(conn, did)
            d = intake_pb2.DisputeRegistered.FromString(dispute["payload"])
            await audit.record(conn, caller, audit.Action.CHANGE, "assignment", str(did), d.region_code,
                               reason=reason.strip())
            return await self._offer(conn, did, d, a.offer_round + 1, now)

    async def reassign(self, dispute_id: str, reason: str, caller: Claims,
                       now: datetime | None = None) -> store.AssignmentRow:
        """A clerk withdraws an open offer (or retries an unplaced dispute) and routing
        places the dispute again, never with a mediator offered it before."""
        if not reason.strip():
            raise InvalidInput(FieldViolation("reason", "say why the dispute is reassigned"))
        now = now or self.clock()
        did = parse_uuid("dispute_id", dispute_id)
        async with self.pool.acquire() as conn, conn.transaction():
            a = await store.get_assignment(conn, did, for_update=True)
            if a is None:
                raise NotFound(f"no assignment for dispute {dispute_id}")
            await _dispute(conn, did, caller, routing_access.DIRECT, "reassign", a)
            if a.status == "accepted":
                raise RuleViolation("routing.case-open", "the mediator accepted: the case is in mediation")
            if a.status == "offered":
                await store.close_offer(conn, did, a.offer_round, "withdrawn", now, reason.strip())
            dispute = await store.get_dispute(conn, did)
            d = intake_pb2.DisputeRegistered.FromString(dispute["payload"])
            await audit.record(conn, caller, audit.Action.CHANGE, "assignment", str(did), d.region_code,
                               reason=reason.strip())
            return await self._offer(conn, did, d, a.offer_round + 1, now)

    async def _open_offer(self, conn: asyncpg.Connection, did: UUID, mid: UUID, caller: Claims) -> store.AssignmentRow:
        a = await store.get_assignment(conn, did, for_update=True)
        if a is None:
            raise NotFound(f"no assignment for dispute {did}")
        await _dispute(conn, did, caller, routing_access.ANSWER_OFFER, "answer the offer of", a)
        if a.status != "offered" or a.mediator_id != mid:
            raise RuleViolation("routing.offer-not-open", "this mediator has no open offer for the dispute")
        return a

    async def get(self, dispute_id: str, caller: Claims) -> store.AssignmentRow:
        did = parse_uuid("dispute_id", dispute_id)
        async with self.pool.acquire() as conn:
            a = await store.get_assignment(conn, did)
            if a is None:
                raise NotFound(f"no assignment for dispute {dispute_id}")
            _, d = await _dispute(conn, did, caller, routing_access.ASSIGNMENT, None, a)
            await audit.record(conn, caller, audit.Action.READ, "assignment", str(did), d.region_code)
        return a

    async def sweep_due(self, now: datetime | None = None) -> int:
        """Offers unanswered past 3 working days lapse and the dispute is offered to
        the next eligible mediator (SPC-Online Art.12); a court-delegated dispute whose
        2-working-day choice window closed is appointed by the rules (SPC-Online Art.10)."""
        now = now or self.clock()
        async with self.pool.acquire() as conn, conn.transaction():
            due = await store.lock_due(conn, now)
            for did, status in due:
                a = await store.get_assignment(conn, did)
                assert a is not None
                dispute = await store.get_dispute(conn, did)
                d = intake_pb2.DisputeRegistered.FromString(dispute["payload"])
                if status == "offered":
                    assert a.mediator_id is not None
                    await store.close_offer(conn, did, a.offer_round, "expired", now)
                    await enqueue(conn, catalog.ASSIGNMENT_EXPIRED, routing_pb2.AssignmentExpired(
                        dispute_id=str(did), assignment_id=str(a.assignment_id), mediator_id=str(a.mediator_id),
                        expired_at=timestamp(now)), dispute_id=str(did), region_code=d.region_code,
                        journey_traceparent=dispute["trace_parent"], now=now)
                await self._offer(conn, did, d, a.offer_round + 1, now)
        return len(due)

    async def recompute_provisional_deadlines(self) -> int:
        """Offers and choice windows counted into a year whose holidays were not loaded
        are counted again with the calendar loaded now (after operators load it and
        restart). Returns how many changed."""
        changed = 0
        async with self.pool.acquire() as conn, conn.transaction():
            for a in await store.provisional(conn):
                offer = a.status == "offered"
                period = statutory.MEDIATOR_ACCEPT_OR_DECLINE if offer else statutory.JOINT_CHOICE_OF_MEDIATOR
                due = deadline(a.offered_at, period, self.calendar)
                if due.provisional:
                    continue
                if offer:
                    a = replace(a, respond_by=due.expires_at, respond_by_last_day=due.last_day,
                                respond_by_provisional=False)
                else:
                    a = replace(a, choose_by=due.expires_at, choose_by_last_day=due.last_day,
                                choose_by_provisional=False)
                await store.save_assignment(conn, a)
                changed += 1
        return changed



async def _dispute(conn: asyncpg.Connection, did: UUID, caller: Claims, rule: access.Rule, action: str | None,
                   assignment: store.AssignmentRow | None = None,
                   consultation: store.ConsultationRow | None = None) -> tuple[asyncpg.Record, intake_pb2.DisputeRegistered]:
    """The dispute as routing holds it, once the access policy lets ``caller`` see it
    (NotFound otherwise) and, for ``action``, act on it (PermissionDenied)."""
    dispute = await store.get_dispute(conn, did)
    if dispute is None:
        raise NotFound(f"dispute {did} not found")
    d = intake_pb2.DisputeRegistered.FromString(dispute["payload"])
    mediators = {str(assignment.mediator_id or "")} if assignment else set()
    if consultation is not None:
        mediators |= {consultation.lead_mediator_id, *consultation.co_mediator_ids}
    facts = routing_access.facts(d, mediators, assignment.organization_id if assignment else "",
                                 await dutyrota.caller_on_duty(conn, caller, routing_access.offices(d)))
    if action is None:
        access.check_see(rule, caller, facts, f"dispute {did}")
    else:
        access.check_act(rule, caller, facts, f"dispute {did}", action)
    return dispute, d
