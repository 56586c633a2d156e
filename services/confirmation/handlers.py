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


def agreements_handler(confirmation: Confirmation):
    async def handle(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        if event.envelope.event_type != catalog.AGREEMENT_EFFECTIVE.key:
            raise ValueError(f"agreements handler got {event.envelope.event_type}")
        await confirmation.on_agreement_effective(conn, event)

    return handle
