"""Webhooks to court and police systems: a JSON POST, HMAC-SHA256-signed with the
receiver's own secret over ``<timestamp>.<body>``, so the receiver can check it came
from us and is fresh (refuse an old timestamp: no replay), with an idempotency key that
is the same on every attempt of one delivery (a retried POST is dropped, not applied
twice). 2xx: the receiver has it. 4xx other than 408/429: refused for good."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

# The scheme is shared with the court and police systems' inbound API (liandiao.hmacsig).
from liandiao.hmacsig import IDEMPOTENCY, SIGNATURE, TIMESTAMP, sign, verify  # noqa: F401 - re-exported
from services.notification.channels import ChannelError, Outgoing
from services.notification.domain.states import Step


@dataclass(frozen=True)
class Receiver:
    organization_id: str
    url: str
    secret: bytes


class WebhookChannel:
    name = "webhook"

    def __init__(self, receivers: Mapping[str, Receiver], client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time, timeout_seconds: float = 5.0):
        self.receivers, self.clock, self.timeout = receivers, clock, timeout_seconds
        self.client = client or httpx.AsyncClient(timeout=timeout_seconds)

    async def send(self, message: Outgoing) -> Step | None:
        receiver = self.receivers.get(message.address)
        if receiver is None:
            raise ChannelError(f"no webhook receiver configured for {message.address}", permanent=True)
        content = {"delivery_id": message.delivery_id, "dispute_id": message.dispute_id,
                   "template": message.template, "locale": message.locale, "text": message.body}
        if message.result:
            # A court or police case system's own reference and the stage reached (docs/api/external-systems.yaml).
            content["result"] = json.loads(message.result)
        body = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
        stamp = str(int(self.clock()))
        headers = {"Content-Type": "application/json", TIMESTAMP: stamp, IDEMPOTENCY: message.idempotency_key,
                   SIGNATURE: sign(receiver.secret, stamp, body)}
        try:
            reply = await self.client.post(receiver.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException:
            raise ChannelError("webhook receiver timed out") from None
        except httpx.HTTPError as exc:
            raise ChannelError(f"webhook receiver unreachable: {type(exc).__name__}") from None
        if 200 <= reply.status_code < 300:
            return Step.RECEIPTED
        permanent = 400 <= reply.status_code < 500 and reply.status_code not in (408, 409, 425, 429)
        raise ChannelError(f"webhook receiver answered HTTP {reply.status_code}", permanent=permanent)

    async def close(self) -> None:
        await self.client.aclose()
