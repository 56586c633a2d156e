"""Notification's SQL (its own schema only): deliveries and their history, the claim
of due deliveries, and the projections of people, disputes, parties and contacts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from liandiao.events import catalog
from liandiao.events.consumer import ConsumedEvent
from liandiao.events.envelope import Envelope
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
    payload: str | None = None   # JSON: the structured result a webhook to a referring system carries
    served_at: datetime | None = None   # when it reached the addressee's system (CPL Art.90), once


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
    payload: str | None = None


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
    # A court or police case system that sent the referral in, and its own reference (issue 10).
    referring_system_id: str = ""
    referral_reference: str = ""


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
LOOKED_UP_CHANNELS = ("sms", "email")   # what intake and personnel answer; webhooks are configuration


class Store:
    def __init__(self, pool: asyncpg.Pool, pii: PiiCipher):
        self.pool, self.pii = pool, pii

    # ---- events that came before their dispute's assignment --------------------------------
    async def park(self, conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        e = event.envelope
        await conn.execute(
            """insert into parked_events (event_id, dispute_id, event_type, topic, occurred_at, region_code,
                                          traceparent, payload_enc)
               values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict do nothing""",
            UUID(e.event_id), UUID(e.dispute_id or event.payload.dispute_id), e.event_type, event.topic,
            e.occurred_at, e.region_code, e.traceparent,
            self.pii.encrypt_bytes(event.payload.SerializeToString(), context=f"parked:{e.event_id}"))

    async def unpark(self, conn: asyncpg.Connection, dispute_id: UUID) -> list[ConsumedEvent]:
        """The dispute's parked events, oldest first, taken out of the table."""
        rows = await conn.fetch("delete from parked_events where dispute_id = $1 returning *", dispute_id)
        out = []
        for r in sorted(rows, key=lambda r: r["occurred_at"]):
            kind = catalog.BY_KEY[r["event_type"]]
            payload = kind.message.FromString(self.pii.decrypt_bytes(r["payload_enc"], context=f"parked:{r['event_id']}"))
            out.append(ConsumedEvent(Envelope(str(r["event_id"]), r["event_type"], r["occurred_at"], str(dispute_id),
                                              r["region_code"], r["traceparent"], ""), payload, r["topic"]))
        return out

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
                       address_enc, expires_at, created_at, next_attempt_at, body_masked, payload)
                   values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17)
                   on conflict (source_event_id, recipient_id, channel) do nothing returning delivery_id""",
                delivery_id, d.dispute_id, d.region_code, d.source_event_id, d.template, d.recipient_kind,
                d.recipient_id, d.recipient_display, d.channel, d.body, Status.PENDING.value, d.locale, address,
                d.expires_at, now, d.body_masked, d.payload)
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
                     next_at: datetime | None, now: datetime, served_at: datetime | None = None) -> None:
        await conn.execute(
            """update deliveries set status = $2, attempts = $3, last_error = $4,
                   next_attempt_at = coalesce($5, next_attempt_at),
                   delivered_at = case when $2 in ('sent', 'delivered') then $6 else delivered_at end,
                   served_at = coalesce(served_at, $7)
               where delivery_id = $1""", d.delivery_id, status.value, attempts, error[:500], next_at, now,
            served_at)
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

    async def justice_bureau(self, conn: asyncpg.Connection, region_prefixes: Sequence[str]) -> list[PersonRow]:
        """Active people of a justice bureau (司法局) whose region is one of ``region_prefixes``
        (the dispute's county or prefecture): the nearest bureau only, the county's when it has one."""
        rows = await conn.fetch(
            """select person_id, name, organization_id, organization_kind, region_codes, language, masked_phone
               from people where active and organization_kind = 'justice_bureau' and region_codes && $1::text[]
               order by person_id""", list(region_prefixes))
        found = [PersonRow(**r) for r in rows]
        depth = {p.person_id: max((len(c.rstrip("0")) for c in p.region_codes if c in region_prefixes), default=0)
                 for p in found}
        nearest = max(depth.values(), default=0)
        return [p for p in found if depth[p.person_id] == nearest]

    async def upsert_dispute(self, conn: asyncpg.Connection, d: DisputeRow, parties: Sequence[PartyRow]) -> None:
        await conn.execute(
            """insert into disputes (dispute_id, region_code, dispute_type, source, referring_org_id,
                                     mediator_id, mediator_name, organization_id, referring_system_id,
                                     referral_reference)
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               on conflict (dispute_id) do update set
                   referring_system_id = case when $9 = '' then disputes.referring_system_id else $9 end,
                   referral_reference = case when $10 = '' then disputes.referral_reference else $10 end,
                   mediator_id = case when $6 = '' then disputes.mediator_id else $6 end,
                   mediator_name = case when $7 = '' then disputes.mediator_name else $7 end,
                   organization_id = case when $8 = '' then disputes.organization_id else $8 end,
                   referring_org_id = case when $5 = '' then disputes.referring_org_id else $5 end""",
            d.dispute_id, d.region_code, d.dispute_type, d.source, d.referring_org_id, d.mediator_id,
            d.mediator_name, d.organization_id, d.referring_system_id, d.referral_reference)
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

    # ---- contacts read from intake and personnel (services.notification.contacts) ----
    async def stale_lookups(self, conn: asyncpg.Connection, recipient_ids: Sequence[str],
                            fresh_after: datetime) -> set[str]:
        """The recipients whose addresses were never read, or not since ``fresh_after``."""
        fresh = await conn.fetch("select recipient_id from contact_lookups where recipient_id = any ($1::text[]) "
                                 "and looked_up_at > $2", list(recipient_ids), fresh_after)
        return set(recipient_ids) - {r["recipient_id"] for r in fresh}

    async def replace_contacts(self, conn: asyncpg.Connection, recipient_id: str, addresses: Mapping[str, str],
                               language: str, now: datetime) -> None:
        """What a lookup found replaces what an earlier one did (a number changed or removed)."""
        await conn.execute("delete from contacts where recipient_id = $1 and channel = any ($2::text[])",
                           recipient_id, [c for c in LOOKED_UP_CHANNELS if c not in addresses])
        for channel, address in addresses.items():
            await self.set_contact(conn, recipient_id, channel, address)
        await conn.execute(
            """insert into contact_lookups (recipient_id, looked_up_at, language) values ($1, $2, $3)
               on conflict (recipient_id) do update set looked_up_at = $2, language = $3""",
            recipient_id, now, language)

    async def looked_up_languages(self, conn: asyncpg.Connection, recipient_ids: Sequence[str]) -> dict[str, str]:
        rows = await conn.fetch("select recipient_id, language from contact_lookups "
                                "where recipient_id = any ($1::text[]) and language <> ''", list(recipient_ids))
        return {r["recipient_id"]: r["language"] for r in rows}

    async def purge_contacts(self, older_than: datetime) -> int:
        """Addresses read longer ago than their lifetime are deleted (read again when needed)."""
        async with self.pool.acquire() as conn, conn.transaction():
            gone = await conn.fetch("delete from contact_lookups where looked_up_at <= $1 returning recipient_id",
                                    older_than)
            ids = [r["recipient_id"] for r in gone]
            await conn.execute("delete from contacts where recipient_id = any ($1::text[]) "
                               "and channel = any ($2::text[])", ids, list(LOOKED_UP_CHANNELS))
        return len(ids)

    async def all_liaison_officers(self, conn: asyncpg.Connection) -> list[PersonRow]:
        rows = await conn.fetch(
            """select person_id, name, organization_id, organization_kind, region_codes, language, masked_phone
               from people where active and 'liaison_officer' = any (roles) order by person_id""")
        return [PersonRow(**r) for r in rows]

    async def replace_agents(self, conn: asyncpg.Connection, dispute_id: UUID, party_id: str,
                             agents: Sequence[tuple[str, str]]) -> None:
        await conn.execute("delete from agents where dispute_id = $1 and party_id = $2", dispute_id, party_id)
        await conn.executemany("insert into agents (dispute_id, party_id, agent_id, name) values ($1, $2, $3, $4) "
                               "on conflict (dispute_id, agent_id) do update set party_id = $2, name = $4",
                               [(dispute_id, party_id, agent_id, name) for agent_id, name in agents])

    async def agents(self, conn: asyncpg.Connection, dispute_id: UUID) -> list[tuple[str, str, str]]:
        """(party id, agent id, name) of the dispute's agents, as intake last answered."""
        rows = await conn.fetch("select party_id, agent_id, name from agents where dispute_id = $1 "
                                "order by party_id, agent_id", dispute_id)
        return [(r["party_id"], r["agent_id"], r["name"]) for r in rows]

    async def made_from(self, conn: asyncpg.Connection, source_event_id: UUID) -> bool:
        return bool(await conn.fetchval("select true from deliveries where source_event_id = $1 limit 1",
                                        source_event_id))
