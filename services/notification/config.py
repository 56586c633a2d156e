"""Notification's own settings (LIANDIAO_NOTIFICATION_* and channel variables), and the
routing, template and receiver files they name, all checked at start-up: a bad file
stops the service with exit 2 and a message naming the file and the entry."""

from __future__ import annotations

import base64
import binascii
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from liandiao import transport
from liandiao.auth import ServiceToken, service_token
from liandiao.config import SettingsError
from liandiao.transport import GrpcTls
from services.notification.channels.email import SmtpSettings
from services.notification.channels.sms import SmsSettings
from services.notification.channels.webhook import Receiver
from services.notification.domain.routing import Routing, RoutingError, parse_routing
from services.notification.domain.templates import SHIPPED, Catalog, TemplateProblem
from services.notification.handlers import event_fields, routed_keys

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class NotificationConfig:
    routing: Routing
    templates: Catalog
    sms: SmsSettings | None
    smtp: SmtpSettings | None
    receivers: Mapping[str, Receiver]
    batch: int
    concurrency: int
    # Where recipients' real addresses are read (services.notification.contacts): intake's and
    # personnel's gRPC addresses, the transport and the service token to call them with.
    intake_address: str = ""
    personnel_address: str = ""
    lookup_tls: GrpcTls | None = None
    token: ServiceToken | None = None
    contacts_ttl_seconds: int = 900
    # The SMS provider's status reports (services.notification.receipts): off without a secret.
    receipt_secret: bytes = b""
    receipt_host: str = "127.0.0.1"
    receipt_port: int = 8090
    delivered_codes: frozenset[str] = frozenset({"DELIVERED"})


def _toml(path: Path, what: str) -> dict:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{what}: {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{what}: {path}: {exc}") from None


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, str(default))
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise SettingsError(f"LIANDIAO_{name}: {raw!r} is not a whole number in {low}-{high}")
    return int(raw)


def load(env: Mapping[str, str]) -> NotificationConfig:
    routing_file = Path(env.get("NOTIFICATION_ROUTING_FILE", str(HERE / "routing.toml")))
    try:
        templates = Catalog.load(Path(env.get("NOTIFICATION_TEMPLATES_DIR", str(SHIPPED))))
        routing = parse_routing(_toml(routing_file, "LIANDIAO_NOTIFICATION_ROUTING_FILE"),
                                templates=templates.names, known_events=routed_keys(),
                                event_fields=event_fields())
    except (RoutingError, TemplateProblem) as exc:
        raise SettingsError(f"LIANDIAO_NOTIFICATION_ROUTING_FILE ({routing_file}): {exc}") from None
    sms = None
    if env.get("SMS_URL"):
        if not env.get("SMS_API_KEY"):
            raise SettingsError("LIANDIAO_SMS_API_KEY: required with LIANDIAO_SMS_URL")
        ids = dict(pair.split("=", 1) for pair in env.get("SMS_TEMPLATE_IDS", "").split(",") if "=" in pair)
        sms = SmsSettings(env["SMS_URL"], env["SMS_API_KEY"], env.get("SMS_SIGN_NAME", "联调"), ids,
                          frozenset(env.get("SMS_SUCCESS_CODES", "OK").split(",")),
                          timeout_seconds=_int(env, "SMS_TIMEOUT_SECONDS", 5, 1, 60))
    smtp = None
    if env.get("SMTP_HOST"):
        smtp = SmtpSettings(env["SMTP_HOST"], _int(env, "SMTP_PORT", 25, 1, 65535),
                            env.get("SMTP_SENDER", "noreply@liandiao.local"), env.get("SMTP_USERNAME", ""),
                            env.get("SMTP_PASSWORD", ""), env.get("SMTP_STARTTLS", "false") == "true",
                            env.get("SMTP_CA_FILE", ""))
    receivers: dict[str, Receiver] = {}
    if env.get("WEBHOOKS_FILE"):
        for i, r in enumerate(_toml(Path(env["WEBHOOKS_FILE"]), "LIANDIAO_WEBHOOKS_FILE").get("receiver", [])):
            try:
                secret = base64.b64decode(r["secret"], validate=True)
                receivers[r["organization_id"]] = Receiver(r["organization_id"], r["url"], secret)
            except (KeyError, binascii.Error):
                raise SettingsError(f"LIANDIAO_WEBHOOKS_FILE: receiver[{i}] needs organization_id, url and "
                                    "a base64 secret") from None
    intake, personnel = env.get("INTAKE_ADDRESS", ""), env.get("PERSONNEL_ADDRESS", "")
    tls, token = None, None
    if intake or personnel:
        prefixed = {f"LIANDIAO_{k}": v for k, v in env.items()}
        production = env.get("ENV") == "production"
        try:
            tls = transport.grpc_tls(prefixed, production)
            token = service_token("notification", prefixed, production=production)
        except (ValueError, transport.TransportError) as exc:
            raise SettingsError(f"{exc} (to read contacts from LIANDIAO_INTAKE_ADDRESS/PERSONNEL_ADDRESS)") from None
    return NotificationConfig(routing, templates, sms, smtp, receivers,
                              _int(env, "NOTIFICATION_BATCH", 100, 1, 1000),
                              _int(env, "NOTIFICATION_CONCURRENCY", 16, 1, 256), intake, personnel, tls, token,
                              _int(env, "NOTIFICATION_CONTACTS_TTL_SECONDS", 900, 0, 86400),
                              *_receipts(env))


def _receipts(env: Mapping[str, str]) -> tuple[bytes, str, int, frozenset[str]]:
    secret = env.get("SMS_RECEIPT_SECRET", "")
    if secret and len(secret) < 16:
        raise SettingsError("LIANDIAO_SMS_RECEIPT_SECRET: at least 16 characters (the provider signs receipts with it)")
    host = env.get("NOTIFICATION_RECEIPTS_HOST", "127.0.0.1")
    if host == "0.0.0.0":
        raise SettingsError("LIANDIAO_NOTIFICATION_RECEIPTS_HOST: '0.0.0.0' refused; give the pod's address")
    codes = frozenset(c for c in env.get("SMS_DELIVERED_CODES", "DELIVERED").split(",") if c)
    return secret.encode(), host, _int(env, "NOTIFICATION_RECEIPTS_PORT", 8090, 1, 65535), codes
