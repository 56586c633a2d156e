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
    """Writes the message to the service log (development and the demo)."""

    name = "console"

    def __init__(self) -> None:
        self.log = logging.getLogger("liandiao.notification.console")

    async def send(self, message: Outgoing) -> None:
        self.log.info("delivery", extra={"delivery_id": message.delivery_id, "to": message.recipient_display,
                                         "body": message.body})
