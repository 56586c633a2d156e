"""Settings from environment variables with one prefix, validated at start-up.

Every service reads the same ``LIANDIAO_*`` variables; a bad value stops the
process with a message that names the variable and what is wrong with it.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

PREFIX = "LIANDIAO_"

_PREFECTURE = re.compile(r"^(00|[1-9][0-9]{3})$")


class SettingsError(Exception):
    """A configuration value is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    service: str
    database_url: str
    kafka_bootstrap: str
    grpc_port: int = 50051
    metrics_port: int = 9464
    # Prefectures (4-digit codes, or 00 for province-level facts) this release serves;
    # empty means the whole province. See DESIGN.md "Scale and regions".
    prefectures: tuple[str, ...] = ()
    exclude_prefectures: tuple[str, ...] = ()
    release: str = "province"
    otlp_endpoint: str = ""
    log_level: str = "INFO"
    pii_key: bytes = field(default=b"", repr=False)
    auth_secret: bytes = field(default=b"", repr=False)
    topic_partitions: int = 3
    consumer_max_attempts: int = 5
    outbox_poll_seconds: float = 0.5
    # Time between turning health NOT_SERVING and closing the port, so load
    # balancers and Kubernetes endpoints stop sending new calls first.
    shutdown_drain_seconds: float = 0.0
    # Retention (liandiao.events.retention): published outbox rows are kept this long
    # for inspection; inbox ids longer than any redelivery can arrive (topic retention).
    outbox_retention_hours: int = 168
    inbox_retention_days: int = 21
    retention_interval_seconds: int = 3600
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def consumer_group(self) -> str:
        """One group per service per release: a regional release consumes on its own."""
        return f"liandiao.{self.service}.{self.release}"


def whole_number(values: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    """``values[name]`` as a whole number in [lo, hi], ``default`` when unset.
    ``values`` is keyed without the prefix (Settings.extra); errors name the variable."""
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not a whole number") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{PREFIX}{name}={value} must be between {lo} and {hi}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    return whole_number({name: env.get(PREFIX + name, "")}, name, default, lo, hi)


def _prefectures(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(PREFIX + name, "")
    codes = tuple(c.strip() for c in raw.split(",") if c.strip())
    for code in codes:
        if not _PREFECTURE.match(code):
            raise SettingsError(
                f"{PREFIX}{name}: {code!r} is not a prefecture code (4 digits, e.g. 1505, or 00)"
            )
    return codes


def _key(env: Mapping[str, str], name: str, *, dev_default: bytes) -> bytes:
    raw = env.get(PREFIX + name, "")
    if not raw:
        if env.get(PREFIX + "ENV", "dev") == "production":
            raise SettingsError(f"{PREFIX}{name} is required in production (base64, 32 bytes)")
        return dev_default
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} is not valid base64") from None
    if len(key) != 32:
        raise SettingsError(f"{PREFIX}{name} must decode to 32 bytes, got {len(key)}")
    return key


# Development keys: used only outside production so that a local stack needs no
# secrets. Production refuses to start without real keys (see _key).
_DEV_PII_KEY = b"liandiao-dev-pii-key-not-secret!"
_DEV_AUTH_SECRET = b"liandiao-dev-auth-key-not-secret"


def load_settings(service: str, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    missing = [n for n in ("DATABASE_URL", "KAFKA_BOOTSTRAP") if not env.get(PREFIX + n)]
    if missing:
        names = ", ".join(PREFIX + n for n in missing)
        raise SettingsError(f"{names} not set (run `make stack-up` and source .state/stack.env)")
    db = env[PREFIX + "DATABASE_URL"]
    if not db.startswith(("postgresql://", "postgres://")):
        raise SettingsError(f"{PREFIX}DATABASE_URL must be a postgresql:// URL")
    level = env.get(PREFIX + "LOG_LEVEL", "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError(f"{PREFIX}LOG_LEVEL={level!r}: use DEBUG, INFO, WARNING or ERROR")
    release = env.get(PREFIX + "RELEASE", "province")
    if not re.match(r"^[a-z0-9][a-z0-9-]{0,40}$", release):
        raise SettingsError(f"{PREFIX}RELEASE={release!r}: lower-case letters, digits and '-'")
    prefectures = _prefectures(env, "PREFECTURES")
    excluded = _prefectures(env, "EXCLUDE_PREFECTURES")
    if prefectures and excluded:
        raise SettingsError(
            f"set {PREFIX}PREFECTURES (a regional release) or {PREFIX}EXCLUDE_PREFECTURES "
            "(the province-wide release), not both"
        )
    return Settings(
        service=service,
        database_url=db,
        kafka_bootstrap=env[PREFIX + "KAFKA_BOOTSTRAP"],
        grpc_port=_int(env, "GRPC_PORT", 50051, 1, 65535),
        metrics_port=_int(env, "METRICS_PORT", 9464, 0, 65535),
        prefectures=prefectures,
        exclude_prefectures=excluded,
        release=release,
        otlp_endpoint=env.get(PREFIX + "OTLP_ENDPOINT", ""),
        log_level=level,
        pii_key=_key(env, "PII_KEY", dev_default=_DEV_PII_KEY),
        auth_secret=_key(env, "AUTH_SECRET", dev_default=_DEV_AUTH_SECRET),
        topic_partitions=_int(env, "TOPIC_PARTITIONS", 3, 1, 256),
        consumer_max_attempts=_int(env, "CONSUMER_MAX_ATTEMPTS", 5, 1, 100),
        outbox_poll_seconds=_int(env, "OUTBOX_POLL_MS", 500, 10, 60000) / 1000,
        shutdown_drain_seconds=_int(env, "SHUTDOWN_DRAIN_MS", 0, 0, 60000) / 1000,
        outbox_retention_hours=_int(env, "OUTBOX_RETENTION_HOURS", 168, 1, 24 * 3650),
        inbox_retention_days=_int(env, "INBOX_RETENTION_DAYS", 21, 15, 3650),
        retention_interval_seconds=_int(env, "RETENTION_INTERVAL_SECONDS", 3600, 1, 86400),
        extra={k[len(PREFIX) :]: v for k, v in env.items() if k.startswith(PREFIX)},
    )
