"""Pure arithmetic of the benchmark (no I/O): percentiles, the closed-loop ramp's stop rule, and
whether a memory series is flat. Kept apart from bench/flow.py so that it is unit-tested
(tests/bench/test_stats.py) without a stack."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99 and the count; empty when nothing was measured (never a made-up zero)."""
    if not values:
        return {}
    if len(values) == 1:
        return {"p50": values[0], "p95": values[0], "p99": values[0], "n": 1}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": q[49], "p95": q[94], "p99": q[98], "n": len(values)}


@dataclass(frozen=True)
class Ramp:
    """Closed-loop ramp: concurrency starts at `start` and is multiplied by `factor` while throughput
    still rises. It stops when `patience` steps in a row fail to beat the best throughput so far by
    `min_gain` (a fraction), or at `max_concurrency`. Throughput on a shared machine wobbles by a
    few per cent, so a step counts as a rise only when it clears the best by more than that."""

    start: int = 2
    factor: float = 2.0
    min_gain: float = 0.05
    patience: int = 1
    max_concurrency: int = 256

    def next_concurrency(self, history: list[tuple[int, float]]) -> int | None:
        """history: (concurrency, throughput) of the steps run so far, in order. None: stop."""
        if not history:
            return self.start
        best, stalls = history[0][1], 0
        for _, throughput in history[1:]:
            if throughput > best * (1 + self.min_gain):
                best, stalls = throughput, 0
            else:
                best, stalls = max(best, throughput), stalls + 1
        if stalls >= self.patience:
            return None
        nxt = max(history[-1][0] + 1, round(history[-1][0] * self.factor))
        return nxt if nxt <= self.max_concurrency else None


def closed_loop_throughput(completed: int, started_ns: int, last_finished_ns: int, window_s: float) -> float:
    """Disputes per second of a closed-loop step: from its start to the last dispute's notice, and
    never over less than the window (the workers start nothing new after it). Zero when none finished."""
    if not completed or not last_finished_ns:
        return 0.0
    return completed / max((last_finished_ns - started_ns) / 1e9, window_s)


def maximum(history: list[tuple[int, float]]) -> tuple[int, float]:
    """The step with the highest throughput: (concurrency, throughput)."""
    return max(history, key=lambda h: h[1])


def growth_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) samples, in MiB per hour (0 with fewer than two)."""
    if len(samples) < 2:
        return 0.0
    xs, ys = [s[0] for s in samples], [s[1] for s in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var * 3600


def memory_verdict(samples: list[tuple[float, float]], tolerance_mib: float = 8.0) -> str:
    """'flat' when the fitted line moves less than `tolerance_mib` over the second half of the run
    (the first half includes warm-up: caches, pools and buffers fill), otherwise 'growing' or
    'shrinking'. Fewer than four samples: 'too short'."""
    if len(samples) < 4:
        return "too short"
    half = samples[len(samples) // 2 - 1:]
    span = half[-1][0] - half[0][0]
    moved = growth_per_hour(half) * span / 3600
    if abs(moved) < tolerance_mib:
        return "flat"
    return "growing" if moved > 0 else "shrinking"


# An open-loop step above what the platform carries only builds queues: every second adds
# (offered - maximum) disputes that the next steps inherit, and on two cores a 30 s step at 100/s
# took about ten minutes to drain (bench/README.md). Such a rate is reported as beyond capacity
# instead of being run, unless asked for (--overload-seconds). A rate counts as within capacity up
# to this margin over the closed-loop maximum (the ramp's steps wobble by a few per cent).
CAPACITY_MARGIN = 1.1


@dataclass(frozen=True)
class PlannedRate:
    rate: float
    within_capacity: bool
    source: str          # "asked" (--rates) or "fraction" (of the measured maximum, --fractions)


def plan_rates(asked: list[float], fractions: list[float], maximum: float | None) -> list[PlannedRate]:
    """The fixed-rate steps of a run, in rising order: the rates asked for, and fractions of the
    closed-loop maximum (when one was measured), each marked within capacity or beyond it. With no
    maximum measured (--no-ramp), every asked rate is run, as before."""
    planned: dict[float, PlannedRate] = {}
    if maximum:
        for f in fractions:
            r = round(maximum * f, 1)
            if r > 0:
                planned[r] = PlannedRate(r, True, "fraction")
    for r in asked:
        within = maximum is None or r <= maximum * CAPACITY_MARGIN
        planned[r] = PlannedRate(r, within, "asked")
    return sorted(planned.values(), key=lambda p: p.rate)


def is_steady(offered: float, throughput: float, started: int, completed: int) -> bool:
    """A fixed-rate step is steady when the platform kept up: nearly every dispute it was offered
    went the whole way, at (nearly) the offered rate. A step that only builds queues is not."""
    if not started or offered <= 0:
        return False
    return completed >= 0.95 * started and throughput >= 0.9 * offered


def drain_seconds(offered: float, maximum: float, seconds: float) -> float:
    """How long the queue an overloaded step builds takes to drain at the maximum: (offered -
    maximum) * seconds disputes beyond what was served, worked off at `maximum` per second."""
    if maximum <= 0:
        return float("inf")
    return max(0.0, offered - maximum) * seconds / maximum
