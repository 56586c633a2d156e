"""The console's settings: LIANDIAO_CONSOLE_* variables (and the platform's LIANDIAO_ENV and
LIANDIAO_TLS_*), validated at start-up with a message naming the variable."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from liandiao import transport
from liandiao.config import SettingsError

PREFIX = "LIANDIAO_CONSOLE_"
SERVICES = ("intake", "personnel", "routing", "mediation", "confirmation", "notification", "statistics")
# The services' own names in the chart (Service <release>-<name>, port 50051): the default addresses.
DEFAULT_PORT = 50051


@dataclass(frozen=True)
class OidcSettings:
    """The provincial identity provider (authorization-code flow). Its access token carries
    the platform's claims (liandiao.auth.to_payload) and is what the console forwards."""
    metadata_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str = "openid profile"


@dataclass(frozen=True)
class ConsoleSettings:
    production: bool
    host: str = "127.0.0.1"
    port: int = 8080
    session_secret: str = field(default="", repr=False)
    addresses: Mapping[str, str] = field(default_factory=dict)
    grpc_tls: transport.GrpcTls | None = None
    # Development sign-in: the local issuer mints a token for a person picked from this file.
    demo_users_file: Path | None = None
    oidc: OidcSettings | None = None
    # Where the party status page of issue 11 ("casecode") is mounted, when present.
    secure_cookies: bool = True
    call_timeout: float = 10.0
    # Whose X-Forwarded-Proto/For to believe (the OIDC redirect URI must be https behind the
    # ingress): the chart's NetworkPolicy lets only the ingress controller reach the pod.
    forwarded_allow_ips: str = "127.0.0.1"

    @property
    def dev_sign_in(self) -> bool:
        return not self.production


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(PREFIX + name, "")
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name}={raw!r}: not a whole number") from None


def load(env: Mapping[str, str] | None = None) -> ConsoleSettings:
    env = os.environ if env is None else env
    production = env.get("LIANDIAO_ENV", "") == "production"
    secret = env.get(PREFIX + "SESSION_SECRET", "")
    if production and len(secret) < 32:
        raise SettingsError(f"{PREFIX}SESSION_SECRET must be set to at least 32 characters in production "
                            "(it signs the session cookie)")
    # A development console signs with a secret of its own run: sign-ins do not outlive it.
    secret = secret or secrets.token_urlsafe(32)
    addresses = {s: env.get(f"{PREFIX}{s.upper()}_ADDRESS", f"{s}:{DEFAULT_PORT}") for s in SERVICES}
    oidc = None
    if env.get(PREFIX + "OIDC_METADATA_URL"):
        missing = [PREFIX + n for n in ("OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET") if not env.get(PREFIX + n)]
        if missing:
            raise SettingsError(f"{', '.join(missing)} not set: OIDC sign-in needs the client's id and secret")
        oidc = OidcSettings(env[PREFIX + "OIDC_METADATA_URL"], env[PREFIX + "OIDC_CLIENT_ID"],
                            env[PREFIX + "OIDC_CLIENT_SECRET"], env.get(PREFIX + "OIDC_SCOPE", "openid profile"))
    elif production:
        raise SettingsError(f"{PREFIX}OIDC_METADATA_URL is required in production: staff sign in with the "
                            "provincial identity provider (the development sign-in is refused there)")
    users = env.get(PREFIX + "DEMO_USERS", "")
    if users and production:
        raise SettingsError(f"{PREFIX}DEMO_USERS is a development setting and is refused in production")
    try:
        tls = transport.grpc_tls(env, production=production)
    except transport.TransportError as exc:
        raise SettingsError(str(exc)) from None
    return ConsoleSettings(
        production=production, host=env.get(PREFIX + "HOST", "127.0.0.1"), port=_int(env, "PORT", 8080),
        session_secret=secret, addresses=addresses, grpc_tls=tls,
        demo_users_file=Path(users) if users else None, oidc=oidc,
        secure_cookies=production or env.get(PREFIX + "SECURE_COOKIES", "") == "1",
        call_timeout=float(env.get(PREFIX + "CALL_TIMEOUT_SECONDS", "10") or 10),
        forwarded_allow_ips=env.get(PREFIX + "FORWARDED_ALLOW_IPS", "127.0.0.1"))
