"""Settings from environment variables with one prefix, validated at start-up.

Every service reads the same ``LIANDIAO_*`` variables; a bad value stops the
process with a message that names the variable and what is wrong with it.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from liandiao import auth, transport
from liandiao.pii import LEGACY_KEY_ID, PiiCipher, parse_key_ring

PREFIX = "LIANDIAO_"

_PREFECTURE = re.compile(r"^(00|[1-9][0-9]{3})$")


# Four calls per connection of a service's database pool (10, db.create_pool): a
# call that waits for a connection behind more than about four others is better
# turned away at once, to be retried, than left to run out its deadline in a queue.
DEFAULT_GRPC_MAX_CONCURRENT_RPCS = 40


class SettingsError(Exception):
    """A configuration value is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    service: str
    database_url: str
    kafka_bootstrap: str
    grpc_port: int = 50051
    metrics_port: int = 9464
    # Listeners bind loopback unless told (the chart gives the pod's IP): LIANDIAO_GRPC_HOST, LIANDIAO_METRICS_HOST.
    grpc_host: str = "127.0.0.1"
    # Plain-text health only, for the kubelet's gRPC probes (which cannot speak TLS); 0: none.
    health_port: int = 0
    metrics_host: str = "127.0.0.1"
    # liandiao.transport: gRPC TLS (None: plain text, development only) and how Kafka is reached.
    grpc_tls: transport.GrpcTls | None = None
    # /metrics over HTTPS with the service's own certificate (cert file, key file) when gRPC has
    # TLS: what it shows (counters by region, method names) is the platform's, not the public's.
    metrics_tls: tuple[str, str] | None = None
    kafka_security: transport.KafkaSecurity = transport.PLAINTEXT
    # Prefectures (4-digit codes, or 00 for province-level facts) this release serves;
    # empty means the whole province. See DESIGN.md "Scale and regions".
    prefectures: tuple[str, ...] = ()
    exclude_prefectures: tuple[str, ...] = ()
    release: str = "province"
    otlp_endpoint: str = ""
    log_level: str = "INFO"
    pii_key: bytes = field(default=b"", repr=False)
    # The key ring of personal data (liandiao.pii): key id -> key, new values under the current id.
    pii_keys: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    pii_current_key_id: str = "k0"
    fingerprint_key: bytes = field(default=b"", repr=False)
    # "production" or "development", said explicitly (LIANDIAO_ENV): development
    # accepts the local issuer's tokens and the development keys, production refuses them.
    environment: str = "development"
    # Caller tokens (liandiao.auth): the identity provider's public keys, its issuer, our audience.
    jwks_file: Path = auth.DEV_JWKS_FILE
    token_issuer: str = auth.DEV_ISSUER
    token_audience: str = auth.AUDIENCE
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
    # Calls the gRPC server runs at once; the next is refused RESOURCE_EXHAUSTED
    # (clients retry it with backoff). See grpc_max_concurrent_rpcs.
    grpc_max_concurrent_rpcs: int = DEFAULT_GRPC_MAX_CONCURRENT_RPCS
    extra: Mapping[str, str] = field(default_factory=dict)

    def pii_cipher(self) -> PiiCipher:
        return PiiCipher(self.pii_key or None, keys=self.pii_keys, current=self.pii_current_key_id,
                         fingerprint_key=self.fingerprint_key or None)

    def token_verifier(self) -> auth.TokenVerifier:
        return auth.TokenVerifier.from_file(self.jwks_file, issuer=self.token_issuer, audience=self.token_audience)

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


def _environment(env: Mapping[str, str]) -> str:
    value = env.get(PREFIX + "ENV", "")
    if value not in ("production", "development"):
        raise SettingsError(
            f"{PREFIX}ENV={value!r}: say production, or development for a local stack (development accepts "
            "the development keys and the local token issuer, so it is never the default)")
    return value


def _identity(env: Mapping[str, str], environment: str) -> tuple[Path, str, str]:
    """The token verifier's settings; the JWKS is read once here so that a bad file stops the start."""
    production = environment == "production"
    raw_path = env.get(PREFIX + "JWKS_FILE", "")
    issuer = env.get(PREFIX + "TOKEN_ISSUER", "")
    if production and not raw_path:
        raise SettingsError(f"{PREFIX}JWKS_FILE (the identity provider's public keys) is required in production")
    if production and not issuer:
        raise SettingsError(f"{PREFIX}TOKEN_ISSUER (the identity provider's issuer) is required in production")
    path = Path(raw_path) if raw_path else auth.DEV_JWKS_FILE
    try:
        keys = json.loads(path.read_text())["keys"]
        kids = {k["kid"] for k in keys}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SettingsError(f"{PREFIX}JWKS_FILE={str(path)!r} is not a readable JWKS with key ids: {exc}") from None
    if production and auth.DEV_KEY_ID in kids:
        raise SettingsError(f"{PREFIX}JWKS_FILE lists the development key {auth.DEV_KEY_ID!r}: refused in production")
    if production and issuer == auth.DEV_ISSUER:
        raise SettingsError(f"{PREFIX}TOKEN_ISSUER is the development issuer: refused in production")
    audience = env.get(PREFIX + "TOKEN_AUDIENCE", "") or auth.AUDIENCE
    return path, issuer or auth.DEV_ISSUER, audience


