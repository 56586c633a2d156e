"""Fixtures of the cross-service tests (end-to-end and failure): the six services as
processes, an OTLP sink, and a seeded prefecture. Session-scoped, shared by tests/e2e
and tests/failure; the stack fixtures (stack_env, service_pool) are in the root conftest.py."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from liandiao.devtools.clients import channel
from liandiao.devtools.localrun import REPO, LocalServices
from liandiao.devtools.mailbox import Mailbox
from liandiao.devtools.otlp_sink import OtlpSink
from liandiao.devtools.sms_simulator import SmsSimulator


@pytest.fixture(scope="session")
def otlp() -> Iterator[OtlpSink]:
    sink = OtlpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def sms() -> Iterator[SmsSimulator]:
    """The SMS provider notification sends to (a real HTTP server)."""
    with SmsSimulator(api_key="e2e-key") as sim:
        yield sim


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    """The SMTP server notification sends e-mail to (aiosmtpd)."""
    with Mailbox() as box:
        yield box


@pytest.fixture(scope="session")
def services(stack_env, otlp, sms, mailbox) -> Iterator[LocalServices]:
    """The seven services as separate processes, SERVING, on ports of their own."""
    env = {**stack_env, "LIANDIAO_OTLP_ENDPOINT": otlp.endpoint, "LIANDIAO_OUTBOX_POLL_MS": "200",
           "LIANDIAO_ROUTING_SWEEP_SECONDS": "1", "LIANDIAO_SMS_URL": sms.url, "LIANDIAO_SMS_API_KEY": "e2e-key",
           "LIANDIAO_SMTP_HOST": mailbox.host, "LIANDIAO_SMTP_PORT": str(mailbox.port)}
    # Over TLS when the stack made its certificates (scripts/stack.sh up): mutual TLS on gRPC,
    # SASL_SSL to Kafka, TLS to PostgreSQL, as the chart runs them.
    certs = stack_env.get("LIANDIAO_STACK_CERTS")
    local = LocalServices(env=env, log_dir=REPO / ".state" / "logs" / "e2e", base_port=21060, metrics_base_port=9560,
                          tls=Path(certs) if certs else None)
    local.start()
    try:
        # Seven services starting at once on a shared 2-core machine: give them time.
        asyncio.run(local.wait_serving(timeout=180))
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="session")
async def world(services):
    """Stubs for every service, and a seeded prefecture (通辽市) whose roster routing has projected."""
    from liandiao.devtools import metrics, province
    from liandiao.intake.v1 import intake_pb2_grpc
    from liandiao.mediation.v1 import mediation_pb2_grpc
    from liandiao.notification.v1 import notification_pb2_grpc
    from liandiao.personnel.v1 import personnel_pb2_grpc
    from liandiao.routing.v1 import routing_pb2_grpc
    from tests.e2e.support import OPERATOR, eventually

    chans = {s: channel(services.address(s)) for s in services.procs}
    stubs = {
        "intake": intake_pb2_grpc.IntakeServiceStub(chans["intake"]),
        "personnel": personnel_pb2_grpc.PersonnelServiceStub(chans["personnel"]),
        "routing": routing_pb2_grpc.RoutingServiceStub(chans["routing"]),
        "mediation": mediation_pb2_grpc.MediationServiceStub(chans["mediation"]),
        "notification": notification_pb2_grpc.NotificationServiceStub(chans["notification"]),
    }
    prov = await province.seed_province(stubs["personnel"], OPERATOR, ["1505"], mediators_per_county=4,
                                        townships_per_county=2)
    routing_metrics = services.metrics_port("routing")

    async def roster_projected():
        return metrics.total(routing_metrics, "liandiao_events_consumed_total", consumer="routing.roster",
                             outcome="processed") >= prov.person_events

    await eventually(roster_projected, timeout=60)
    yield stubs, prov
    for ch in chans.values():
        await ch.close()
