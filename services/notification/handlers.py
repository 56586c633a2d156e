"""Kafka subscribers of notification: thin, each calls the app in the consumer's
transaction. Ack policy: liandiao.events.consumer's one policy (docs/decisions.md
"Consumers"): offsets are committed only after the handler's transaction, with its inbox
row, committed or the message was dead-lettered; a redelivery is dropped by the inbox,
and the deliveries' unique key (event x recipient x channel) makes a second insert a no-op."""

from __future__ import annotations

from liandiao.events import catalog
from liandiao.events.catalog import EventType

# Everything notification may route. A route in routing.toml for an event not listed here is
# refused at start-up; a new event type of mediation or confirmation is added here once it
# is in the catalogue, and then needs only a route and a template.
ROUTED: tuple[EventType, ...] = (
    catalog.DISPUTE_REGISTERED, catalog.RISK_FLAGGED,
    catalog.DISPUTE_ASSIGNED, catalog.DISPUTE_ESCALATED, catalog.ASSIGNMENT_EXPIRED,
    catalog.SESSION_SCHEDULED, catalog.AGREEMENT_EFFECTIVE, catalog.MEDIATION_FAILED,
    catalog.CASE_RETURNED_TO_COURT, catalog.EXPIRY_REMINDER_DUE, catalog.FALSE_MEDIATION_REPORTED,
    catalog.APPLICATION_FILED, catalog.APPLICATION_ACCEPTED, catalog.APPLICATION_REFUSED, catalog.RULING_ISSUED,
)
PEOPLE: tuple[EventType, ...] = (catalog.PERSON_CHANGED,)


def routed_keys() -> list[str]:
    return [f"{e.service}.{e.name}" for e in ROUTED]