def _pii_ring(env: Mapping[str, str], environment: str) -> tuple[dict[str, bytes], str, bytes]:
    """LIANDIAO_PII_KEYS ("id:base64,...") with LIANDIAO_PII_KEY_ID naming the current one, or
    the single LIANDIAO_PII_KEY (key id k0); LIANDIAO_FINGERPRINT_KEY, required in production."""
    raw = env.get(PREFIX + "PII_KEYS", "")
    ring: dict[str, bytes] = {}
    current = env.get(PREFIX + "PII_KEY_ID", "") or LEGACY_KEY_ID
    if raw:
        if env.get(PREFIX + "PII_KEY"):
            raise SettingsError(f"set {PREFIX}PII_KEYS (a key ring) or {PREFIX}PII_KEY (one key), not both")
        try:
            ring = parse_key_ring(raw)
        except ValueError as exc:
            raise SettingsError(f"{PREFIX}PII_KEYS: {exc}") from None
        if current not in ring:
            raise SettingsError(f"{PREFIX}PII_KEY_ID={current!r} is not a key id of {PREFIX}PII_KEYS")
        bad = [kid for kid, k in ring.items() if len(k) != 32]
        if bad:
            raise SettingsError(f"{PREFIX}PII_KEYS: key(s) {bad} must decode to 32 bytes")
    elif current != LEGACY_KEY_ID:
        raise SettingsError(f"{PREFIX}PII_KEY_ID={current!r} needs the key ring {PREFIX}PII_KEYS")
    fingerprint = b""
    if env.get(PREFIX + "FINGERPRINT_KEY"):
        fingerprint = _key(env, "FINGERPRINT_KEY", dev_default=b"")
        if fingerprint in ring.values() or fingerprint == _key(env, "PII_KEY", dev_default=b""):
            raise SettingsError(f"{PREFIX}FINGERPRINT_KEY must differ from every encryption key")
    elif environment == "production":
        raise SettingsError(f"{PREFIX}FINGERPRINT_KEY is required in production (base64, 32 bytes), "
                            "a key of its own beside the encryption keys")
    return ring, current, fingerprint


def _key(env: Mapping[str, str], name: str, *, dev_default: bytes) -> bytes:
    raw = env.get(PREFIX + name, "")
    if not raw:
        if env.get(PREFIX + "ENV") == "production":
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


def grpc_max_concurrent_rpcs(env: Mapping[str, str] | None = None) -> int:
    """LIANDIAO_GRPC_MAX_CONCURRENT_RPCS, validated (1..10000)."""
    env = os.environ if env is None else env
    return _int(env, "GRPC_MAX_CONCURRENT_RPCS", DEFAULT_GRPC_MAX_CONCURRENT_RPCS, 1, 10000)


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
    environment = _environment(env)
    pii_key = b"" if env.get(PREFIX + "PII_KEYS") else _key(env, "PII_KEY", dev_default=_DEV_PII_KEY)
    pii_keys, current_kid, fingerprint_key = _pii_ring(env, environment)
    jwks_file, token_issuer, token_audience = _identity(env, environment)
    production = environment == "production"
    try:
        transport.check_database_url(db, production, env)
        grpc_tls = transport.grpc_tls(env, production)
        kafka_security = transport.kafka_security(env, production)
        grpc_host, metrics_host = transport.bind_host(env, "GRPC_HOST"), transport.bind_host(env, "METRICS_HOST")
    except transport.TransportError as exc:
        raise SettingsError(str(exc)) from None
    return Settings(
        service=service,
        database_url=db,
        kafka_bootstrap=env[PREFIX + "KAFKA_BOOTSTRAP"],
        grpc_port=_int(env, "GRPC_PORT", 50051, 1, 65535),
        metrics_port=_int(env, "METRICS_PORT", 9464, 0, 65535),
        grpc_host=grpc_host,
        health_port=_int(env, "HEALTH_PORT", 0, 0, 65535),
        metrics_host=metrics_host,
        grpc_tls=grpc_tls,
        metrics_tls=(env[PREFIX + "TLS_CERT_FILE"], env[PREFIX + "TLS_KEY_FILE"]) if grpc_tls else None,
        kafka_security=kafka_security,
        prefectures=prefectures,
        exclude_prefectures=excluded,
        release=release,
        otlp_endpoint=env.get(PREFIX + "OTLP_ENDPOINT", ""),
        log_level=level,
        pii_key=pii_key,
        pii_keys=pii_keys,
        pii_current_key_id=current_kid,
        fingerprint_key=fingerprint_key,
        environment=environment,
        jwks_file=jwks_file,
        token_issuer=token_issuer,
        token_audience=token_audience,
        topic_partitions=_int(env, "TOPIC_PARTITIONS", 3, 1, 256),
        consumer_max_attempts=_int(env, "CONSUMER_MAX_ATTEMPTS", 5, 1, 100),
        outbox_poll_seconds=_int(env, "OUTBOX_POLL_MS", 500, 10, 60000) / 1000,
        shutdown_drain_seconds=_int(env, "SHUTDOWN_DRAIN_MS", 0, 0, 60000) / 1000,
        outbox_retention_hours=_int(env, "OUTBOX_RETENTION_HOURS", 168, 1, 24 * 3650),
        inbox_retention_days=_int(env, "INBOX_RETENTION_DAYS", 21, 15, 3650),
        retention_interval_seconds=_int(env, "RETENTION_INTERVAL_SECONDS", 3600, 1, 86400),
        grpc_max_concurrent_rpcs=grpc_max_concurrent_rpcs(env),
        extra={k[len(PREFIX) :]: v for k, v in env.items() if k.startswith(PREFIX)},
    )
