"""The chaos run's own PostgreSQL and Kafka: scripts/stack.sh with a state directory
and ports of its own, so that restarting them never touches the developer's stack
(or the servers a concurrent test session uses)."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from liandiao.devtools.localrun import REPO

# The chaos stack sits a few ports above the checkout's own stack (LIANDIAO_PG_PORT etc.),
# so that checkouts with their own port blocks keep their own chaos stacks too.
PORT_SHIFT = 5


def _port(name: str, default: int) -> int:
    chaos = os.environ.get(f"LIANDIAO_CHAOS_{name}")
    if chaos:
        return int(chaos)
    return int(os.environ.get(f"LIANDIAO_{name}", str(default))) + PORT_SHIFT


@dataclass(frozen=True)
class ChaosStack:
    state: Path = REPO / ".state" / "chaos"
    pg_port: int = field(default_factory=lambda: _port("PG_PORT", 25432))
    kafka_port: int = field(default_factory=lambda: _port("KAFKA_PORT", 29092))
    controller_port: int = field(default_factory=lambda: _port("KAFKA_CONTROLLER_PORT", 29093))
    database: str = "liandiao_chaos"

    @property
    def env(self) -> dict[str, str]:
        """The variables stack.sh reads; LIANDIAO_KAFKA_BOOTSTRAP is dropped so that it
        runs its own broker even when the caller's shell points at another."""
        env = {k: v for k, v in os.environ.items() if k != "LIANDIAO_KAFKA_BOOTSTRAP"}
        env.update(LIANDIAO_STACK_STATE=str(self.state), LIANDIAO_PG_PORT=str(self.pg_port),
                   LIANDIAO_KAFKA_PORT=str(self.kafka_port),
                   LIANDIAO_KAFKA_CONTROLLER_PORT=str(self.controller_port),
                   # A restart under load (the faults run on a busy machine) may take longer.
                   LIANDIAO_KAFKA_READY_TIMEOUT=os.environ.get("LIANDIAO_KAFKA_READY_TIMEOUT", "120"))
        return env

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://liandiao@127.0.0.1:{self.pg_port}/liandiao"

    @property
    def dsn(self) -> str:
        return f"postgresql://liandiao@127.0.0.1:{self.pg_port}/{self.database}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    async def _stack(self, *args: str) -> float:
        """Runs scripts/stack.sh; returns its duration. Its output goes to the state
        directory's stack.log (the driver's own output is the table)."""
        self.state.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with open(self.state / "stack.log", "ab") as log:
            proc = await asyncio.create_subprocess_exec(
                "bash", str(REPO / "scripts" / "stack.sh"), *args, env=self.env, cwd=REPO,
                stdout=log, stderr=asyncio.subprocess.STDOUT)
            code = await proc.wait()
        if code != 0:
            tail = (self.state / "stack.log").read_text(errors="replace").splitlines()[-15:]
            raise RuntimeError(f"scripts/stack.sh {' '.join(args)} exited {code}:\n" + "\n".join(tail))
        return time.monotonic() - started

    async def up(self) -> float:
        return await self._stack("up")

    async def wipe(self) -> float:
        """Stops both servers and deletes their data: every run starts from nothing. A
        broker that was restarted keeps the committed offsets of a deleted topic's
        consumer groups (the replay command's among them) for a topic of the same name
        made later, so wiping topics alone is not enough."""
        return await self._stack("wipe")

    async def down(self) -> float:
        return await self._stack("down")

    async def restart_database(self) -> float:
        return await self._stack("pg-restart")

    async def restart_broker(self, down_seconds: float = 0.0) -> float:
        return await self._stack("kafka-restart", *(["--down", f"{down_seconds:g}"] if down_seconds else []))
