"""/metrics over HTTPS when a service has TLS (issue 7): it shows the platform's counters by
region and method, so it is served with the service's own certificate, not in plain text."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

import pytest

from liandiao.devtools import metrics


@pytest.mark.e2e
async def test_a_service_with_tls_serves_its_metrics_over_https_only(services):
    if services.tls is None:
        pytest.skip("the services run in plain text here (no stack certificates)")
    port = services.metrics_port("intake")
    text = await asyncio.to_thread(metrics.page, port)              # the server checked against the CA
    assert "liandiao_grpc_server_handled_total" in text or "liandiao_task_up" in text

    def plain() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3) as reply:
            return reply.read().decode()

    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        await asyncio.to_thread(plain)
