"""--profile SERVICE (issue 12): py-spy (bench/requirements.txt) samples one service process while
a closed-loop step runs at the maximum; writes a flame graph (SVG) and a top table (the functions
with the most samples, by own time and by time including callees) to .state/bench/.

Two py-spy processes sample at once, both --nonblocking (they read the process's memory without
stopping it, so the service runs at its own speed): one writes the SVG, the other the collapsed
stacks the top table is counted from. py-spy needs ptrace rights on the service (root, or
kernel.yama.ptrace_scope 0); without them the profile says why and the run goes on."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

RATE = 97   # samples per second: not a divisor of common timer periods


def py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


def hottest(cpu_ms_per_dispute: dict[str, float]) -> str:
    """The service process with the most CPU per dispute (totals, PostgreSQL and Kafka left out)."""
    candidates = {k: v for k, v in cpu_ms_per_dispute.items() if k not in ("services_total", "postgres", "kafka")}
    return max(candidates, key=lambda k: candidates[k])


async def record(pid: int, seconds: float, stem: Path) -> dict[str, Any]:
    exe = py_spy()
    if exe is None:
        return {"error": "py-spy not installed (pip install -r bench/requirements.txt)"}
    svg, raw = stem.with_suffix(".svg"), stem.with_suffix(".txt")
    duration = str(max(1, int(seconds)))
    common = ["record", "--pid", str(pid), "--duration", duration, "--rate", str(RATE), "--nonblocking"]
    procs = [await asyncio.create_subprocess_exec(exe, *common, "--format", fmt, "--output", str(path),
                                                  stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
             for fmt, path in (("flamegraph", svg), ("raw", raw))]
    errors = []
    for p in procs:
        _, err = await p.communicate()
        if p.returncode:
            errors.append(err.decode(errors="replace").strip().splitlines()[-1:] or ["py-spy failed"])
    if not raw.exists():
        return {"error": "; ".join(e[0] for e in errors) or "no samples"}
    own, inclusive, total = top(raw.read_text())
    return {"svg": str(svg), "collapsed": str(raw), "samples": total,
            "own": own[:25], "inclusive": inclusive[:25]}


def top(collapsed: str) -> tuple[list[tuple[str, int]], list[tuple[str, int]], int]:
    """From py-spy's collapsed stacks ('a (f.py:1);b (g.py:2) 17' per line): samples per function in
    its own code (the leaf) and including what it called (counted once per stack)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
    return own.most_common(), inclusive.most_common(), total


def _short(frame: str) -> str:
    """'handle (services/routing/app.py:120)' -> 'handle (routing/app.py)': per function, not per line."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    return f"{name} ({'/'.join(parts[-2:])})" if parts else name


def describe(p: dict[str, Any]) -> str:
    if "error" in p:
        return f"Profile of {p['service']}: not taken ({p['error']})"
    total = max(p["samples"], 1)
    lines = [f"Profile of {p['service']}: {p['samples']} samples; flame graph {p['svg']}",
             f"{'own %':>6}  function (the leaf: where the time is spent)"]
    lines += [f"{n * 100 / total:>6.1f}  {f}" for f, n in p["own"][:15]]
    lines.append(f"{'incl %':>6}  function (with what it calls)")
    lines += [f"{n * 100 / total:>6.1f}  {f}" for f, n in p["inclusive"][:25]]
    return "\n".join(lines)
