"""Wiring of the court and police systems' adapter: settings, the replay store, the
channel to intake with this adapter's own service identity, the HTTP server.

    python -m services.intake.external            serve
    python -m services.intake.external migrate    apply its SQL (schema external_systems) and exit

Settings (checked at start; a bad one stops it with exit 2 naming the variable):
  LIANDIAO_ENV                          production or development
  LIANDIAO_EXTERNAL_SYSTEMS_FILE        the calling systems (services/intake/external/systems.py)
  LIANDIAO_INTAKE_ADDRESS               host:port of intake's gRPC
  LIANDIAO_DATABASE_URL                 PostgreSQL (replay store, schema external_systems)
  LIANDIAO_HTTP_HOST, LIANDIAO_HTTP_PORT   where it listens (loopback and 8443 unless told)
  LIANDIAO_HTTP_TLS_CERT_FILE, _KEY_FILE   HTTPS (required in production)
  LIANDIAO_HTTP_CLIENT_CA_FILE          mutual TLS: systems present a certificate of this CA
  LIANDIAO_EXTERNAL_SIGNATURE_WINDOW_SECONDS   how old a signature may be (default 300)
  LIANDIAO_METRICS_PORT                 Prometheus (default 9464; 0: none)
  LIANDIAO_HEALTH_PORT                  /healthz alone in plain HTTP, for the kubelet (0: none)
  LIANDIAO_TLS_*                        gRPC to intake (liandiao.transport), as every service
  LIANDIAO_SERVICE_TOKEN_FILE           this adapter's service token (production)
  LIANDIAO_OTLP_ENDPOINT                OpenTelemetry traces (OTLP/gRPC), as every service
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import uvicorn
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import propagate
from opentelemetry.trace import SpanKind
from prometheus_client import start_http_server

from liandiao import auth, db, telemetry, transport
from liandiao.config import PREFIX, SettingsError, whole_number
from liandiao.intake.v1 import intake_pb2, intake_pb2_grpc
from liandiao.rpc.channel import open_channel
from services.intake.app import EXTERNAL_SYSTEMS
from services.intake.external import systems as systems_file
from services.intake.external.http import DISPUTE_ATTRIBUTE, Adapter, build_app, health_app
from services.intake.external.replay import ReplayStore

log = logging.getLogger("liandiao.external")
SCHEMA = "external_systems"
MIGRATIONS = Path(__file__).parent / "migrations"
CALL_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class Settings:
    production: bool
    systems: Mapping[str, systems_file.System]
    intake_address: str
    database_url: str
    http_host: str
    http_port: int
    http_cert: str
    http_key: str
    http_client_ca: str
    window_seconds: int
    metrics_port: int
    health_port: int
    grpc_tls: transport.GrpcTls | None
    token: auth.ServiceToken
    otlp_endpoint: str = ""


def load_settings(env: Mapping[str, str]) -> Settings:
    environment = env.get(PREFIX + "ENV", "")
    if environment not in ("production", "development"):
        raise SettingsError(f"{PREFIX}ENV={environment!r}: say production or development")
    production = environment == "production"
    plain = {k.removeprefix(PREFIX): v for k, v in env.items() if k.startswith(PREFIX)}
    for name in ("INTAKE_ADDRESS", "DATABASE_URL"):
        if not plain.get(name):
            raise SettingsError(f"{PREFIX}{name} is not set")
    cert, key, client_ca = (plain.get("HTTP_TLS_CERT_FILE", ""), plain.get("HTTP_TLS_KEY_FILE", ""),
                            plain.get("HTTP_CLIENT_CA_FILE", ""))
    if bool(cert) != bool(key):
        raise SettingsError(f"{PREFIX}HTTP_TLS_CERT_FILE and {PREFIX}HTTP_TLS_KEY_FILE go together")
    if production and not cert:
        raise SettingsError(f"{PREFIX}HTTP_TLS_CERT_FILE and _KEY_FILE are required in production (HTTPS)")
    if client_ca and not cert:
        raise SettingsError(f"{PREFIX}HTTP_CLIENT_CA_FILE (mutual TLS) needs {PREFIX}HTTP_TLS_CERT_FILE")
    for name, path in (("HTTP_TLS_CERT_FILE", cert), ("HTTP_TLS_KEY_FILE", key), ("HTTP_CLIENT_CA_FILE", client_ca)):
        if path and not Path(path).is_file():
            raise SettingsError(f"{PREFIX}{name}={path!r} is not a readable file")
    try:
        transport.check_database_url(plain["DATABASE_URL"], production, env)
        grpc_tls = transport.grpc_tls(env, production)
        host = transport.bind_host(env, "HTTP_HOST")
        token = auth.service_token(EXTERNAL_SYSTEMS, env, production=production)
    except (transport.TransportError, ValueError) as exc:
        raise SettingsError(str(exc)) from None
    return Settings(
        production=production,
        systems=systems_file.load(plain.get("EXTERNAL_SYSTEMS_FILE", ""), production=production),
        intake_address=plain["INTAKE_ADDRESS"], database_url=plain["DATABASE_URL"], http_host=host,
        http_port=whole_number(plain, "HTTP_PORT", 8443, 1, 65535), http_cert=cert, http_key=key,
        http_client_ca=client_ca, window_seconds=whole_number(plain, "EXTERNAL_SIGNATURE_WINDOW_SECONDS", 300, 5, 3600),
        metrics_port=whole_number(plain, "METRICS_PORT", 9464, 0, 65535),
        health_port=whole_number(plain, "HEALTH_PORT", 0, 0, 65535), grpc_tls=grpc_tls, token=token,
        otlp_endpoint=plain.get("OTLP_ENDPOINT", ""),
    )


async def _sweep(replay: ReplayStore, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await replay.sweep(datetime.now(UTC))
        except Exception as exc:  # noqa: BLE001 - the next sweep tries again; refusals still hold
            log.warning("replay sweep failed", extra={"error": f"{type(exc).__name__}: {exc}"[:200]})


async def serve(settings: Settings) -> None:
    provider = telemetry.setup_tracing(EXTERNAL_SYSTEMS, settings.otlp_endpoint)
    await db.migrate(settings.database_url, SCHEMA, MIGRATIONS)
    pool = await db.create_pool(settings.database_url, SCHEMA, min_size=1, max_size=5)
    channel = open_channel(settings.intake_address, settings.grpc_tls)
    stub = intake_pb2_grpc.IntakeServiceStub(channel)
    health = health_pb2_grpc.HealthStub(channel)

    async def register(request: intake_pb2.RegisterDisputeRequest) -> intake_pb2.RegisterDisputeResponse:
        # A client span whose context rides in the call's metadata (W3C traceparent), which intake's
        # OpenTelemetry server interceptor continues: the referral and its registration are one trace.
        with telemetry.tracer().start_as_current_span(
                "liandiao.intake.v1.IntakeService/RegisterDispute", kind=SpanKind.CLIENT,
                attributes={"rpc.system": "grpc", "rpc.service": "liandiao.intake.v1.IntakeService",
                            "rpc.method": "RegisterDispute"}) as span:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            reply = await stub.RegisterDispute(request, metadata=(*settings.token.metadata(), *carrier.items()),
                                               timeout=CALL_TIMEOUT_SECONDS)
            span.set_attribute(DISPUTE_ATTRIBUTE, reply.dispute.dispute_id)
            return reply

    async def intake_ready() -> bool:
        try:
            reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=2)
        except grpc.aio.AioRpcError:
            return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    window = timedelta(seconds=settings.window_seconds)
    replay = ReplayStore(pool, window)
    app = build_app(Adapter(settings.systems, replay, register, intake_ready, settings.window_seconds))
    servers = []
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.http_host)
    tls: dict = {}
    if settings.http_cert:
        tls = {"ssl_certfile": settings.http_cert, "ssl_keyfile": settings.http_key}
        if settings.http_client_ca:
            tls |= {"ssl_ca_certs": settings.http_client_ca, "ssl_cert_reqs": ssl.CERT_REQUIRED}
    servers.append(uvicorn.Server(uvicorn.Config(app, host=settings.http_host, port=settings.http_port,
                                                 log_config=None, access_log=False, lifespan="off", **tls)))
    if settings.health_port:
        # The kubelet's probes cannot present a system's certificate: health alone, in plain text.
        servers.append(uvicorn.Server(uvicorn.Config(health_app(app), host=settings.http_host,
                                                     port=settings.health_port, log_config=None, access_log=False,
                                                     lifespan="off")))
    sweeper = asyncio.create_task(_sweep(replay, max(settings.window_seconds / 2, 5)))
    log.info("external-systems adapter started", extra={"systems": len(settings.systems),
                                                        "port": settings.http_port, "tls": bool(tls)})
    try:
        running = [asyncio.create_task(server.serve()) for server in servers]
        # A signal reaches one server's handler: when one stops, the other follows.
        await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*running)
    finally:
        sweeper.cancel()
        await channel.close()
        await pool.close()
        provider.shutdown()          # the last spans are exported before the process ends
        log.info("stopped")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "serve"
    telemetry.setup_logging(EXTERNAL_SYSTEMS, os.environ.get(PREFIX + "LOG_LEVEL", "INFO").upper())
    try:
        settings = load_settings(os.environ)
    except SettingsError as exc:
        print(f"external-systems: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if command == "migrate":
        applied = asyncio.run(db.migrate(settings.database_url, SCHEMA, MIGRATIONS))
        print("\n".join(applied) or "nothing to apply")
    elif command == "serve":
        asyncio.run(serve(settings))
    else:
        print("usage: python -m services.intake.external [serve|migrate]", file=sys.stderr)
        raise SystemExit(2)
