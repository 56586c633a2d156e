"""Kafka subscribers of confirmation: thin, they call app.py.

Ack policy (the platform's, liandiao.events.consumer): the offset is committed after the
handler's transaction, with its inbox row, has committed, or after the message was
dead-lettered; a redelivered agreement-effective is a no-op (the projection keeps the first:
an agreement takes effect once). A record that cannot be read is dead-lettered, not retried."""

from __future__ import annotations

import asyncpg

from liandiao.events import catalog
from liandiao.events.consumer import ConsumedEvent
from services.confirmation.app import Confirmation

AGREEMENTS = (catalog.AGREEMENT_EFFECTIVE,)
SERVICE = (catalog.DELIVERY_SUCCEEDED,)


def agreements_handler(confirmation: Confirmation):
    async def handle(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        if event.envelope.event_type != catalog.AGREEMENT_EFFECTIVE.key:
            raise ValueError(f"agreements handler got {event.envelope.event_type}")
        await confirmation.on_agreement_effective(conn, event)

    return handle


def service_handler(confirmation: Confirmation):
    """Notification's delivery-succeeded: a ruling's service on a party is recorded (the rest ignored)."""
    async def handle(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        await confirmation.on_delivery_succeeded(conn, event)

    return handle
