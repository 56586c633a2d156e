"""Start, watch and stop the seven services as local processes (the demo and the
end-to-end tests use this; on Kubernetes the chart does the same job)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from liandiao.devtools import certs, clients, metrics
from liandiao.devtools.clients import channel
from liandiao.transport import GrpcTls

SERVICES = ("intake", "personnel", "routing", "mediation", "confirmation", "notification", "statistics")
REPO = Path(__file__).resolve().parents[3]


# Local ports stay below the kernel's ephemeral range (32768-60999 on Linux), where an
# outgoing connection may already hold the port a service wants to listen on.
# LIANDIAO_PORT_OFFSET shifts every local port, so that two checkouts (each with its own
# stack, see scripts/stack.sh) can run their tests side by side.
PORT_OFFSET = int(os.environ.get("LIANDIAO_PORT_OFFSET", "0"))


@dataclass
class LocalServices:
    env: dict[str, str]
    log_dir: Path
    base_port: int = 20060
    metrics_base_port: int = 9460
    services: tuple[str, ...] = SERVICES
    # A folder of development certificates (liandiao.devtools.certs, the stack's .state/certs): the
    # services then speak mutual TLS on gRPC, SASL_SSL to Kafka and TLS to PostgreSQL, as in a
    # cluster, and this process's clients (liandiao.devtools.clients) call them as the gateway.
    tls: Path | None = None
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def port(self, service: str) -> int:
        return PORT_OFFSET + self.base_port + 1 + SERVICES.index(service)

    def address(self, service: str) -> str:
        return f"127.0.0.1:{self.port(service)}"

    def metrics_port(self, service: str) -> int:
        return PORT_OFFSET + self.metrics_base_port + 1 + SERVICES.index(service)

    def client_tls(self, identity: str = "gateway") -> GrpcTls | None:
        """What a client of these services presents: the gateway's certificate, or a
        service's own when it calls with that service's token (None: plain text)."""
        if self.tls is None:
            return None
        read = lambda name: (self.tls / name).read_bytes()  # type: ignore[operator]  # noqa: E731
        return GrpcTls(read(f"{identity}.crt"), read(f"{identity}.key"), read("ca.crt"))

    def _transport_env(self, name: str, env: dict[str, str]) -> dict[str, str]:
        if self.tls is None:
            return {}
        extra = certs.grpc_env(self.tls, name)
        extra["LIANDIAO_DATABASE_URL"] = certs.database_url_tls(env["LIANDIAO_DATABASE_URL"], self.tls)
        if env.get("LIANDIAO_STACK_KAFKA_SASL_SSL"):   # the stack's broker (an external one is left as it is)
            extra.update(LIANDIAO_KAFKA_BOOTSTRAP=env["LIANDIAO_STACK_KAFKA_SASL_SSL"],
                         LIANDIAO_KAFKA_SECURITY_PROTOCOL="SASL_SSL", LIANDIAO_KAFKA_CA_FILE=str(self.tls / "ca.crt"),
                         LIANDIAO_KAFKA_SASL_USERNAME=env["LIANDIAO_STACK_KAFKA_SCRAM_USER"],
                         LIANDIAO_KAFKA_SASL_PASSWORD=env["LIANDIAO_STACK_KAFKA_SCRAM_PASSWORD"])
        return extra

    def start(self, *only: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        gateway = self.client_tls()
        for name in only or self.services:
            # A local run is development by definition; LIANDIAO_ENV is never a default in the services.
            env = {"LIANDIAO_ENV": "development", **os.environ, **self.env, "LIANDIAO_GRPC_PORT": str(self.port(name)),
                   "LIANDIAO_METRICS_PORT": str(self.metrics_port(name)),
                   "PYTHONPATH": f"{REPO / 'libs'}{os.pathsep}{REPO}"}
            env.update(self._transport_env(name, env))
            if name == "notification":
                # Recipients' real addresses are read from intake and personnel when they run here.
                env.update({f"LIANDIAO_{s.upper()}_ADDRESS": self.address(s) for s in ("intake", "personnel")
                            if s in self.services and f"LIANDIAO_{s.upper()}_ADDRESS" not in self.env})
            if gateway is not None:
                clients.LOCAL_TLS[self.address(name)] = gateway
                metrics.LOCAL_TLS_CA[self.metrics_port(name)] = str(self.tls / "ca.crt")  # type: ignore[operator]
            else:   # plain text on a port an earlier TLS run of this process may have used
                clients.LOCAL_TLS.pop(self.address(name), None)
                metrics.LOCAL_TLS_CA.pop(self.metrics_port(name), None)
            log = open(self.log_dir / f"{name}.log", "ab")
            self.procs[name] = subprocess.Popen([sys.executable, "-m", f"services.{name}"], cwd=REPO, env=env,
                                                stdout=log, stderr=subprocess.STDOUT)

    async def health(self, service: str) -> str:
        async with channel(self.address(service)) as chan:
            try:
                reply = await health_pb2_grpc.HealthStub(chan).Check(health_pb2.HealthCheckRequest(), timeout=2)
            except grpc.aio.AioRpcError as exc:
                return exc.code().name
            return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    async def wait_serving(self, timeout: float = 60) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            states = {s: await self.health(s) for s in self.procs}
            dead = {s: p.returncode for s, p in self.procs.items() if p.poll() is not None}
            if dead:
                raise RuntimeError(f"service(s) exited: {dead}; see {self.log_dir}")
            if all(v == "SERVING" for v in states.values()):
                return states
            if time.monotonic() > deadline:
                raise TimeoutError(f"not SERVING after {timeout}s: {states}; see {self.log_dir}")
            await asyncio.sleep(0.3)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each running service has used so far (Linux /proc)."""
        tick = os.sysconf("SC_CLK_TCK")
        out = {}
        for name, proc in self.procs.items():
            try:
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[name] = (int(fields[11]) + int(fields[12])) / tick   # utime, stime
        return out

    def stop(self, *only: str, timeout: float = 15) -> dict[str, int | None]:
        names = only or tuple(self.procs)
        for name in names:
            if self.procs[name].poll() is None:
                self.procs[name].send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name in names:
            try:
                codes[name] = self.procs[name].wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.procs[name].kill()
                codes[name] = self.procs[name].wait()
            del self.procs[name]
        return codes
