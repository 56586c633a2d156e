"""Intake use cases: load -> decide (pure rules) -> store state and outbox rows
in one transaction."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from liandiao import telemetry
from liandiao.auth import Claims, Role
from liandiao.errors import FieldViolation, InvalidInput, NotFound, PermissionDenied
from liandiao.events import catalog
from liandiao.events.outbox import enqueue
from liandiao.ids import mask_id, mask_phone, prefecture_of
from liandiao.legaltime import to_china_date
from liandiao.pii import PiiCipher
from liandiao.reference import dispute_types
from liandiao.uuid7 import uuid7
from services.intake import events, store
from services.intake.domain.model import Decision, Registration, Status
from services.intake.domain.rules import RiskPolicy, decide_registration


@dataclass(frozen=True)
class Registered:
    dispute: store.DisputeRow
    parties: list[store.PartyRow]
    warnings: tuple[str, ...]
    replayed: bool   # True when the request id was seen before: nothing new happened


class Intake:
    def __init__(self, pool: asyncpg.Pool, pii: PiiCipher, risk_policy: RiskPolicy | None = None):
        self.pool, self.pii = pool, pii
        self.risk_policy = risk_policy or RiskPolicy()

    async def register(self, reg: Registration, caller: Claims, now: datetime | None = None) -> Registered:
        now = now or datetime.now(UTC)
        async with self.pool.acquire() as conn:
            existing = await store.dispute_id_for_request(conn, reg.request_id) if reg.request_id else None
            if existing:
                return await self._replayed(conn, existing)
            decision = decide_registration(
                reg, known_types=dispute_types(), today=to_china_date(now),
                risk_policy=self.risk_policy,
            )
            if not caller.sees_region(reg.region_code):
                raise PermissionDenied(f"region {reg.region_code} is outside the caller's scope")
            dispute, parties = self._rows(reg, decision, now)
            async with conn.transaction():
                if not await store.insert_dispute(conn, dispute, parties):
                    # Lost a race with a concurrent retry of the same request.
                    existing = await store.dispute_id_for_request(conn, reg.request_id)
                    assert existing is not None
                    return await self._replayed(conn, existing)
                await self._publish(conn, reg, dispute, parties, decision)
        telemetry.BUSINESS.labels("intake", f"dispute_{decision.status.value}", dispute.prefecture,
                                  reg.dispute_type).inc()
        return Registered(dispute, parties, decision.warnings, replayed=False)

    async def _replayed(self, conn: asyncpg.Connection, dispute_id: UUID) -> Registered:
        found = await store.get_dispute(conn, dispute_id)
        assert found is not None
        return Registered(found[0], found[1], (), replayed=True)

    def _rows(self, reg: Registration, decision: Decision, now: datetime) -> tuple[store.DisputeRow, list[store.PartyRow]]:
        dispute_id = uuid7()
        dispute = store.DisputeRow(
            dispute_id=dispute_id, request_id=reg.request_id, region_code=reg.region_code,
            prefecture=prefecture_of(reg.region_code), dispute_type=reg.dispute_type,
            source=reg.source.value if reg.source else "",
            court_procedure=reg.referral.procedure.value if reg.referral.procedure else None,
            referring_org_id=reg.referral.org_id, referring_person_id=reg.referral.person_id,
            referral_reference=reg.referral.reference, facts=reg.facts, requested_outcome=reg.requested_outcome,
            amount_fen=reg.amount_fen, status=decision.status.value, risk_score=decision.risk.score,
            risk_reasons=list(decision.risk.reasons), registering_person_id=reg.registering_person_id,
            registering_org_id=reg.registering_org_id, chosen_mediator_id=reg.chosen_mediator_id,
            trace_parent=telemetry.current_traceparent(), registered_at=now,
        )
        parties = []
        for position, checked in enumerate(decision.parties):
            p = checked.party
            enc = self.pii.encrypt
            parties.append(store.PartyRow(
                party_id=uuid7(), position=position, kind=p.kind.value if p.kind else "",
                side=p.side.value if p.side else "", name=p.name.strip(), sex=checked.birth_sex,
                ethnicity=p.ethnicity, age=p.age, occupation=p.occupation, language=p.language or "zh",
                id_type=p.id_type.value if p.id_type else ("credit_code" if checked.id_number else ""),
                id_number_enc=enc(checked.id_number, context="party.id_number") if checked.id_number else None,
                id_fp=self.pii.fingerprint(checked.id_number) if checked.id_number else None,
                id_masked=mask_id(checked.id_number) if checked.id_number else "",
                no_id_reason=p.no_id_reason,
                phone_enc=enc(checked.phone, context="party.phone") if checked.phone else None,
                phone_masked=mask_phone(checked.phone) if checked.phone else "",
                address_enc=enc(p.address, context="party.address") if p.address else None,
                service_address_enc=enc(p.service_address, context="party.service_address")
                if p.service_address else None,
                service_address_confirmed=p.service_address_confirmed,
                consent=p.consent.value if p.consent else "", disclosed_at=p.disclosed_at,
                routes_told=list(p.routes_told),
            ))
        return dispute, parties

    async def _publish(self, conn: asyncpg.Connection, reg: Registration, d: store.DisputeRow,
                       parties: list[store.PartyRow], decision: Decision) -> None:
        if decision.status is not Status.REGISTERED:
            return  # PML Art.17: a refused dispute never reaches routing
        await enqueue(conn, catalog.DISPUTE_REGISTERED, events.dispute_registered(d, parties),
                      dispute_id=str(d.dispute_id), region_code=d.region_code, now=d.registered_at)
        if decision.risk.flagged:
            await enqueue(conn, catalog.RISK_FLAGGED, events.risk_flagged(d),
                          dispute_id=str(d.dispute_id), region_code=d.region_code, now=d.registered_at)

    async def get(self, dispute_id: str, caller: Claims) -> tuple[store.DisputeRow, list[store.PartyRow]]:
        try:
            key = UUID(dispute_id)
        except ValueError:
            raise InvalidInput(FieldViolation("dispute_id", "is not a UUID")) from None
        async with self.pool.acquire() as conn:
            found = await store.get_dispute(conn, key)
        if found is None or not _visible(found[0], caller):
            raise NotFound(f"dispute {dispute_id} not found")
        return found

    async def list(self, caller: Claims, region_prefix: str, dispute_type: str, source: str, status: str,
                   page_size: int, page_token: str) -> tuple[list[tuple[store.DisputeRow, list[store.PartyRow]]], str]:
        if page_size < 0 or page_size > 200:
            raise InvalidInput(FieldViolation("page.page_size", "must be between 1 and 200"))
        scope = _narrow_scope(caller.region_scope, region_prefix)
        if not scope:
            return [], ""
        f = store.DisputeFilter(
            region_prefixes=scope, dispute_type=dispute_type, source=source, status=status,
            referring_org_id=caller.organization_id if caller.role is Role.POLICE else "",
            after=_decode_cursor(page_token), limit=page_size or 50,
        )
        async with self.pool.acquire() as conn:
            rows = await store.list_disputes(conn, f)
        token = _encode_cursor(rows[-1][0]) if len(rows) == f.limit else ""
        return rows, token


def _visible(d: store.DisputeRow, caller: Claims) -> bool:
    """A police station sees the disputes it referred, not the whole province."""
    if caller.role is Role.POLICE:
        return d.referring_org_id == caller.organization_id
    return caller.sees_region(d.region_code)


def _narrow_scope(scope: tuple[str, ...], prefix: str) -> tuple[str, ...]:
    if not prefix:
        return scope
    if not prefix.isdigit():
        raise InvalidInput(FieldViolation("region_prefix", "digits of a region code, e.g. 1505"))
    return tuple(max(s, prefix, key=len) for s in scope if prefix.startswith(s) or s.startswith(prefix))


def _encode_cursor(d: store.DisputeRow) -> str:
    raw = json.dumps([d.registered_at.isoformat(), str(d.dispute_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_cursor(token: str) -> tuple[datetime, UUID] | None:
    if not token:
        return None
    try:
        at, did = json.loads(base64.urlsafe_b64decode(token.encode()))
        return datetime.fromisoformat(at), UUID(did)
    except (ValueError, TypeError):
        raise InvalidInput(FieldViolation("page.page_token", "is not a token from a previous page")) from None

