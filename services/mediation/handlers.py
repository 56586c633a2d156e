"""Kafka subscribers of mediation: thin, they call app.py.

Ack policy (the platform's, liandiao.events.consumer): the offset is committed after the
handler's transaction, with its inbox row, committed, or after the message was dead-lettered;
a redelivered event is a no-op (the inbox, and `on conflict (dispute_id) do nothing`)."""

from __future__ import annotations

import asyncpg

from liandiao import dutyrota
from liandiao.events.consumer import ConsumedEvent, Handler
from services.mediation.app import Mediation


def assignments(mediation: Mediation) -> Handler:
    """routing's dispute-assigned: the mediator accepted, the case opens."""
    return mediation.on_dispute_assigned


async def duty_rota(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
    """personnel's person-changed: the duty rota, so that a lawyer on duty at a case's office
    reads the case (liandiao.dutyrota)."""
    await dutyrota.project(conn, event.payload.person, event.envelope.occurred_at)
