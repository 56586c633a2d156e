"""Injecting the faults and timing the recovery from each.

A fault's recovery is measured twice from the moment it was injected: until all six
services answer SERVING again, and until a probe dispute registered at that moment
has gone the whole way (offer accepted, case open, every delivery sent). The second
is what a clerk at the counter sees; a health check that says SERVING while a relay
is dead shows up as the gap between the two."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from liandiao.devtools.chaos.plan import Fault, Kind
from liandiao.devtools.chaos.stack import ChaosStack
from liandiao.devtools.chaos.workload import CHANNEL_OPTIONS
from liandiao.devtools.localrun import LocalServices


@dataclass
class Outcome:
    """One injected fault and how the platform came back from it."""
    n: int
    fault: Fault
    at: float                       # seconds since the run started
    serving_s: float | None = None  # until all six answered SERVING (None: not within the timeout)
    flow_s: float | None = None     # until the probe registered at the fault was done
    note: str = ""
    failed: bool = False            # the fault could not be injected at all

    @property
    def recovered(self) -> bool:
        return self.serving_s is not None and self.flow_s is not None


@dataclass
class Exit:
    """A service that exited without being killed; the supervisor restarted it."""
    service: str
    code: int | None
    at: float


class Health:
    """grpc.health.v1 of every service over channels kept open (quick to reconnect)."""

    def __init__(self, local: LocalServices):
        self.local = local
        self.channels = {s: grpc.aio.insecure_channel(local.address(s), options=CHANNEL_OPTIONS) for s in local.services}
        self.stubs = {s: health_pb2_grpc.HealthStub(ch) for s, ch in self.channels.items()}

    async def status(self, service: str, timeout: float = 1.0) -> str:
        try:
            reply = await self.stubs[service].Check(health_pb2.HealthCheckRequest(), timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            return exc.code().name
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    async def all(self) -> dict[str, str]:
        names = list(self.stubs)
        states = await asyncio.gather(*(self.status(s) for s in names))
        return dict(zip(names, states, strict=True))

    async def close(self) -> None:
        for ch in self.channels.values():
            await ch.close()

    async def wait_serving(self, timeout: float) -> float | None:
        """Seconds until all six are SERVING, or None."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if all(v == "SERVING" for v in (await self.all()).values()):
                return time.monotonic() - started
            await asyncio.sleep(0.25)
        return None


class Supervisor:
    """Restarts a service that exits on its own, as Kubernetes would, and keeps a record:
    a process that dies of a fault it should have ridden out is a finding."""

    def __init__(self, local: LocalServices, clock: Callable[[], float]):
        self.local, self.clock = local, clock
        self.exits: list[Exit] = []
        self.busy: set[str] = set()    # being killed or restarted on purpose
        self.kills: dict[str, int] = {s: 0 for s in local.services}

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for name, proc in list(self.local.procs.items()):
                if name not in self.busy and proc.poll() is not None:
                    self.exits.append(Exit(name, proc.returncode, self.clock()))
                    del self.local.procs[name]
                    self.local.start(name)
            try:
                await asyncio.wait_for(stop.wait(), timeout=0.5)
            except TimeoutError:
                pass

    async def kill(self, services: tuple[str, ...], down_seconds: float) -> None:
        """SIGKILL (no graceful anything) to each, at once; restarted after ``down_seconds``."""
        self.busy.update(services)
        try:
            procs = [self.local.procs.pop(s) for s in services]
            for proc in procs:
                proc.kill()
            for proc in procs:
                await asyncio.to_thread(proc.wait)
            for s in services:
                self.kills[s] += 1
            await asyncio.sleep(down_seconds)
            self.local.start(*services)
        finally:
            self.busy.difference_update(services)

    async def pause(self, service: str, seconds: float) -> None:
        self.busy.add(service)
        pid = self.local.procs[service].pid
        try:
            os.kill(pid, signal.SIGSTOP)
            await asyncio.sleep(seconds)
        finally:
            os.kill(pid, signal.SIGCONT)
            self.busy.discard(service)


@dataclass
class Injector:
    stack: ChaosStack
    supervisor: Supervisor
    health: Health
    # A probe: registers a fresh dispute and follows it to its deliveries; returns
    # the seconds it took or None.
    probe: Callable[[float], Coroutine[object, object, float | None]]
    poison: Callable[[], Coroutine[object, object, int]]
    clock: Callable[[], float]
    recover_timeout: float
    outcomes: list[Outcome] = field(default_factory=list)
    late: list[asyncio.Task] = field(default_factory=list)   # probes still going after the timeout

    async def run(self, plan: tuple[Fault, ...]) -> None:
        """Every fault of the plan, one after another: each after its gap, once the
        previous one recovered (or was given up)."""
        for n, fault in enumerate(plan, start=1):
            await asyncio.sleep(fault.gap_seconds)
            self.outcomes.append(await self.inject(n, fault))

    async def inject(self, n: int, fault: Fault) -> Outcome:
        outcome = Outcome(n, fault, at=self.clock())
        started = time.monotonic()
        # The time a fault keeps things down on purpose (a pause, a long broker outage) is
        # not the platform's to recover from: the timeout counts from its end.
        timeout = self.recover_timeout + (fault.down_seconds if fault.kind in (Kind.PAUSE, Kind.BROKER) else 0.0)
        probe: asyncio.Task[float | None] = asyncio.create_task(self.probe(timeout))
        try:
            if fault.kind is Kind.KILL:
                await self.supervisor.kill(fault.targets, fault.down_seconds)
            elif fault.kind is Kind.PAUSE:
                await self.supervisor.pause(fault.targets[0], fault.down_seconds)
            elif fault.kind is Kind.BROKER:
                took = await self.stack.restart_broker(fault.down_seconds)
                outcome.note = f"broker back in {took:.1f}s" + (f" (down {fault.down_seconds:.0f}s on purpose)"
                                                                 if fault.down_seconds else "")
                # How long the broker's JVM takes to come back is the machine's, not the
                # platform's (45 s on a loaded machine once): the timeout counts from its return.
                timeout += max(took - fault.down_seconds, 0.0)
            elif fault.kind is Kind.DATABASE:
                took = await self.stack.restart_database()
                outcome.note = f"database back in {took:.1f}s"
                timeout += took
            elif fault.kind is Kind.POISON:
                outcome.note = f"{await self.poison()} malformed messages"
        except Exception as exc:  # noqa: BLE001 - a fault that could not be injected is reported, not fatal
            outcome.note, outcome.failed = f"injection failed: {exc!r}", True
        left = timeout - (time.monotonic() - started)
        serving = await self.health.wait_serving(max(left, 1.0))
        outcome.serving_s = None if serving is None else time.monotonic() - started
        left = timeout - (time.monotonic() - started)
        done, _ = await asyncio.wait({probe}, timeout=max(left, 1.0))
        if done:
            outcome.flow_s = probe.result()
        else:
            # Not cancelled: the probe goes on, so that its dispute is taken all the way
            # (and checked with the others); when it gets there, the note says when.
            def finished(task: asyncio.Task[float | None]) -> None:
                took = None if task.cancelled() or task.exception() else task.result()
                outcome.note = "; ".join(filter(None, [outcome.note, f"flow after {took:.0f}s" if took else ""]))
            probe.add_done_callback(finished)
            self.late.append(probe)
        return outcome
