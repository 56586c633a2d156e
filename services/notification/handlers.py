"""Kafka subscribers of notification: thin, each calls the app in the consumer's
transaction. Ack policy: liandiao.events.consumer's one policy (docs/decisions.md
"Consumers"): offsets are committed only after the handler's transaction, with its inbox
row, committed or the message was dead-lettered; a redelivery is dropped by the inbox,
and the deliveries' unique key (event x recipient x channel) makes a second insert a no-op."""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

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
    catalog.COURT_DEADLINE_REMINDER, catalog.SUPPLEMENT_DEADLINE_REMINDER, catalog.SIGNING_CODE_ISSUED,
    catalog.SESSION_CANCELLED, catalog.APPLICATION_WITHDRAWN, catalog.OBJECTION_FILED,
)
PEOPLE: tuple[EventType, ...] = (catalog.PERSON_CHANGED,)


def routed_keys() -> list[str]:
    return [f"{e.service}.{e.name}" for e in ROUTED]


_SCALAR = {FieldDescriptor.TYPE_BOOL: bool, FieldDescriptor.TYPE_STRING: str, FieldDescriptor.TYPE_ENUM: str,
           FieldDescriptor.TYPE_INT32: int, FieldDescriptor.TYPE_UINT32: int}


def _scalars(message: type[Message]) -> dict[str, type]:
    return {f.name: _SCALAR[f.type] for f in message.DESCRIPTOR.fields
            if f.type in _SCALAR and not f.is_repeated}


def event_fields() -> dict[str, dict[str, type]]:
    """Each routed event's single-valued fields a route's ``when`` may test (enums by name)."""
    return {f"{e.service}.{e.name}": _scalars(e.message) for e in ROUTED}


def facts_of(msg: Message) -> dict[str, bool | str | int]:
    """The values a route's ``when`` is checked against: scalar fields, enums by name."""
    out: dict[str, bool | str | int] = {}
    for f in msg.DESCRIPTOR.fields:
        if f.type in _SCALAR and not f.is_repeated:
            value = getattr(msg, f.name)
            out[f.name] = f.enum_type.values_by_number[value].name \
                if f.type == FieldDescriptor.TYPE_ENUM and value in f.enum_type.values_by_number else value
    return out
