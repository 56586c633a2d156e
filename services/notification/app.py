"""Notification use cases: turn events into deliveries (in the event's
transaction), dispatch pending deliveries through their channel with retries,
and read them back."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from liandiao import access, telemetry
from liandiao.auth import Claims
from liandiao.errors import parse_uuid
from liandiao.events import catalog
from liandiao.events.consumer import ConsumedEvent
from liandiao.events.outbox import enqueue
from liandiao.ids import lookup, prefecture_of
from liandiao.notification.v1 import notification_pb2
from liandiao.redact import mask_free_text
from liandiao.reference import dispute_types
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc.convert import timestamp
from liandiao.rpc.enums import CASE_SOURCE
from liandiao.uuid7 import uuid7
from services.notification import access as delivery_access
from services.notification.channels import Channel, Outgoing
from services.notification.codes import CHANNEL, REFERRER_KIND
from services.notification.domain.templates import render

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
CLAIM_LEASE = timedelta(seconds=60)   # a claimed delivery is due again if its sender died


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


_COLS = list(DeliveryRow.__dataclass_fields__)


def _mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1) if name else "?"


class Notification:
    def __init__(self, pool: asyncpg.Pool, channels: dict[str, Channel]):
        self.pool, self.channels = pool, channels

    async def on_dispute_assigned(self, conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        a: routing_pb2.DisputeAssigned = event.payload
        kind = dispute_types().get(a.dispute_type)
        region = lookup(a.region_code)
        common = {"short_id": a.dispute_id[-8:], "type_zh": kind.zh if kind else a.dispute_type,
                  "mediator": a.mediator_name, "region": region.name if region else a.region_code,
                  "party_count": str(len(a.parties))}
        wanted = [("dispute-assigned/party", "party", p.party_id,
                   f"{_mask_name(p.display_name)} ({p.masked_phone or 'no phone'})", {"name": p.display_name})
                  for p in a.parties]
        wanted.append(("dispute-assigned/mediator", "mediator", a.mediator_id, a.mediator_name, {}))
        referrer = REFERRER_KIND.get(CASE_SOURCE.to_domain(a.source) or "")
        if a.referring_org_id and referrer:
            wanted.append(("dispute-assigned/referrer", referrer, a.referring_org_id, a.referring_org_id, {}))
        for template, recipient_kind, recipient_id, display, extra in wanted:
            await conn.execute(
                """insert into deliveries (delivery_id, dispute_id, region_code, source_event_id, template,
                                           recipient_kind, recipient_id, recipient_display, channel, body, status)
                   values ($1, $2, $3, $4, $5, $6, $7, $8, 'console', $9, 'pending')
                   on conflict (source_event_id, template, recipient_id) do nothing""",
                uuid7(), UUID(a.dispute_id), a.region_code, UUID(event.envelope.event_id), template, recipient_kind,
                recipient_id, display, render(template, {**common, **extra}))

    async def dispatch_due(self, now: datetime | None = None, limit: int = 100) -> int:
        """Sends the pending deliveries that are due.

        Claim, send, record: the due rows are claimed in a short transaction (their
        next attempt moved past a lease, so no other replica takes them), sent with no
        transaction open, and each outcome is then committed with its event. A crash
        after a send and before its record sends it again when the lease runs out
        (at-least-once; the delivery id goes with the message for the gateway to drop
        the repeat)."""
        now = now or datetime.now(UTC)
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"""update deliveries set next_attempt_at = $3 where delivery_id in (
                        select delivery_id from deliveries where status = 'pending' and next_attempt_at <= $1
                        order by next_attempt_at limit $2 for update skip locked)
                    returning {', '.join(_COLS)}""", now, limit, now + CLAIM_LEASE)
        for row in sorted(rows, key=lambda r: r["created_at"]):
            await self._send(DeliveryRow(**row), now)
        return len(rows)

    async def _send(self, d: DeliveryRow, now: datetime) -> None:
        attempts = d.attempts + 1
        try:
            await self.channels[d.channel].send(Outgoing(str(d.delivery_id), d.recipient_display, d.body))
        except Exception as exc:  # noqa: BLE001 - any channel failure is retried, then recorded
            async with self.pool.acquire() as conn, conn.transaction():
                await self._record_failure(conn, d, attempts, exc, now)
            return
        async with self.pool.acquire() as conn, conn.transaction():
            await self._record_success(conn, d, attempts, now)

    async def _record_failure(self, conn: asyncpg.Connection, d: DeliveryRow, attempts: int, exc: Exception,
                              now: datetime) -> None:
        final = attempts >= MAX_ATTEMPTS
        await conn.execute(
            """update deliveries set attempts = $2, last_error = $3, status = $4,
                   next_attempt_at = $5 where delivery_id = $1""",
            d.delivery_id, attempts, mask_free_text(str(exc))[:500], "failed" if final else "pending",
            now + timedelta(seconds=2 ** attempts))
        if final:
            await enqueue(conn, catalog.DELIVERY_FAILED, notification_pb2.DeliveryFailed(
                delivery_id=str(d.delivery_id), dispute_id=str(d.dispute_id),
                channel=CHANNEL.to_proto(d.channel), error=mask_free_text(str(exc))[:500], attempts=attempts),
                dispute_id=str(d.dispute_id), region_code=d.region_code, now=now)

    async def _record_success(self, conn: asyncpg.Connection, d: DeliveryRow, attempts: int, now: datetime) -> None:
        await conn.execute("update deliveries set status = 'sent', attempts = $2, delivered_at = $3 "
                           "where delivery_id = $1", d.delivery_id, attempts, now)
        await enqueue(conn, catalog.DELIVERY_SUCCEEDED, notification_pb2.DeliverySucceeded(
            delivery_id=str(d.delivery_id), dispute_id=str(d.dispute_id), channel=CHANNEL.to_proto(d.channel),
            delivered_at=timestamp(now)), dispute_id=str(d.dispute_id), region_code=d.region_code, now=now)
        telemetry.BUSINESS.labels("notification", "delivery_sent", prefecture_of(d.region_code), d.template).inc()


    async def list(self, caller: Claims, dispute_id: str, status: str, limit: int, offset: int) -> list[DeliveryRow]:
        """A dispute's deliveries that ``caller`` may see (the access policy, in SQL)."""
        key = parse_uuid("dispute_id", dispute_id)
        visible, params = access.visible_sql(delivery_access.DELIVERY, caller, delivery_access.COLUMNS, 5)
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"""select {', '.join(_COLS)} from deliveries where dispute_id = $1 and ($2 = '' or status = $2)
                      and {visible}
                    order by created_at, delivery_id limit $3 offset $4""", key, status, limit, offset, *params)
        return [DeliveryRow(**r) for r in rows]
