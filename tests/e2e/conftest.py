from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from liandiao.devtools.localrun import LocalServices
from liandiao.devtools.otlp_sink import OtlpSink
from tests.conftest import REPO


@pytest.fixture(scope="session")
def otlp() -> Iterator[OtlpSink]:
    sink = OtlpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def services(stack_env, otlp) -> Iterator[LocalServices]:
    """The six services as separate processes, SERVING, on ports of their own."""
    env = {**stack_env, "LIANDIAO_OTLP_ENDPOINT": otlp.endpoint, "LIANDIAO_OUTBOX_POLL_MS": "200",
           "LIANDIAO_ROUTING_SWEEP_SECONDS": "1"}
    local = LocalServices(env=env, log_dir=REPO / ".state" / "logs" / "e2e", base_port=51060, metrics_base_port=9560)
    local.start()
    try:
        asyncio.run(local.wait_serving(timeout=90))
        yield local
    finally:
        local.stop()
