"""Kafka subscribers of personnel: thin, they call app.py.

Ack policy (the platform's, liandiao.events.consumer): the offset is committed
after the handler's transaction, with its inbox row, committed, or after the
message was dead-lettered; a redelivered event is a no-op."""

from __future__ import annotations

import asyncpg

from liandiao.events import catalog
from liandiao.events.consumer import ConsumedEvent
from liandiao.mediation.v1 import mediation_pb2
from liandiao.rpc.convert import aware
from services.personnel.app import Personnel
from services.personnel.domain.performance import Outcome

# The events that feed the performance file (业绩档案).
PERFORMANCE_EVENTS = (catalog.DISPUTE_ASSIGNED, catalog.ASSIGNMENT_EXPIRED, catalog.AGREEMENT_EFFECTIVE,
                      catalog.MEDIATION_FAILED)


def performance_handler(personnel: Personnel):
    async def handle(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        key, payload, at = event.envelope.event_type, event.payload, event.envelope.occurred_at
        if key == catalog.DISPUTE_ASSIGNED.key:
            await personnel.on_dispute_assigned(conn, payload, at)
        elif key == catalog.ASSIGNMENT_EXPIRED.key:
            await personnel.on_assignment_expired(conn, payload, at)
        elif key == catalog.AGREEMENT_EFFECTIVE.key:
            when = aware(payload.effective_at) if payload.HasField("effective_at") else at
            await personnel.on_outcome(conn, payload.dispute_id, Outcome.AGREEMENT, "", when)
        elif key == catalog.MEDIATION_FAILED.key:
            when = aware(payload.terminated_at) if payload.HasField("terminated_at") else at
            known = mediation_pb2.TerminationGround.DESCRIPTOR.values_by_number.get(payload.ground)
            ground = known.name.removeprefix("TERMINATION_GROUND_").lower() if known else str(payload.ground)
            # `failure` is false for the parties' own settlement and withdrawal (SPC-Online Art.25)
            outcome = Outcome.FAILED if payload.failure else Outcome.SETTLED
            await personnel.on_outcome(conn, payload.dispute_id, outcome, ground, when)
        else:
            raise ValueError(f"performance handler got {key}")

    return handle
