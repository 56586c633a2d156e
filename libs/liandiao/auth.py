"""Caller identity (DESIGN.md "Identity", issue 7): a JWT naming the caller's
person, organization, role and region scope, signed by the provincial identity
provider with an asymmetric key (ES256) and carrying issuer, audience, expiry and
key id. Services verify it against the provider's published public keys (a JWKS)
and hold no key that could sign for a person. Pure: no grpc here; the interceptor
in liandiao.rpc.server checks it and liandiao.rpc.server.caller() reads it.

PyJWT does the JOSE work. SM2 (GM/T 0003) is not a JWS algorithm any maintained
Python JWT library supports, so ES256 (P-256) is the one accepted; a provider
that signs with SM2 would need a verifier of its own here.

The local issuer that signs tokens for the demo, the tests and a developer's
stack lives in liandiao.devtools.issuer; its key id is refused in production."""

from __future__ import annotations

import contextvars
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import jwt


class Role(StrEnum):
    CLERK = "clerk"              # judicial office clerk (registers, follows up)
    MEDIATOR = "mediator"
    POLICE = "police"            # police station officer (refers, sees own referrals)
    COURT = "court"              # judge or court clerk at a tribunal
    LAWYER = "lawyer"
    LIAISON = "liaison"          # liaison officer (联络人)
    OPERATOR = "operator"        # provincial data centre
    SERVICE = "service"          # another Liandiao service


# Every role a person can hold: what a method open to "anyone signed in" allows. A service
# identity is listed by name in the methods it needs, never granted by a wildcard.
PEOPLE = frozenset(r for r in Role if r is not Role.SERVICE)


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


ALGORITHMS = ["ES256"]
# The local development issuer (liandiao.devtools.issuer): accepted only outside production.
DEV_KEY_ID = "liandiao-dev-1"
DEV_ISSUER = "https://idp.liandiao.invalid/dev"
DEV_JWKS_FILE = Path(__file__).parent / "devtools" / "keys" / "dev-jwks.json"
AUDIENCE = "liandiao"


def to_payload(claims: Claims, *, issuer: str, audience: str, issued_at: int, ttl_seconds: int) -> dict[str, Any]:
    """The JWT claims of ``claims`` (registered names where JWT has them)."""
    return {"iss": issuer, "aud": audience, "sub": claims.subject, "iat": issued_at,
            "exp": issued_at + ttl_seconds, "org": claims.organization_id, "role": str(claims.role),
            "regions": list(claims.region_scope)}


class TokenVerifier:
    """Checks caller tokens against the identity provider's public keys: the
    signature (ES256, by a key of the JWKS named by the token's ``kid``), the
    issuer, the audience and the expiry (with ``leeway_seconds`` for clock skew)."""

    def __init__(self, jwks: Mapping[str, Any], *, issuer: str, audience: str = AUDIENCE,
                 leeway_seconds: int = 30):
        self.issuer, self.audience, self.leeway = issuer, audience, leeway_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        for entry in jwks.get("keys", []):
            if not entry.get("kid"):
                raise ValueError("every key of the JWKS needs a key id (kid)")
            self._keys[entry["kid"]] = jwt.PyJWK(entry)

    @classmethod
    def from_file(cls, path: Path, **kwargs: Any) -> TokenVerifier:
        return cls(json.loads(Path(path).read_text()), **kwargs)

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def verify(self, token: str) -> Claims:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.DecodeError:
            raise InvalidToken("token is not a JWT") from None
        key = self._keys.get(kid or "")
        if key is None:
            raise InvalidToken(f"token signed by an unknown key ({str(kid)[:40]!r})")
        try:
            body = jwt.decode(token, key, algorithms=ALGORITHMS, audience=self.audience, issuer=self.issuer,
                              leeway=self.leeway, options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken(f"token is not for this audience (want {self.audience!r})") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("token from another issuer") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("token signature does not match") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"token refused: {str(exc)[:200]}") from None
        try:
            scope = body.get("regions", [])
            if not isinstance(scope, list) or not all(isinstance(r, str) for r in scope):
                raise ValueError("regions")
            return Claims(subject=str(body["sub"]), organization_id=str(body["org"]), role=Role(body["role"]),
                          region_scope=tuple(scope), expires_at=int(body["exp"]))
        except (KeyError, ValueError, TypeError):
            raise InvalidToken("token claims are malformed") from None


CURRENT: contextvars.ContextVar[Claims] = contextvars.ContextVar("liandiao_caller")

