"""Supervision of a service's long-running tasks (the outbox relay, the consumers,
sweeps, retention): a task that fails, or ends while the service is not stopping,
is logged with its reason and started again after a backoff. Health reads
``down()``: a service whose required task is not running is not ready.

Why not tenacity: its retry loop wraps one call; here the same task runs for
days, and the backoff must start again from the bottom once a run has been
healthy for a while, so that a database restart next week is recovered from in
half a second rather than after the ceiling reached last month."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from liandiao import telemetry

log = logging.getLogger(__name__)

TaskFactory = Callable[[], Coroutine[Any, Any, Any]]


@dataclass
class _Supervised:
    name: str
    factory: TaskFactory
    required: bool
    once: bool
    running: bool = False
    done: bool = False
    task: asyncio.Task | None = None


class Supervisor:
    """Runs named tasks until ``stopping`` is set, restarting each after any error.

    Backoff: ``first_delay`` doubling up to ``max_delay``, with jitter so that the
    replicas of a service do not reconnect in step; a run that lasted
    ``healthy_after`` seconds counts as recovered and resets it."""

    def __init__(self, service: str, stopping: asyncio.Event, *, first_delay: float = 0.5,
                 max_delay: float = 30.0, healthy_after: float = 60.0):
        self.service, self.stopping = service, stopping
        self.first_delay, self.max_delay, self.healthy_after = first_delay, max_delay, healthy_after
        self._tasks: dict[str, _Supervised] = {}

    def start(self, name: str, factory: TaskFactory, *, required: bool = True, once: bool = False) -> None:
        """``factory`` makes a fresh coroutine for each run; it should return only
        once ``stopping`` is set, unless ``once`` (a start-up job: done when it
        returns, tried again while it fails; readiness waits for it).
        ``required``: readiness depends on it."""
        if name in self._tasks:
            raise ValueError(f"task {name!r} is supervised already")
        entry = _Supervised(name, factory, required, once)
        self._tasks[name] = entry
        entry.task = asyncio.create_task(self._keep(entry), name=f"supervised:{name}")

    def down(self) -> list[str]:
        """Required tasks not running right now (waiting to be restarted)."""
        return [t.name for t in self._tasks.values() if t.required and not t.running and not t.done]

    async def stop(self, timeout: float) -> None:
        """Waits up to ``timeout`` for the tasks to end after ``stopping`` was set, then cancels the rest."""
        tasks = [t.task for t in self._tasks.values() if t.task is not None]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _keep(self, entry: _Supervised) -> None:
        failures = 0
        up = telemetry.TASK_UP.labels(self.service, entry.name)
        while not self.stopping.is_set():
            started = time.monotonic()
            entry.running = True
            up.set(1)
            try:
                await entry.factory()
                if entry.once:
                    entry.done, entry.running = True, False
                    return
                reason = "ended while the service was not stopping"
            except asyncio.CancelledError:
                entry.running = False
                up.set(0)
                raise
            except Exception as exc:  # noqa: BLE001 - any failure is logged and the task restarted
                reason = f"{type(exc).__name__}: {exc}"
            entry.running = False
            up.set(0)
            if self.stopping.is_set():
                return
            failures = 1 if time.monotonic() - started >= self.healthy_after else failures + 1
            delay = min(self.max_delay, self.first_delay * 2 ** (failures - 1)) * random.uniform(0.75, 1.0)
            telemetry.TASK_RESTARTS.labels(self.service, entry.name).inc()
            log.error("background task stopped, restarting", extra={
                "task": entry.name, "error": reason[:500], "restart_in_s": round(delay, 2), "failures": failures})
            try:
                await asyncio.wait_for(self.stopping.wait(), timeout=delay)
            except TimeoutError:
                pass
