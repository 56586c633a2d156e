"""SMS through a provider's HTTP API (the shape Chinese SMS gateways share: a signed
POST with the number, a pre-registered template id and its parameters, answered with
a code). URL, credentials, template ids and which codes mean success or a permanent
refusal come from configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from services.notification.channels import ChannelError, Outgoing
from services.notification.domain.states import Step


@dataclass(frozen=True)
class SmsSettings:
    url: str
    api_key: str
    sign_name: str = "联调"
    template_ids: Mapping[str, str] = field(default_factory=dict)   # our template -> provider's id
    success_codes: frozenset[str] = frozenset({"OK"})
    permanent_codes: frozenset[str] = frozenset({"INVALID_NUMBER", "BLACKLISTED", "TEMPLATE_REJECTED"})
    timeout_seconds: float = 5.0


class SmsChannel:
    name = "sms"

    def __init__(self, settings: SmsSettings, client: httpx.AsyncClient | None = None):
        self.settings = settings
        self.client = client or httpx.AsyncClient(timeout=settings.timeout_seconds)

    async def send(self, message: Outgoing) -> Step | None:
        s = self.settings
        payload = {"phone": message.address, "sign_name": s.sign_name,
                   "template_id": s.template_ids.get(message.template, message.template),
                   "content": message.body, "out_id": message.idempotency_key}
        try:
            reply = await self.client.post(s.url, json=payload, headers={"Authorization": f"Bearer {s.api_key}"},
                                           timeout=s.timeout_seconds)
        except httpx.TimeoutException:
            raise ChannelError("SMS provider timed out") from None
        except httpx.HTTPError as exc:
            raise ChannelError(f"SMS provider unreachable: {type(exc).__name__}") from None
        if reply.status_code >= 500 or reply.status_code == 429:
            raise ChannelError(f"SMS provider answered HTTP {reply.status_code}")
        try:
            code = str(reply.json().get("code", ""))
        except ValueError:
            raise ChannelError(f"SMS provider answered HTTP {reply.status_code} without JSON") from None
        if code in s.success_codes:
            return Step.ACCEPTED
        raise ChannelError(f"SMS provider refused: {code}", permanent=code in s.permanent_codes
                           or reply.status_code in (400, 401, 403))

    async def close(self) -> None:
        await self.client.aclose()
