"""Encrypted transport, read from the environment once: TLS for gRPC (server and
client, mutual when configured), TLS with SASL/SCRAM for Kafka, and the rule that
PostgreSQL connections verify the server (their TLS settings live in the
``LIANDIAO_DATABASE_URL`` itself: ``?sslmode=verify-full&sslrootcert=<ca file>``,
which asyncpg reads, so every connection the platform opens gets them).

Variables (all files PEM; docs/operations.md "Transport security"):

  LIANDIAO_TLS_CERT_FILE, LIANDIAO_TLS_KEY_FILE  this process's certificate and key: its gRPC
                                server certificate, and its client certificate toward other services
  LIANDIAO_TLS_CA_FILE          the CA a client checks a gRPC server against
  LIANDIAO_TLS_CLIENT_CA_FILE   set: mutual TLS, a server accepts only callers with a certificate
                                of this CA, and the certificate's common name is the caller's
                                service identity (liandiao.rpc.peer)
  LIANDIAO_KAFKA_SECURITY_PROTOCOL  PLAINTEXT (development only), SSL or SASL_SSL
  LIANDIAO_KAFKA_CA_FILE        the CA of the brokers' certificates
  LIANDIAO_KAFKA_SASL_MECHANISM SCRAM-SHA-512 (default) or SCRAM-SHA-256
  LIANDIAO_KAFKA_SASL_USERNAME, LIANDIAO_KAFKA_SASL_PASSWORD   the SCRAM credentials (SASL_SSL)

Production (LIANDIAO_ENV=production) refuses to start without them; development says
so in its log and runs in plain text only where nothing is configured."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLScram256, SASLScram512

PREFIX = "LIANDIAO_"


class TransportError(Exception):
    """A transport setting is missing or wrong; the message names the variable."""


def _read(env: Mapping[str, str], name: str) -> bytes:
    path = env.get(PREFIX + name, "")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TransportError(f"{PREFIX}{name}={path!r} cannot be read: {exc.strerror}") from None
    if b"-----BEGIN " not in data:
        raise TransportError(f"{PREFIX}{name}={path!r} is not a PEM file")
    return data


@dataclass(frozen=True)
class GrpcTls:
    """The PEM bytes, read at start-up so that a bad file stops the start, not the first call."""
    cert: bytes = field(repr=False)
    key: bytes = field(repr=False)
    ca: bytes = field(repr=False)
    client_ca: bytes | None = field(default=None, repr=False)

    @property
    def mutual(self) -> bool:
        return self.client_ca is not None

    def server_credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials([(self.key, self.cert)], root_certificates=self.client_ca,
                                           require_client_auth=self.mutual)

    def channel_credentials(self) -> grpc.ChannelCredentials:
        # The certificate is always offered: a server that does not ask ignores it.
        return grpc.ssl_channel_credentials(root_certificates=self.ca, private_key=self.key,
                                            certificate_chain=self.cert)


def grpc_tls(env: Mapping[str, str], production: bool) -> GrpcTls | None:
    """None (plain text) only outside production with none of the variables set."""
    names = ("TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CA_FILE")
    given = [n for n in names if env.get(PREFIX + n)]
    if not given and not env.get(PREFIX + "TLS_CLIENT_CA_FILE"):
        if production:
            raise TransportError(f"{PREFIX}TLS_CERT_FILE, {PREFIX}TLS_KEY_FILE and {PREFIX}TLS_CA_FILE are required "
                                 "in production (gRPC over TLS)")
        return None
    missing = [PREFIX + n for n in names if n not in given]
    if missing:
        raise TransportError(f"{', '.join(missing)} not set: TLS needs a certificate, its key and a CA")
    client_ca = _read(env, "TLS_CLIENT_CA_FILE") if env.get(PREFIX + "TLS_CLIENT_CA_FILE") else None
    return GrpcTls(_read(env, "TLS_CERT_FILE"), _read(env, "TLS_KEY_FILE"), _read(env, "TLS_CA_FILE"), client_ca)


_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_SSL")
_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256")


@dataclass(frozen=True)
class KafkaSecurity:
    """How every Kafka client of the platform connects (producer, consumers, admin)."""
    protocol: str = "PLAINTEXT"
    ca_file: str = ""
    mechanism: str = "SCRAM-SHA-512"
    username: str = ""
    password: str = field(default="", repr=False)

    def ssl_context(self) -> ssl.SSLContext:
        # Verifies the broker's certificate and its name (the default context does both).
        return ssl.create_default_context(cafile=self.ca_file or None)

    def faststream(self) -> BaseSecurity | None:
        """For FastStream's KafkaBroker(security=...)."""
        if self.protocol == "PLAINTEXT":
            return None
        if self.protocol == "SSL":
            return BaseSecurity(ssl_context=self.ssl_context(), use_ssl=True)
        scram = SASLScram512 if self.mechanism == "SCRAM-SHA-512" else SASLScram256
        return scram(self.username, self.password, ssl_context=self.ssl_context(), use_ssl=True)

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producer, consumer and admin client: the same
        mapping FastStream applies to its own, so both kinds of client agree."""
        return parse_security(self.faststream())


PLAINTEXT = KafkaSecurity()


def kafka_security(env: Mapping[str, str], production: bool) -> KafkaSecurity:
    protocol = env.get(PREFIX + "KAFKA_SECURITY_PROTOCOL", "").upper() or "PLAINTEXT"
    if protocol not in _PROTOCOLS:
        raise TransportError(f"{PREFIX}KAFKA_SECURITY_PROTOCOL={protocol!r}: use {', '.join(_PROTOCOLS)}")
    if protocol == "PLAINTEXT":
        if production:
            raise TransportError(f"{PREFIX}KAFKA_SECURITY_PROTOCOL must be SSL or SASL_SSL in production "
                                 "(Kafka in plain text is for a local stack only)")
        return PLAINTEXT
    ca = env.get(PREFIX + "KAFKA_CA_FILE", "")
    if ca:
        _read(env, "KAFKA_CA_FILE")
    elif production:
        raise TransportError(f"{PREFIX}KAFKA_CA_FILE (the brokers' CA) is required in production")
    mechanism = env.get(PREFIX + "KAFKA_SASL_MECHANISM", "").upper() or "SCRAM-SHA-512"
    if mechanism not in _MECHANISMS:
        raise TransportError(f"{PREFIX}KAFKA_SASL_MECHANISM={mechanism!r}: use {' or '.join(_MECHANISMS)}")
    user, password = env.get(PREFIX + "KAFKA_SASL_USERNAME", ""), env.get(PREFIX + "KAFKA_SASL_PASSWORD", "")
    if protocol == "SASL_SSL" and not (user and password):
        raise TransportError(f"{PREFIX}KAFKA_SASL_USERNAME and {PREFIX}KAFKA_SASL_PASSWORD are required "
                             "with KAFKA_SECURITY_PROTOCOL=SASL_SSL")
    return KafkaSecurity(protocol, ca, mechanism, user, password)


_VERIFYING = ("verify-full", "verify-ca")


def check_database_url(url: str, production: bool, env: Mapping[str, str] | None = None) -> None:
    """Production connects to PostgreSQL over TLS and checks the server: the URL says
    sslmode=verify-full (or verify-ca) and names the CA (sslrootcert), or, where the URL
    comes whole from a Secret, libpq's PGSSLMODE and PGSSLROOTCERT say it (asyncpg reads
    both for every connection the URL leaves them out of)."""
    env = {} if env is None else env
    query = parse_qs(urlsplit(url).query)
    mode = (query.get("sslmode") or [env.get("PGSSLMODE", "")])[-1]
    root = (query.get("sslrootcert") or [env.get("PGSSLROOTCERT", "")])[-1]
    if mode in _VERIFYING and not root:
        raise TransportError(f"{PREFIX}DATABASE_URL: sslmode={mode} needs sslrootcert=<the server's CA file> "
                             "(or PGSSLROOTCERT)")
    if root and not Path(root).is_file():
        raise TransportError(f"{PREFIX}DATABASE_URL: sslrootcert={root!r} is not a readable file")
    if production and mode not in _VERIFYING:
        raise TransportError(f"{PREFIX}DATABASE_URL must say sslmode=verify-full (and sslrootcert=<CA file>), or "
                             f"PGSSLMODE=verify-full and PGSSLROOTCERT, in production, not {mode or 'no sslmode'}: "
                             "PostgreSQL over TLS with the server checked")


_WILDCARD = ("0.0.0.0", "::", "[::]", "*", "")


def bind_host(env: Mapping[str, str], name: str) -> str:
    """The address a listener binds: loopback unless said (the chart says the pod's IP).
    Every interface only when asked for by name: LIANDIAO_<name>=0.0.0.0 is refused,
    LIANDIAO_<name>=all-interfaces is the explicit spelling."""
    value = env.get(PREFIX + name, "127.0.0.1").strip()
    if value == "all-interfaces":
        return "0.0.0.0"
    if value in _WILDCARD:
        raise TransportError(f"{PREFIX}{name}={value!r}: bind to an address (the pod's IP, 127.0.0.1); "
                             "say all-interfaces if every interface is really meant")
    return value
