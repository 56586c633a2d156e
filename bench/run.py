"""Benchmarks: throughput and latency of the front half of the flow, on the
local stack (make bench). Prints figures; asserts nothing. Compare with the
floor measured on these machines: about 4,000 messages/s for one bare service
hop (consume, one transaction with two inserts, produce; MACHINE-NOTES.md).

    intake   RegisterDispute over gRPC: requests/s and latency percentiles
    routing  time from the last registration until every dispute is offered
             (consume dispute-registered, choose, store): disputes/s
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "libs"), str(Path(__file__).resolve().parents[1])]

from liandiao.auth import Role  # noqa: E402
from liandiao.devtools import metrics, province, reset  # noqa: E402
from liandiao.devtools.clients import channel, token  # noqa: E402
from liandiao.devtools.localrun import REPO, LocalServices  # noqa: E402
from liandiao.events.admin import ensure_topics  # noqa: E402
from liandiao.intake.v1 import intake_pb2_grpc  # noqa: E402
from liandiao.personnel.v1 import personnel_pb2_grpc  # noqa: E402

CLERK = token(Role.CLERK, region_scope=("15",))
OPERATOR = token(Role.OPERATOR, region_scope=("15",))


def _stack_env() -> dict[str, str]:
    env = {}
    for line in (REPO / ".state" / "stack.env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    env["LIANDIAO_DATABASE_URL"] = env["LIANDIAO_DATABASE_URL"].rsplit("/", 1)[0] + "/liandiao_bench"
    return env


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else values[0]


async def bench(count: int, concurrency: int) -> None:
    env = _stack_env()
    admin = env["LIANDIAO_DATABASE_URL"].rsplit("/", 1)[0] + "/liandiao"
    await reset.ensure_database(admin, "liandiao_bench")
    await reset.drop_schemas(env["LIANDIAO_DATABASE_URL"])
    await reset.delete_topics(env["LIANDIAO_KAFKA_BOOTSTRAP"])
    await ensure_topics(env["LIANDIAO_KAFKA_BOOTSTRAP"], ["1504", "1505"], partitions=3)
    local = LocalServices(env={**env, "LIANDIAO_RELEASE": f"bench-{int(time.time())}", "LIANDIAO_LOG_LEVEL": "WARNING",
                               "LIANDIAO_OUTBOX_POLL_MS": "100"},
                          log_dir=REPO / ".state" / "logs" / "bench", base_port=23060, metrics_base_port=9760,
                          services=("intake", "personnel", "routing"))
    local.start()
    try:
        await local.wait_serving(90)
        async with channel(local.address("personnel")) as ch:
            prov = await province.seed_province(personnel_pb2_grpc.PersonnelServiceStub(ch), OPERATOR, ["1504", "1505"])
        rport = local.metrics_port("routing")
        while metrics.total(rport, "liandiao_events_consumed_total", consumer="routing.roster") < prov.person_events:
            await asyncio.sleep(0.2)
        rng = random.Random(1)
        requests = [province.dispute_request(rng, prov) for _ in range(count)]
        latencies: list[float] = []
        sem = asyncio.Semaphore(concurrency)
        async with channel(local.address("intake")) as ch:
            stub = intake_pb2_grpc.IntakeServiceStub(ch)

            async def one(req):
                async with sem:
                    t = time.perf_counter()
                    await stub.RegisterDispute(req, metadata=CLERK)
                    latencies.append(time.perf_counter() - t)

            await one(requests[0])  # warm-up (connection, first transaction)
            latencies.clear()
            t0 = time.perf_counter()
            await asyncio.gather(*(one(r) for r in requests[1:]))
            register_s = time.perf_counter() - t0
        before = metrics.total(rport, "liandiao_events_consumed_total", consumer="routing.disputes")
        t1 = time.perf_counter()
        while metrics.total(rport, "liandiao_events_consumed_total", consumer="routing.disputes") < count:
            await asyncio.sleep(0.05)
        drain_s = time.perf_counter() - t1
        routed_s = time.perf_counter() - t0
        cpu = {s: metrics.total(local.metrics_port(s), "process_cpu_seconds_total") for s in local.services}
        rss = {s: metrics.total(local.metrics_port(s), "process_resident_memory_bytes") / 2**20 for s in local.services}
    finally:
        local.stop()
    n = count - 1
    print(f"\nLiandiao bench ({n} disputes, concurrency {concurrency}, 2 cores, services + PostgreSQL + Kafka on one machine)")
    print(f"  intake RegisterDispute   {n / register_s:8.0f} req/s   p50 {pct(latencies, 50) * 1000:6.1f} ms   "
          f"p95 {pct(latencies, 95) * 1000:6.1f} ms   p99 {pct(latencies, 99) * 1000:6.1f} ms")
    print(f"  routing placement        {count / routed_s:8.0f} disputes/s end to end "
          f"({before:.0f} already placed when registration ended; last {drain_s:.2f}s draining)")
    print("  CPU seconds (whole run)  " + "  ".join(f"{s} {v:.1f}" for s, v in cpu.items()))
    print("  RSS MiB                  " + "  ".join(f"{s} {v:.0f}" for s, v in rss.items()))
    print(f"  CPU ms per dispute       intake {cpu['intake'] * 1000 / count:.1f}  routing {cpu['routing'] * 1000 / count:.1f}")
    print(f"  bench driver max RSS     {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(bench(args.count, args.concurrency))


if __name__ == "__main__":
    main()
