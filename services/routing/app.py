"""Routing use cases: place a registered dispute, answer an offer, sweep
expired offers. Each runs in one transaction with its outbox rows."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
from google.protobuf.timestamp_pb2 import Timestamp

from liandiao import telemetry
from liandiao.auth import Claims, Role
from liandiao.errors import FieldViolation, InvalidInput, NotFound, PermissionDenied, RuleViolation
from liandiao.events import catalog
from liandiao.events.consumer import ConsumedEvent
from liandiao.events.outbox import enqueue
from liandiao.ids import ancestors, lookup, prefecture_of
from liandiao.intake.v1 import intake_pb2
from liandiao.legaltime import deadline, load_calendar, statutory
from liandiao.personnel.v1 import personnel_pb2
from liandiao.routing.v1 import routing_pb2
from liandiao.uuid7 import uuid7
from services.routing import store
from services.routing.domain.rules import Level, Need, choose_mediator

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


def _uuid(field: str, value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise InvalidInput(FieldViolation(field, "is not a UUID" if value else "required")) from None


class Routing:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool
        self.calendar = load_calendar().with_weekend_fallback()

    # ---- events in -----------------------------------------------------------
    async def on_person_changed(self, conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        p = event.payload.person
        await store.upsert_mediator(conn, {
            "person_id": UUID(p.person_id), "name": p.name, "organization_id": p.organization_id,
            "roles": [_ROLE_NAMES.get(r, str(r)) for r in p.roles], "specialties": list(p.specialties),
            "languages": list(p.languages), "region_codes": list(p.region_codes),
            "roster_status": "active" if p.roster_status == personnel_pb2.ROSTER_STATUS_ACTIVE else "removed",
            "on_duty": p.on_duty, "updated_at": p.updated_at.ToDatetime(tzinfo=UTC),
        })

    async def on_dispute_registered(self, conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        d: intake_pb2.DisputeRegistered = event.payload
        dispute_id = UUID(d.dispute_id)
        fresh = await store.insert_dispute(conn, dispute_id, d.region_code, d.dispute_type, d.SerializeToString(),
                                           event.envelope.traceparent, d.registered_at.ToDatetime(tzinfo=UTC))
        if fresh:
            await self._offer(conn, dispute_id, d, offer_round=1, now=datetime.now(UTC))

    # ---- the placement itself ------------------------------------------------------
    async def _offer(self, conn: asyncpg.Connection, dispute_id: UUID, d: intake_pb2.DisputeRegistered,
                     offer_round: int, now: datetime) -> store.AssignmentRow:
        chain = region_chain(d.region_code)
        roster = await store.mediators_for(conn, d.dispute_type, [lvl.code for lvl in chain])
        need = Need(
            dispute_type=d.dispute_type, region_chain=chain,
            languages=frozenset(p.language for p in d.parties if p.language and p.language != "zh"),
            chosen_mediator_id=d.chosen_mediator_id if offer_round == 1 else "",
            excluded=frozenset(await store.offered_before(conn, dispute_id)),
        )
        choice = choose_mediator(need, roster, await store.open_cases(conn, [m.person_id for m in roster]))
        previous = await store.get_assignment(conn, dispute_id)
        assignment_id = previous.assignment_id if previous else uuid7()
        if choice is None:
            row = store.AssignmentRow(dispute_id, assignment_id, "unassigned", None, "", offer_round, now, None, None,
                                      False, None, "no eligible mediator on any roster covering the region; a clerk must act")
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

    # ---- commands ---------------------------------------------------------------
    async def accept(self, dispute_id: str, mediator_id: str, caller: Claims,
                     now: datetime | None = None) -> store.AssignmentRow:
        now = now or datetime.now(UTC)
        did, mid = _uuid("dispute_id", dispute_id), _uuid("mediator_id", mediator_id)
        _acting_for(caller, mediator_id)
        async with self.pool.acquire() as conn, conn.transaction():
            a = await self._open_offer(conn, did, mid)
            if a.respond_by and now >= a.respond_by:
                raise RuleViolation("SPC-Online Art.12", f"the offer lapsed at the end of {a.respond_by_last_day} "
                                    "(3 working days); the dispute is being reassigned")
            accepted = store.AssignmentRow(**{**a.__dict__, "status": "accepted", "accepted_at": now})
            await store.save_assignment(conn, accepted)
            await store.close_offer(conn, did, a.offer_round, "accepted", now)
            dispute = await store.get_dispute(conn, did)
            d = intake_pb2.DisputeRegistered.FromString(dispute["payload"])
            accepted_ts = Timestamp()
            accepted_ts.FromDatetime(now)
            await enqueue(conn, catalog.DISPUTE_ASSIGNED, routing_pb2.DisputeAssigned(
                dispute_id=d.dispute_id, assignment_id=str(a.assignment_id), region_code=d.region_code,
                dispute_type=d.dispute_type, source=d.source, court_procedure=d.court_procedure,
                mediator_id=str(mid), mediator_name=await store.mediator_name(conn, mid),
                organization_id=a.organization_id, accepted_at=accepted_ts, parties=d.parties,
                referring_org_id=d.referring_org_id,
            ), dispute_id=d.dispute_id, region_code=d.region_code, journey_traceparent=dispute["trace_parent"], now=now)
        return accepted

    async def decline(self, dispute_id: str, mediator_id: str, reason: str, caller: Claims,
                      now: datetime | None = None) -> store.AssignmentRow:
        now = now or datetime.now(UTC)
        did, mid = _uuid("dispute_id", dispute_id), _uuid("mediator_id", mediator_id)
        if not reason.strip():
            raise InvalidInput(FieldViolation("reason", "say why the offer is declined; declines without reason "
                                              "count on the performance file (SPC-Invited Art.28)"))
        _acting_for(caller, mediator_id)
        async with self.pool.acquire() as conn, conn.transaction():
            a = await self._open_offer(conn, did, mid)
            await store.close_offer(conn, did, a.offer_round, "declined", now, reason.strip())
            dispute = await store.get_dispute(conn, did)
            d = intake_pb2.DisputeRegistered.FromString(dispute["payload"])
            return await self._offer(conn, did, d, a.offer_round + 1, now)

    async def _open_offer(self, conn: asyncpg.Connection, did: UUID, mid: UUID) -> store.AssignmentRow:
        a = await store.get_assignment(conn, did, for_update=True)
        if a is None:
            raise NotFound(f"no assignment for dispute {did}")
        if a.status != "offered" or a.mediator_id != mid:
            raise RuleViolation("routing.offer-not-open", "this mediator has no open offer for the dispute")
        return a

    async def get(self, dispute_id: str) -> store.AssignmentRow:
        async with self.pool.acquire() as conn:
            a = await store.get_assignment(conn, _uuid("dispute_id", dispute_id))
        if a is None:
            raise NotFound(f"no assignment for dispute {dispute_id}")
        return a

    async def expire_offers(self, now: datetime | None = None) -> int:
        """Offers unanswered past 3 working days lapse and the dispute is offered
        to the next eligible mediator (SPC-Online Art.12)."""
        now = now or datetime.now(UTC)
        async with self.pool.acquire() as conn, conn.transaction():
            expired = await store.lock_expired_offers(conn, now)
            for did in expired:
                a = await store.get_assignment(conn, did)
                assert a is not None and a.mediator_id is not None
                await store.close_offer(conn, did, a.offer_round, "expired", now)
                dispute = await store.get_dispute(conn, did)
                d = intake_pb2.DisputeRegistered.FromString(dispute["payload"])
                at = Timestamp()
                at.FromDatetime(now)
                await enqueue(conn, catalog.ASSIGNMENT_EXPIRED, routing_pb2.AssignmentExpired(
                    dispute_id=str(did), assignment_id=str(a.assignment_id), mediator_id=str(a.mediator_id),
                    expired_at=at), dispute_id=str(did), region_code=d.region_code,
                    journey_traceparent=dispute["trace_parent"], now=now)
                await self._offer(conn, did, d, a.offer_round + 1, now)
        return len(expired)

    async def sweep(self, stopping: asyncio.Event, every_seconds: float = 30.0) -> None:
        while not stopping.is_set():
            try:
                await self.expire_offers()
            except Exception:
                log.exception("offer expiry sweep failed")
            try:
                await asyncio.wait_for(stopping.wait(), timeout=every_seconds)
            except TimeoutError:
                pass


def _acting_for(caller: Claims, mediator_id: str) -> None:
    """A mediator answers their own offers; clerks and operators may record the answer for them."""
    if caller.role is Role.MEDIATOR and caller.subject != mediator_id:
        raise PermissionDenied("a mediator can only answer their own offers")
