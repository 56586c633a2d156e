"""Notification's SQL (its own schema only): deliveries and their history, the claim
of due deliveries, and the projections of people, disputes, parties and contacts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from liandiao.pii import EncryptedColumn, PiiCipher
from liandiao.uuid7 import uuid7
from services.notification.domain.states import Status


@dataclass(frozen=True)
class DeliveryRow:
    delivery_id: UUID
    dispute_id: UUID
    region_code: str
    source_event_id: UUID
    template: str
    recipient_kind: str
    recipient_id: str
    recipient_display: str
    channel: str
    body: str
    status: str
    attempts: int
    last_error: str
    created_at: datetime
    delivered_at: datetime | None
    locale: str
    expires_at: datetime | None
    address_enc: bytes | None
    body_masked: str


@dataclass(frozen=True)
class NewDelivery:
    dispute_id: UUID
    region_code: str
    source_event_id: UUID
    template: str
    recipient_kind: str
    recipient_id: str
    recipient_display: str
    channel: str
    address: str
    body: str
    body_masked: str
    locale: str
    expires_at: datetime | None


@dataclass(frozen=True)
class PersonRow:
    person_id: str
    name: str
    organization_id: str
    organization_kind: str
    region_codes: list[str]
    language: str
    masked_phone: str


@dataclass(frozen=True)
class DisputeRow:
    dispute_id: UUID
    region_code: str
    dispute_type: str
    source: str
    referring_org_id: str
    mediator_id: str
    mediator_name: str
    organization_id: str


@dataclass(frozen=True)
class PartyRow:
    party_id: str
    display_name: str
    language: str
    masked_phone: str


COLS = ", ".join(DeliveryRow.__dataclass_fields__)


# Personal data at rest (python -m liandiao.pii reencrypt/rebind --service notification).
# Values written before the platform helper were bound to their row in another spelling
# ("delivery.address:<id>"): still row-bound, so they read as they are until rebind rewrites them.
DELIVERY_ADDRESS = EncryptedColumn("notification", "deliveries", "address_enc", "delivery_id",
                                   legacy_context="delivery.address:{id}")
CONTACT_ADDRESS = EncryptedColumn("notification", "contacts", "address_enc", "contact_id",
                                  legacy_context="contact.address:{id}")
PII_COLUMNS = (DELIVERY_ADDRESS, CONTACT_ADDRESS)


class Store:
    def __init__(self, pool: asyncpg.Pool, pii: PiiCipher):
        self.pool, self.pii = pool, pii

    # ---- deliveries ---------------------------------------------------------
    async def add_deliveries(self, conn: asyncpg.Connection, new: Sequence[NewDelivery], now: datetime) -> int:
        """Inserts what is not there yet: a redelivered event finds its deliveries made
        (unique per event x recipient x channel) and adds nothing."""
        made = 0
        for d in new:
            delivery_id = uuid7()
            address = DELIVERY_ADDRESS.encrypt(self.pii, d.address, delivery_id)
            inserted = await conn.fetchval(
                """insert into deliveries (delivery_id, dispute_id, region_code, source_event_id, template,
                       recipient_kind, recipient_id, recipient_display, channel, body, status, locale,
                       address_enc, expires_at, created_at, next_attempt_at, body_masked)
                   values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16)
                   on conflict (source_event_id, recipient_id, channel) do nothing returning delivery_id""",
                delivery_id, d.dispute_id, d.region_code, d.source_event_id, d.template, d.recipient_kind,
                d.recipient_id, d.recipient_display, d.channel, d.body, Status.PENDING.value, d.locale, address,
                d.expires_at, now, d.body_masked)
            if inserted:
                made += 1
                await self.history(conn, delivery_id, now, Status.PENDING, 0, "created")
        return made

    async def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[DeliveryRow]:
        """Claims up to ``limit`` due deliveries in one short transaction: their next
        attempt moves past a lease, so another replica's claim (SKIP LOCKED) passes
        them by, and a sender that dies leaves them due again when the lease ends."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"""update deliveries set next_attempt_at = $3 where delivery_id in (
                        select delivery_id from deliveries where status = 'pending' and next_attempt_at <= $1
                        order by next_attempt_at limit $2 for update skip locked)
                    returning {COLS}""", now, limit, now + lease)
        return sorted((DeliveryRow(**r) for r in rows), key=lambda d: (d.created_at, d.delivery_id))

    def address_of(self, d: DeliveryRow) -> str:
        return DELIVERY_ADDRESS.decrypt(self.pii, d.address_enc, d.delivery_id) or ""

    async def record(self, conn: asyncpg.Connection, d: DeliveryRow, status: Status, attempts: int, error: str,
                     next_at: datetime | None, now: datetime) -> None:
        await conn.execute(
            """update deliveries set status = $2, attempts = $3, last_error = $4,
                   next_attempt_at = coalesce($5, next_attempt_at),
                   delivered_at = case when $2 in ('sent', 'delivered') then $6 else delivered_at end
               where delivery_id = $1""", d.delivery_id, status.value, attempts, error[:500], next_at, now)
        await self.history(conn, d.delivery_id, now, status, attempts, error[:500])

    async def history(self, conn: asyncpg.Connection, delivery_id: UUID, at: datetime, status: Status, attempt: int,
                      detail: str) -> None:
        await conn.execute("insert into delivery_history (delivery_id, at, status, attempt, detail) "
                           "values ($1, $2, $3, $4, $5)", delivery_id, at, status.value, attempt, detail)

    async def get_for_update(self, conn: asyncpg.Connection, delivery_id: UUID) -> DeliveryRow | None:
        row = await conn.fetchrow(f"select {COLS} from deliveries where delivery_id = $1 for update", delivery_id)
        return DeliveryRow(**row) if row else None

    async def requeue(self, conn: asyncpg.Connection, delivery_id: UUID, now: datetime) -> None:
        """An operator's resend: a fresh round of attempts from now."""
        await conn.execute("update deliveries set status = 'pending', attempts = 0, last_error = '', "
                           "next_attempt_at = $2, expires_at = null where delivery_id = $1", delivery_id, now)

    async def list(self, where: str, params: Sequence[object], limit: int, offset: int) -> list[DeliveryRow]:
        """``where`` is built by the app from fixed fragments and the access policy's SQL."""
        n = len(params)
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"select {COLS} from deliveries where {where} order by created_at, delivery_id "
                f"limit ${n + 1} offset ${n + 2}", *params, limit, offset)
        return [DeliveryRow(**r) for r in rows]

    # ---- projections --------------------------------------------------------
    async def upsert_person(self, conn: asyncpg.Connection, p: PersonRow, roles: list[str], active: bool,
                            updated_at: datetime) -> None:
        await conn.execute(
            """insert into people (person_id, name, organization_id, organization_kind, roles, region_codes,
                                   language, masked_phone, active, updated_at)
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               on conflict (person_id) do update set name = $2, organization_id = $3, organization_kind = $4,
                   roles = $5, region_codes = $6, language = $7, masked_phone = $8, active = $9, updated_at = $10
               where people.updated_at <= $10""",
            p.person_id, p.name, p.organization_id, p.organization_kind, roles, p.region_codes, p.language,
            p.masked_phone, active, updated_at)

    async def person(self, conn: asyncpg.Connection, person_id: str) -> PersonRow | None:
        row = await conn.fetchrow("select person_id, name, organization_id, organization_kind, region_codes, "
                                  "language, masked_phone from people where person_id = $1", person_id)
        return PersonRow(**row) if row else None

    async def liaison_officers(self, conn: asyncpg.Connection, region_prefixes: Sequence[str],
                               office_kinds: Sequence[str]) -> list[PersonRow]:
        """Active liaison officers whose coverage includes one of ``region_prefixes``
        (the dispute's divisions), of the given office kinds (all when empty)."""
        rows = await conn.fetch(
            """select person_id, name, organization_id, organization_kind, region_codes, language, masked_phone
               from people where active and 'liaison_officer' = any (roles) and region_codes && $1::text[]
                 and (cardinality($2::text[]) = 0 or organization_kind = any ($2::text[]))
               order by person_id""", list(region_prefixes), list(office_kinds))
        return [PersonRow(**r) for r in rows]

    async def upsert_dispute(self, conn: asyncpg.Connection, d: DisputeRow, parties: Sequence[PartyRow]) -> None:
        await conn.execute(
            """insert into disputes (dispute_id, region_code, dispute_type, source, referring_org_id,
                                     mediator_id, mediator_name, organization_id)
               values ($1, $2, $3, $4, $5, $6, $7, $8)
               on conflict (dispute_id) do update set
                   mediator_id = case when $6 = '' then disputes.mediator_id else $6 end,
                   mediator_name = case when $7 = '' then disputes.mediator_name else $7 end,
                   organization_id = case when $8 = '' then disputes.organization_id else $8 end,
                   referring_org_id = case when $5 = '' then disputes.referring_org_id else $5 end""",
            d.dispute_id, d.region_code, d.dispute_type, d.source, d.referring_org_id, d.mediator_id,
            d.mediator_name, d.organization_id)
        for p in parties:
            await conn.execute(
                """insert into parties (dispute_id, party_id, display_name, language, masked_phone)
                   values ($1, $2, $3, $4, $5) on conflict (dispute_id, party_id) do update set
                   display_name = $3, language = case when $4 = '' then parties.language else $4 end,
                   masked_phone = $5""", d.dispute_id, p.party_id, p.display_name, p.language, p.masked_phone)

    async def dispute(self, conn: asyncpg.Connection, dispute_id: UUID) -> tuple[DisputeRow | None, list[PartyRow]]:
        row = await conn.fetchrow("select * from disputes where dispute_id = $1", dispute_id)
        parties = await conn.fetch("select party_id, display_name, language, masked_phone from parties "
                                   "where dispute_id = $1 order by party_id", dispute_id)
        return (DisputeRow(**row) if row else None), [PartyRow(**p) for p in parties]

    async def set_contact(self, conn: asyncpg.Connection, recipient_id: str, channel: str, address: str) -> None:
        contact_id = await conn.fetchval("select contact_id from contacts where recipient_id = $1 and channel = $2",
                                         recipient_id, channel) or uuid7()
        await conn.execute(
            """insert into contacts (contact_id, recipient_id, channel, address_enc) values ($1, $2, $3, $4)
               on conflict (recipient_id, channel) do update set address_enc = $4""",
            contact_id, recipient_id, channel, self.pii.encrypt(address, context=CONTACT_ADDRESS.context(contact_id)))

    async def contacts(self, conn: asyncpg.Connection, recipient_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        rows = await conn.fetch("select contact_id, recipient_id, channel, address_enc from contacts "
                                "where recipient_id = any ($1::text[])", list(recipient_ids))
        out: dict[str, dict[str, str]] = {}
        for r in rows:
            out.setdefault(r["recipient_id"], {})[r["channel"]] = CONTACT_ADDRESS.decrypt(
                self.pii, r["address_enc"], r["contact_id"]) or ""
        return out
