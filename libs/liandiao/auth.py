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
import time
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
    COURT = "court"              # court or tribunal clerk (立案庭/书记员): dockets, files, records
    JUDGE = "judge"              # judge of a court or tribunal: rules (sole judge, CPL 2023 Art.185)
    LAWYER = "lawyer"
    LIAISON = "liaison"          # liaison officer (联络人)
    OPERATOR = "operator"        # provincial data centre
    AUDITOR = "auditor"          # the data centre's auditors: read the audit trails, nothing else
    SUPERVISOR = "supervisor"    # justice bureau / coordination group: statistics of its regions
    SERVICE = "service"          # another Liandiao service


# Every role a person can hold: what a method open to "anyone signed in" allows. A service
# identity is listed by name with the methods it needs (SERVICE_METHODS), never granted
# by a wildcard: a method's roles never admit Role.SERVICE.
# An auditor reads the audit trails (liandiao.audit.POLICY) and is named by no other method.
PEOPLE = frozenset(r for r in Role if r not in (Role.SERVICE, Role.AUDITOR))


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


# Service-to-service calls (issue 7): each calling service, by the name its token
# carries as subject, and the full gRPC methods (package.Service/Method) it may call,
# nothing else. A service identity calling a method outside its list is refused
# PERMISSION_DENIED by the interceptor, whatever the method's roles; a service not
# listed calls nothing. A new cross-service call is added here, in review.
SERVICE_METHODS: Mapping[str, frozenset[str]] = {
    # A fresh read of the eligible mediators and a person's record (routing keeps a
    # projection of the roster from events; the call is for what the projection lags).
    "routing": frozenset({"liandiao.personnel.v1.PersonnelService/FindEligibleMediators",
                          "liandiao.personnel.v1.PersonnelService/GetPerson"}),
    # The dispute as registered, when a case opens from an assignment.
    "mediation": frozenset({"liandiao.intake.v1.IntakeService/GetDispute",
                            "liandiao.personnel.v1.PersonnelService/GetPerson"}),
    # The dispute behind an application (admissibility, jurisdiction).
    "confirmation": frozenset({"liandiao.intake.v1.IntakeService/GetDispute"}),
    # Contact details of the people a message is for: a dispute's parties and agents,
    # staff (mediators, liaison officers) by person.
    "notification": frozenset({"liandiao.personnel.v1.PersonnelService/GetPerson",
                               "liandiao.personnel.v1.PersonnelService/GetPersonContact",
                               "liandiao.intake.v1.IntakeService/GetDisputeContacts"}),
    "intake": frozenset(),
    "personnel": frozenset(),
    "statistics": frozenset(),
    # The police, court and petition systems send their monthly counts to statistics.
    **{system: frozenset({"liandiao.statistics.v1.StatisticsService/ImportExternalFigures"})
       for system in ("police-system", "court-system", "petition-system")},
    # The court and police systems' HTTP adapter (services/intake/external): it registers the
    # referrals those systems send in, for the organizations each system may speak for.
    "external-systems": frozenset({"liandiao.intake.v1.IntakeService/RegisterDispute"}),
    # The web console's public party page (一案一码, issue 11): a party's status by case code
    # and phone digits, for a visitor who has no sign-in, and the name of the mediator's
    # organization (public, as the roster is: SPC-Online Art.5).
    "console": frozenset({"liandiao.intake.v1.IntakeService/GetCaseStatus",
                          "liandiao.personnel.v1.PersonnelService/GetOrganization"}),
}
SERVICE_ORGANIZATION = "liandiao"
SERVICE_TOKEN_TTL_SECONDS = 900   # short-lived: a leaked one is worth a quarter of an hour


def may_call(claims: Claims, full_method: str, roles: frozenset[Role] | None) -> bool:
    """The method-level decision of the interceptor: a person by the method's roles
    (``None``: the method has no rule, so nobody), a service by its own list."""
    if claims.role is Role.SERVICE:
        return roles is not None and full_method in SERVICE_METHODS.get(claims.subject, frozenset())
    return roles is not None and claims.role in roles


def service_claims(service: str, region_scope: tuple[str, ...] = ("15",)) -> Claims:
    """What a service's token says: its name, the platform as organization, the
    regions its release serves."""
    if service not in SERVICE_METHODS:
        raise ValueError(f"unknown service {service!r}: add it to liandiao.auth.SERVICE_METHODS")
    return Claims(subject=service, organization_id=SERVICE_ORGANIZATION, role=Role.SERVICE,
                  region_scope=region_scope)


class ServiceToken:
    """The token a service presents when it calls another. In production it comes
    from configuration: a file (mounted from a Kubernetes Secret, kept fresh by
    whoever issues it) that is read again whenever it changes, so a renewed token is
    used without a restart. The service holds no signing key. ``mint`` (development
    and tests only: the local issuer) is asked again when the token is near expiry."""

    def __init__(self, *, path: Path | None = None, mint: Any = None, renew_before_seconds: int = 60):
        if (path is None) == (mint is None):
            raise ValueError("a service token comes from a file or, in development, from the local issuer")
        self.path, self.mint, self.renew_before = path, mint, renew_before_seconds
        self._token, self._stamp, self._expires = "", 0.0, 0

    def current(self) -> str:
        if self.path is not None:
            stamp = self.path.stat().st_mtime
            if stamp != self._stamp or not self._token:
                self._token, self._stamp = self.path.read_text().strip(), stamp
            return self._token
        if not self._token or self._expires - time.time() < self.renew_before:
            self._token = self.mint()
            self._expires = int(jwt.decode(self._token, options={"verify_signature": False})["exp"])
        return self._token

    def metadata(self) -> tuple[tuple[str, str]]:
        """Call metadata for a stub call: ``stub.Method(req, metadata=token.metadata())``."""
        return (("authorization", "Bearer " + self.current()),)


SERVICE_TOKEN_FILE = "LIANDIAO_SERVICE_TOKEN_FILE"


def service_token(service: str, env: Mapping[str, str], *, production: bool,
                  region_scope: tuple[str, ...] = ("15",)) -> ServiceToken:
    """The calling identity of ``service``: the token file LIANDIAO_SERVICE_TOKEN_FILE
    names, or, in development only, tokens the local issuer mints for it."""
    path = env.get(SERVICE_TOKEN_FILE, "")
    if path:
        return ServiceToken(path=Path(path))
    if production:
        raise ValueError(f"{SERVICE_TOKEN_FILE} (this service's own token, from a Secret) is required in production")
    from liandiao.devtools.issuer import dev_issuer  # development only: the local issuer's key
    claims = service_claims(service, region_scope)
    return ServiceToken(mint=lambda: dev_issuer().issue(claims, ttl_seconds=SERVICE_TOKEN_TTL_SECONDS))


CURRENT: contextvars.ContextVar[Claims] = contextvars.ContextVar("liandiao_caller")

