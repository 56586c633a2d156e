"""Caller identity: a signed token naming the caller's organization, role and
region scope (DESIGN.md "Identity"). Pure: no grpc here; the interceptor in
liandiao.rpc.server checks it and liandiao.rpc.server.caller() reads it.

Format: ``base64url(json claims) "." base64url(HMAC-SHA256)``. The provincial
identity provider issues them in production; ``issue`` serves tests, the demo
and service-to-service calls."""

from __future__ import annotations

import base64
import contextvars
import hashlib
import hmac
import json
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum


class Role(StrEnum):
    CLERK = "clerk"              # judicial office clerk (registers, follows up)
    MEDIATOR = "mediator"
    POLICE = "police"            # police station officer (refers, sees own referrals)
    COURT = "court"              # judge or court clerk at a tribunal
    LAWYER = "lawyer"
    LIAISON = "liaison"          # liaison officer (联络人)
    OPERATOR = "operator"        # provincial data centre
    SERVICE = "service"          # another Liandiao service


@dataclass(frozen=True)
class Claims:
    subject: str                 # person id (or service name)
    organization_id: str
    role: Role
    # Region prefixes the caller may see: "15" a province, "1505" a prefecture,
    # "150502" a county. Empty means none.
    region_scope: tuple[str, ...] = field(default_factory=tuple)
    expires_at: int = 0

    def sees_region(self, region_code: str) -> bool:
        return any(region_code.startswith(prefix) for prefix in self.region_scope)


class InvalidToken(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(secret: bytes, claims: Claims, ttl_seconds: int = 3600) -> str:
    body = asdict(claims)
    body["expires_at"] = int(time.time()) + ttl_seconds
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return _b64(raw) + "." + _b64(hmac.new(secret, raw, hashlib.sha256).digest())


def verify(secret: bytes, token: str, now: float | None = None) -> Claims:
    try:
        body_b64, sig_b64 = token.split(".")
        raw = _unb64(body_b64)
        sig = _unb64(sig_b64)
    except ValueError:
        raise InvalidToken("token is not of the form body.signature") from None
    if not hmac.compare_digest(sig, hmac.new(secret, raw, hashlib.sha256).digest()):
        raise InvalidToken("token signature does not match")
    try:
        body = json.loads(raw)
        claims = Claims(
            subject=body["subject"], organization_id=body["organization_id"], role=Role(body["role"]),
            region_scope=tuple(body.get("region_scope", ())), expires_at=int(body["expires_at"]),
        )
    except (KeyError, ValueError, TypeError):
        raise InvalidToken("token claims are malformed") from None
    if claims.expires_at < (now if now is not None else time.time()):
        raise InvalidToken("token expired")
    return claims


CURRENT: contextvars.ContextVar[Claims] = contextvars.ContextVar("liandiao_caller")


def service_claims(service: str) -> Claims:
    return Claims(subject=service, organization_id="liandiao", role=Role.SERVICE, region_scope=("",))
