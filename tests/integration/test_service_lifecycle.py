"""A service's health tells the truth: NOT_SERVING until PostgreSQL answers,
SERVING once it does, NOT_SERVING again while it shuts down; SIGTERM stops it
cleanly. Driven against a real intake process."""

from __future__ import annotations

import asyncio
import socket
import time
from urllib.parse import urlsplit

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from liandiao.devtools.clients import channel
from liandiao.devtools.localrun import REPO, LocalServices
from liandiao.rpc.server import LIVENESS

pytestmark = pytest.mark.stack


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_proxy(listen: int, target: tuple[str, int]) -> asyncio.Server:
    """A TCP relay standing in for a database that comes up late."""
    async def pipe(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def handle(client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection(*target)
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))

    return await asyncio.start_server(handle, "127.0.0.1", listen)


async def liveness(address: str) -> str:
    async with channel(address) as chan:
        reply = await health_pb2_grpc.HealthStub(chan).Check(health_pb2.HealthCheckRequest(service=LIVENESS),
                                                                timeout=2)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


async def wait_for(probe, want: str, timeout: float) -> str:
    end = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < end:
        seen = await probe()
        if seen == want:
            return seen
        await asyncio.sleep(0.1)
    return seen


async def test_health_follows_the_database_and_the_shutdown(stack_env):
    real = urlsplit(stack_env["LIANDIAO_DATABASE_URL"])
    late_port = free_port()
    dsn = stack_env["LIANDIAO_DATABASE_URL"].replace(f":{real.port}/", f":{late_port}/")
    local = LocalServices(env={**stack_env, "LIANDIAO_DATABASE_URL": dsn, "LIANDIAO_SHUTDOWN_DRAIN_MS": "1500"},
                          log_dir=REPO / ".state" / "logs" / "lifecycle", base_port=22060, metrics_base_port=9660,
                          services=("intake",))
    local.start()
    proxy = None
    try:
        # Up, but its database is not there: the port answers NOT_SERVING.
        assert await wait_for(lambda: local.health("intake"), "NOT_SERVING", timeout=20) == "NOT_SERVING"
        await asyncio.sleep(2)
        assert await local.health("intake") == "NOT_SERVING"
        # Not ready, but alive: the liveness probe must not restart a pod whose database is away.
        assert await liveness(local.address("intake")) == "SERVING"

        proxy = await start_proxy(late_port, (real.hostname, real.port))
        assert await wait_for(lambda: local.health("intake"), "SERVING", timeout=30) == "SERVING"

        local.procs["intake"].terminate()  # SIGTERM, as Kubernetes sends it
        assert await wait_for(lambda: local.health("intake"), "NOT_SERVING", timeout=1.5) == "NOT_SERVING"
        assert await liveness(local.address("intake")) == "SERVING"   # draining, not dead
        code = await asyncio.to_thread(local.procs["intake"].wait, 20)
        assert code == 0
        log = (REPO / ".state" / "logs" / "lifecycle" / "intake.log").read_text()
        assert '"msg": "stopped"' in log.splitlines()[-1]
    finally:
        if local.procs.get("intake") and local.procs["intake"].poll() is None:
            local.stop()
        if proxy:
            proxy.close()
