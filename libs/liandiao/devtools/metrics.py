"""Read a service's Prometheus metrics, as an operator's scraper would, and tell
from them when the event flow has drained."""

from __future__ import annotations

import asyncio
import ssl
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


# Metrics ports of local services started over TLS (liandiao.devtools.localrun) -> the CA
# file their certificates are checked against: those serve /metrics over HTTPS only.
LOCAL_TLS_CA: dict[int, str] = {}


def page(port: int, host: str = "127.0.0.1", timeout: float = 3) -> str:
    """The text of /metrics, over HTTPS (the server checked) when the service serves it so."""
    ca = LOCAL_TLS_CA.get(port)
    url = f"{'https' if ca else 'http'}://{host}:{port}/metrics"
    context = ssl.create_default_context(cafile=ca) if ca else None
    with urllib.request.urlopen(url, timeout=timeout, context=context) as reply:
        return reply.read().decode()


def scrape(port: int, host: str = "127.0.0.1") -> Samples:
    # Generous: seven services and their consumers share two busy cores during a demo or a test run.
    text = page(port, host, timeout=10)
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def summed(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(v for (n, lbls), v in samples.items()
               if n == name and all(dict(lbls).get(k) == val for k, val in labels.items()))


def total(port: int, name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include ``labels``."""
    return summed(scrape(port), name, **labels)


@dataclass(frozen=True)
class FlowState:
    """The event flow of a set of services at one moment, from their metrics."""
    backlog: float      # outbox rows not yet published
    lag: float          # messages behind the partition ends, all consumers
    moved: float        # events published plus events consumed, ever
    at: float           # time.monotonic() of the reading

    @classmethod
    def of(cls, samples: Iterable[Samples], at: float) -> FlowState:
        backlog = lag = moved = 0.0
        for s in samples:
            backlog += summed(s, "liandiao_outbox_backlog")
            lag += summed(s, "liandiao_consumer_lag")
            moved += summed(s, "liandiao_events_published_total") + summed(s, "liandiao_events_consumed_total")
        return cls(backlog, lag, moved, at)


def drained(before: FlowState, now: FlowState, settle: float) -> bool:
    """True when nothing waits to be published or consumed and no event moved for
    ``settle`` seconds. Backlog and lag alone are not enough: both gauges read 0
    between an event's publication and the next fetch of its consumer, and while a
    timer-driven step (a delivery's dispatch) has not produced its event yet."""
    return (now.backlog == 0 and now.lag == 0 and now.moved == before.moved
            and now.at - before.at >= settle)


async def flow_state(ports: Iterable[int]) -> FlowState:
    samples = await asyncio.gather(*(asyncio.to_thread(scrape, p) for p in ports))
    return FlowState.of(samples, time.monotonic())


# The services measure their backlog and lag gauges every 5 s (liandiao.service,
# from the database and the broker): at rest for longer than that, the gauges read
# were measured after the last event moved.
SETTLE_SECONDS = 6.0


async def wait_drained(ports: Iterable[int], stalled: float = 60, settle: float = SETTLE_SECONDS,
                       interval: float = 0.5) -> FlowState | None:
    """Waits until the services on ``ports`` have drained (see ``drained``), for as
    long as the flow makes progress: None once nothing has moved for ``stalled``
    seconds with work still waiting (a stuck relay or consumer), so a big run is
    never cut short and a stuck one does not hang."""
    ports = list(ports)
    before = await flow_state(ports)
    progress = before
    while True:
        await asyncio.sleep(interval)
        now = await flow_state(ports)
        if drained(before, now, settle):
            return now
        if now.moved != progress.moved:
            progress = now
        elif now.at - progress.at >= stalled:
            return None
        if now.moved != before.moved or now.backlog or now.lag:
            before = now
