"""A delivery's life: one Enum and one transition table (no status string elsewhere).

pending -> sent        the channel accepted the message (SMTP server, SMS provider)
pending -> delivered   the receiver itself acknowledged it (a webhook answered 2xx)
sent    -> delivered   a receipt came back
sent    -> failed      the receipt says it never reached the phone (dead-lettered)
pending -> pending     an attempt failed and another is due later
pending -> failed      attempts exhausted or a permanent refusal: dead-lettered for an operator
pending -> expired     the message is no longer worth sending (its moment has passed)
failed/expired -> pending   an operator resends it
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"


class Step(StrEnum):
    ACCEPTED = "accepted"        # the channel took it
    RECEIPTED = "receipted"      # the receiver confirmed it
    RETRY = "retry"
    GIVE_UP = "give_up"
    EXPIRE = "expire"
    RESEND = "resend"
    BOUNCE = "bounce"            # a receipt says it did not arrive


TRANSITIONS: dict[tuple[Status, Step], Status] = {
    (Status.PENDING, Step.ACCEPTED): Status.SENT,
    (Status.PENDING, Step.RECEIPTED): Status.DELIVERED,
    (Status.SENT, Step.RECEIPTED): Status.DELIVERED,
    (Status.SENT, Step.BOUNCE): Status.FAILED,
    (Status.PENDING, Step.RETRY): Status.PENDING,
    (Status.PENDING, Step.GIVE_UP): Status.FAILED,
    (Status.PENDING, Step.EXPIRE): Status.EXPIRED,
    (Status.FAILED, Step.RESEND): Status.PENDING,
    (Status.EXPIRED, Step.RESEND): Status.PENDING,
}


class IllegalTransition(Exception):
    """A step the table does not allow from the delivery's status (the rule is named)."""

    def __init__(self, status: Status, step: Step):
        super().__init__(f"delivery.{step.value}-from-{status.value}")
        self.status, self.step = status, step


def transition(status: Status, step: Step) -> Status:
    try:
        return TRANSITIONS[(status, step)]
    except KeyError:
        raise IllegalTransition(status, step) from None
