"""Kafka subscribers of statistics: thin, they call app.py.

Ack policy (the platform's, liandiao.events.consumer): the offset is committed after the
handler's transaction, with its inbox row, committed, or after the message was
dead-lettered; a redelivered event is a no-op (the inbox), and each event merges only
its own columns, so the events of one dispute may come in any order."""

from __future__ import annotations

from liandiao.events.consumer import Handler
from services.statistics.app import Statistics


def facts(statistics: Statistics) -> Handler:
    """Every milestone of a dispute, from intake, routing, mediation and confirmation."""
    return statistics.on_event
