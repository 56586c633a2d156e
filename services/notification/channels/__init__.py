"""Delivery channels behind one interface, so real SMS, e-mail and webhook
channels plug in beside the console channel used locally."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    delivery_id: str
    recipient_display: str
    body: str


class Channel(Protocol):
    name: str

    async def send(self, message: Outgoing) -> None:
        """Raises on failure; the dispatcher retries with back-off."""


class ConsoleChannel:
    """Stands in for a gateway (development and the demo): logs that a message went
    out and to whom (masked), not its text, which names the people it is about
    (issue 7: no names in logs). ListDeliveries shows the text to those who may read it."""

    name = "console"

    def __init__(self) -> None:
        self.log = logging.getLogger("liandiao.notification.console")

    async def send(self, message: Outgoing) -> None:
        self.log.info("delivery", extra={"delivery_id": message.delivery_id, "to": message.recipient_display,
                                         "body_chars": len(message.body)})
