"""Delivery channels behind one interface: console (development), SMS through a
provider's HTTP API, e-mail over SMTP, and signed webhooks to court and police systems."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from services.notification.domain.states import Step


@dataclass(frozen=True)
class Outgoing:
    delivery_id: str
    recipient_display: str       # masked
    body: str
    address: str = ""            # phone, e-mail address or the receiving organization's id
    template: str = ""
    locale: str = "zh-CN"
    dispute_id: str = ""
    body_masked: str = ""       # the body with the recipient's name masked, for logs
    result: str = ""            # JSON: a referring system's structured result (webhooks only)

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt of one delivery, so a receiver drops a repeat."""
        return self.delivery_id


class ChannelError(Exception):
    """A send that did not go through; ``permanent`` when repeating it cannot help."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    name: str

    async def send(self, message: Outgoing) -> Step | None:
        """ACCEPTED (None) or RECEIPTED; raises ChannelError (or any error: retried)."""


class ConsoleChannel:
    """Stands in for a gateway (development and the demo): logs that a message went
    out and to whom (masked), not its text, which names the people it is about
    (issue 7: no names in logs). ListDeliveries shows the text to those who may read it."""

    name = "console"

    def __init__(self) -> None:
        self.log = logging.getLogger("liandiao.notification.console")

    async def send(self, message: Outgoing) -> Step | None:
        self.log.info("delivery", extra={"delivery_id": message.delivery_id, "to": message.recipient_display,
                                         "body_chars": len(message.body)})
        return Step.ACCEPTED
