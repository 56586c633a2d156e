"""`make bench`: the whole flow at fixed offered rates, against the raw floor in the same run (issue 12).

Starts the real stack's six services (tracing and metrics on, as in production; plain transport so
that runs compare across machines, as the chaos run does) on a database of their own, loads a
province and its courts, then for each offered rate starts disputes at that rate for `--seconds`
and drives each one the whole way, as its people would, as fast as the platform answers:

    registration -> offer (routing) -> the mediator accepts -> case opened (mediation) -> a session
    held -> a written agreement signed and sealed (effective) -> the joint application -> the clerk
    accepts -> the judge rules valid -> the parties notified of the ruling

Latencies are taken from the services' own spans (the OTLP sink records when routing committed the
offer, mediation opened the case, confirmation issued the ruling and notification delivered the
last message of a dispute), not by polling, so the benchmark adds no reads of its own beyond what
a mediator does (one GetAssignment until the offer is there). Then the raw floor (bench/floor.py)
runs the same number of event hops per dispute on the same broker and database.

Output: a table on the terminal, .state/bench/flow-<time>.json and, when matplotlib is installed
(`make bench` installs bench/requirements.txt), a PNG of latency against offered rate.

On this project's 2-core machines, the services, PostgreSQL, Kafka and this driver share two cores,
so the figures measure per-dispute cost and where it saturates, not what a cluster carries.

First a closed-loop ramp finds the maximum (N flows at once, each starting the next dispute when its
last one is notified; N doubles while throughput still rises). Then the fixed rates: those the platform
can carry (up to 10 % over the maximum) and fractions of the maximum (--fractions) run and are marked
steady or not; the rest are reported beyond capacity and not run, since they only build queues that
the next steps inherit (--overload-seconds runs them anyway). Options (bench/README.md):
--scale (two replicas of routing and mediation on 6 partitions, and a region release for 1505 beside the
province release), --rows 10x|100x (the database pre-filled with years of disputes, and the hot
queries' plans), --profile SERVICE (py-spy at the maximum), --soak MINUTES (memory over time)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "libs"), str(Path(__file__).resolve().parents[1])]

import grpc  # noqa: E402

from bench import growth, profile, sql  # noqa: E402
from bench.stats import (  # noqa: E402
    CAPACITY_MARGIN,
    Ramp,
    closed_loop_throughput,
    drain_seconds,
    is_steady,
    maximum,
    memory_verdict,
    percentiles,
    plan_rates,
)
from liandiao.auth import Role  # noqa: E402
from liandiao.common.v1 import common_pb2  # noqa: E402
from liandiao.confirmation.v1 import confirmation_pb2_grpc  # noqa: E402
from liandiao.devtools import confirm, metrics, province, reset  # noqa: E402
from liandiao.devtools.clients import channel, token  # noqa: E402
from liandiao.devtools.localrun import REPO, LocalServices  # noqa: E402
from liandiao.devtools.mediate import content_for, hold_session, written_agreement  # noqa: E402
from liandiao.devtools.otlp_sink import OtlpSink  # noqa: E402
from liandiao.events.admin import ensure_topics  # noqa: E402
from liandiao.intake.v1 import intake_pb2_grpc  # noqa: E402
from liandiao.mediation.v1 import mediation_pb2 as mpb  # noqa: E402
from liandiao.mediation.v1 import mediation_pb2_grpc  # noqa: E402
from liandiao.personnel.v1 import personnel_pb2_grpc  # noqa: E402
from liandiao.routing.v1 import routing_pb2, routing_pb2_grpc  # noqa: E402

PREFECTURES = ["1504", "1505"]
REGION = "1505"           # --scale: the prefecture that gets a release of its own
CLERK = token(Role.CLERK, region_scope=("15",))
OPERATOR = token(Role.OPERATOR, region_scope=("15",))
# Targets of issue 12, printed next to the figures (never asserted).
TARGET_FLOOR_RATIO, TARGET_P99_MS, TARGET_CPU_MS = 0.5, 100.0, 2.0


def milestone(service: str, span: str) -> str | None:
    """Which spans mark a step of a dispute (span names: '<topic> process' and '<topic> publish')."""
    if service == "liandiao-routing" and ".intake.dispute-registered." in span and span.endswith(" process"):
        return "offered"
    if service == "liandiao-mediation" and ".routing.dispute-assigned." in span and span.endswith(" process"):
        return "case_open"
    if service == "liandiao-confirmation" and ".confirmation.ruling-issued." in span and span.endswith(" publish"):
        return "ruled"
    if service == "liandiao-notification" and ".notification.delivery-succeeded." in span:
        return "notified"
    return None


@dataclass
class Dispute:
    started_ns: int = 0
    accept_ns: int = 0
    ruled_call_ns: int = 0
    done: bool = False
    error: str = ""
    dispute_id: str = ""
    finished_ns: int = 0
    stage: str = "register"       # the step a failure happened in (the error names it)


@dataclass
class Step:
    offered_rate: float
    started: int = 0
    completed: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    throughput: float = 0.0
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    cpu_ms_per_dispute: dict[str, float] = field(default_factory=dict)
    rss_mib: dict[str, float] = field(default_factory=dict)
    backlog: float = 0.0
    lag: float = 0.0
    hops_per_dispute: float = 0.0
    sql: dict = field(default_factory=dict)   # statements per dispute (bench/sql.py)
    concurrency: int = 0          # a closed-loop step: flows at once (offered_rate is then 0)
    label: str = ""
    steady: bool | None = None    # a fixed-rate step: did the platform keep up (bench/stats.py is_steady)


_pcts = percentiles


def _proc_cpu(pid: int, children: bool = False) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    total = int(f[11]) + int(f[12]) + (int(f[13]) + int(f[14]) if children else 0)
    return total / tick


def infra_cpu() -> dict[str, float]:
    """PostgreSQL (the postmaster, its live backends and the ones it reaped) and the Kafka JVM."""
    out = {"postgres": 0.0, "kafka": 0.0}
    pg_pidfile = REPO / ".state" / "pg" / "data" / "postmaster.pid"
    if pg_pidfile.exists():
        master = int(pg_pidfile.read_text().split()[0])
        out["postgres"] = _proc_cpu(master, children=True)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                out["postgres"] += _proc_cpu(int(stat.parent.name))
    kafka_pidfile = REPO / ".state" / "kafka" / "kafka.pid"
    if kafka_pidfile.exists():
        out["kafka"] = _proc_cpu(int(kafka_pidfile.read_text().strip()))
    return out


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Fleet:
    """The service processes of one run, under labels: the province release (`routing`), with --scale
    also the second replicas (`routing#2`, same release, so the consumer groups share the partitions)
    and the region release (`routing@1505`, its own consumer groups and database)."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, LocalServices]] = []
        # Where pg_stat_statements is read (the stack's postgres database) and which databases count.
        self.sql_url = ""
        self.databases = ["liandiao_bench", "liandiao_bench_region"]

    def add(self, suffix: str, local: LocalServices) -> None:
        self.parts.append((suffix, local))

    def start(self) -> None:
        for _, local in self.parts:
            local.start()

    async def wait_serving(self, timeout: float) -> None:
        for _, local in self.parts:
            await local.wait_serving(timeout)

    def stop(self) -> None:
        for _, local in self.parts:
            local.stop()

    def labelled(self) -> list[tuple[str, str, LocalServices]]:
        return [(name + suffix, name, local) for suffix, local in self.parts for name in local.procs]

    def ports(self) -> list[int]:
        return [local.metrics_port(name) for _, name, local in self.labelled()]

    def cpu_seconds(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for suffix, local in self.parts:
            out |= {name + suffix: v for name, v in local.cpu_seconds().items()}
        return out

    def pids(self) -> dict[str, int]:
        return {label: local.procs[name].pid for label, name, local in self.labelled()}

    def address(self, label: str) -> str:
        return next(local.address(name) for lab, name, local in self.labelled() if lab == label)


class Stubs:
    """Which process the driver calls: routing and mediation of the dispute's own release (the region's
    for its prefecture under --scale), alternating between the replicas (any replica answers: they
    share the database); intake and confirmation of the province."""

    def __init__(self, fleet: Fleet) -> None:
        self.chans = {label: channel(fleet.address(label)) for label, _, _ in fleet.labelled()}
        self.intake = intake_pb2_grpc.IntakeServiceStub(self.chans["intake"])
        self.confirmation = confirmation_pb2_grpc.ConfirmationServiceStub(self.chans["confirmation"])
        self.personnel = personnel_pb2_grpc.PersonnelServiceStub(self.chans["personnel"])
        self._routing: dict[str, list] = {}
        self._mediation: dict[str, list] = {}
        for label in self.chans:
            base, _, region = label.partition("@")
            name = base.split("#")[0]
            if name == "routing":
                self._routing.setdefault(region, []).append(routing_pb2_grpc.RoutingServiceStub(self.chans[label]))
            if name == "mediation":
                self._mediation.setdefault(region, []).append(
                    mediation_pb2_grpc.MediationServiceStub(self.chans[label]))
        self._turn = 0

    def for_prefecture(self, prefecture: str) -> tuple:
        self._turn += 1
        region = prefecture if prefecture in self._routing else ""
        routing, mediation = self._routing[region], self._mediation[region]
        return routing[self._turn % len(routing)], mediation[self._turn % len(mediation)]

    async def close(self) -> None:
        for c in self.chans.values():
            await c.close()


class Flow:
    def __init__(self, stubs: Stubs, prov: province.Province, rng: random.Random):
        self.s, self.prov, self.rng = stubs, prov, rng

    async def one(self, d: Dispute) -> None:
        s = self.s
        try:
            req = province.dispute_request(self.rng, self.prov, source=self.rng.choice(
                [common_pb2.CASE_SOURCE_PARTY_APPLICATION, common_pb2.CASE_SOURCE_POLICE_REFERRAL]))
            d.started_ns = time.time_ns()
            reply = await s.intake.RegisterDispute(req, metadata=CLERK, timeout=60)
            d.dispute_id = reply.dispute.dispute_id
            routing, mediation = s.for_prefecture(reply.dispute.prefecture)
            d.stage = "offer"
            # The mediator opens their offers until this one is there, and accepts it.
            while True:
                try:
                    a = await routing.GetAssignment(routing_pb2.GetAssignmentRequest(dispute_id=d.dispute_id),
                                                    metadata=CLERK, timeout=30)
                except grpc.aio.AioRpcError as exc:
                    if exc.code() != grpc.StatusCode.NOT_FOUND:   # not placed yet
                        raise
                    await asyncio.sleep(0.05)
                    continue
                if a.status == routing_pb2.ASSIGNMENT_STATUS_OFFERED:
                    break
                if a.status not in (routing_pb2.ASSIGNMENT_STATUS_UNSPECIFIED,):
                    d.error = f"assignment {routing_pb2.AssignmentStatus.Name(a.status)}"
                    return
                await asyncio.sleep(0.05)
            me = token(Role.MEDIATOR, subject=a.mediator_id)
            d.accept_ns, d.stage = time.time_ns(), "accept"
            await routing.AcceptAssignment(routing_pb2.AcceptAssignmentRequest(
                dispute_id=d.dispute_id, mediator_id=a.mediator_id), metadata=me, timeout=30)
            while True:
                try:
                    case = await mediation.GetCase(mpb.GetCaseRequest(dispute_id=d.dispute_id), metadata=me,
                                                   timeout=30)
                    break
                except grpc.aio.AioRpcError as exc:
                    if exc.code() != grpc.StatusCode.NOT_FOUND:
                        raise
                    await asyncio.sleep(0.05)
            d.stage = "session"
            await hold_session(mediation, case, me, reached=True)
            d.stage = "agreement"
            await written_agreement(mediation, case, content_for(case, self.rng), me)
            case = await mediation.GetCase(mpb.GetCaseRequest(case_id=case.case_id), metadata=me, timeout=30)
            d.ruled_call_ns, d.stage = time.time_ns(), "confirmation"
            outcome, _ = await confirm.to_ruling(s.confirmation, case, confirm.court_for(case, self.prov))
            d.done = outcome == "ruled"
            d.finished_ns = time.time_ns()
            if not d.done:
                d.error = "application refused"
        except grpc.aio.AioRpcError as exc:
            d.error = f"{d.stage}: {exc.code().name}"


async def _open_loop(flow: Flow, disputes: list[Dispute], tasks: list[asyncio.Task], rate: float,
                     seconds: float) -> None:
    """Disputes start at `rate` per second whatever the platform does (an open system: people arrive)."""
    t0 = time.perf_counter()
    n = 0
    while (elapsed := time.perf_counter() - t0) < seconds:
        due = int(elapsed * rate) + 1
        while n < due:
            d = Dispute()
            disputes.append(d)
            tasks.append(asyncio.create_task(flow.one(d)))
            n += 1
        await asyncio.sleep(min(0.01, 1 / rate))


async def _closed_loop(flow: Flow, disputes: list[Dispute], tasks: list[asyncio.Task], concurrency: int,
                       seconds: float) -> None:
    """`concurrency` flows, each starting its next dispute when the last one came back: throughput is
    then what the platform gives, which is how the maximum is found."""
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop:
            d = Dispute()
            disputes.append(d)
            await flow.one(d)

    tasks.extend(asyncio.create_task(worker()) for _ in range(concurrency))
    await asyncio.sleep(seconds)


async def _step(flow: Flow, fleet: Fleet, sink: OtlpSink, seconds: float, drain: float, *, rate: float = 0,
                concurrency: int = 0, during=None) -> Step:
    """One step, open-loop at `rate` or closed-loop with `concurrency` flows. `during(seconds)` runs
    beside the load (the profiler, the memory sampler)."""
    step = Step(offered_rate=rate, concurrency=concurrency,
                label=f"{rate:g}/s" if rate else f"max N={concurrency}")
    ports = fleet.ports()
    consumed0 = sum(metrics.total(p, "liandiao_events_consumed_total") for p in ports)
    cpu0, infra0 = fleet.cpu_seconds(), infra_cpu()
    sql0 = await sql.snapshot(fleet.sql_url, fleet.databases)
    disputes: list[Dispute] = []
    tasks: list[asyncio.Task] = []
    t0, t0_ns = time.perf_counter(), time.time_ns()
    beside = asyncio.create_task(during(seconds)) if during else None
    if rate:
        await _open_loop(flow, disputes, tasks, rate, seconds)
    else:
        await _closed_loop(flow, disputes, tasks, concurrency, seconds)
    await asyncio.wait(tasks, timeout=drain)
    # Notification's last message (the ruling) and the spans arrive after the last call returns.
    await metrics.wait_drained(ports, stalled=30)
    await asyncio.sleep(2)
    if beside:
        await beside
    step.seconds = time.perf_counter() - t0
    step.started = len(disputes)
    step.completed = sum(d.done for d in disputes)
    for d in disputes:
        if d.error:
            step.errors[d.error] = step.errors.get(d.error, 0) + 1
    # Closed loop: disputes finished per second from the start to the last one's notice (the workers
    # start no new dispute after the window; the settling of spans and metrics after that is not load).
    last_ns = max((d.finished_ns for d in disputes if d.done), default=0)
    step.throughput = (step.completed / step.seconds if rate else
                       closed_loop_throughput(step.completed, t0_ns, last_ns, seconds))
    offered, opened, notified, flow_ms = [], [], [], []
    for d in disputes:
        t = sink.times(d.dispute_id) if d.done else {}
        if "offered" in t:
            offered.append((t["offered"][0] - d.started_ns) / 1e6)
        if "case_open" in t:
            opened.append((t["case_open"][0] - d.accept_ns) / 1e6)
        if "notified" in t and "ruled" in t:
            notified.append((t["notified"][1] - t["ruled"][0]) / 1e6)
            flow_ms.append((t["notified"][1] - d.started_ns) / 1e6)
    step.latency_ms = {"registration_to_assigned": _pcts(offered), "accepted_to_case_open": _pcts(opened),
                       "ruled_to_notified": _pcts(notified), "registration_to_notified": _pcts(flow_ms)}
    cpu1, infra1 = fleet.cpu_seconds(), infra_cpu()
    per = max(step.completed, 1)
    step.cpu_ms_per_dispute = {x: (cpu1[x] - cpu0.get(x, 0.0)) * 1000 / per for x in cpu1}
    step.cpu_ms_per_dispute["services_total"] = sum(step.cpu_ms_per_dispute.values())
    step.cpu_ms_per_dispute |= {x: (infra1[x] - infra0[x]) * 1000 / per for x in infra1}
    step.rss_mib = {x: rss_mib(pid) for x, pid in fleet.pids().items()}
    step.sql = sql.per_dispute(sql0, await sql.snapshot(fleet.sql_url, fleet.databases), step.completed)
    state = await metrics.flow_state(ports)
    step.backlog, step.lag = state.backlog, state.lag
    step.hops_per_dispute = (sum(metrics.total(p, "liandiao_events_consumed_total") for p in ports)
                             - consumed0) / max(step.started, 1)
    return step


async def _ramp(flow: Flow, fleet: Fleet, sink: OtlpSink, seconds: float, drain: float, ramp: Ramp) -> list[Step]:
    history: list[tuple[int, float]] = []
    steps: list[Step] = []
    while (n := ramp.next_concurrency(history)) is not None:
        step = await _step(flow, fleet, sink, seconds, drain, concurrency=n)
        steps.append(step)
        history.append((n, step.throughput))
        print(f"  closed loop N={n}: {step.completed} disputes ruled and notified, {step.throughput:.1f}/s", flush=True)
    return steps


def _table(steps: list[Step], floor: dict[str, float], beyond: list[dict] = (), seconds: float = 0) -> str:
    lines = [f"Whole flow, registration to the ruling's notice (2 cores shared by 6 services, PostgreSQL, Kafka "
             f"and the driver). Floor: {floor.get('hop_messages_per_s', 0):.0f} hop messages/s, "
             f"{floor.get('cpu_ms_per_hop', 0):.2f} ms CPU per hop ({floor.get('hops', 0)} hops chained).",
             f"{'step':>11} {'done/s':>7} {'vs floor':>8} {'reg→assigned p50/p95/p99 ms':>28} "
             f"{'accept→case p99':>15} {'ruled→notified p99':>18} {'CPU ms/dispute':>14} {'errors':>8}"]
    for s in steps:
        r = s.latency_ms.get("registration_to_assigned", {})
        floor_disputes = floor.get("hop_messages_per_s", 0) / max(s.hops_per_dispute, 1)
        ratio = s.throughput / floor_disputes if floor_disputes else 0
        lines.append(f"{s.label:>11} {s.throughput:>7.1f} {ratio:>8.0%} "
                     f"{r.get('p50', 0):>8.0f}/{r.get('p95', 0):.0f}/{r.get('p99', 0):<8.0f}      "
                     f"{s.latency_ms.get('accepted_to_case_open', {}).get('p99', 0):>15.0f} "
                     f"{s.latency_ms.get('ruled_to_notified', {}).get('p99', 0):>18.0f} "
                     f"{s.cpu_ms_per_dispute.get('services_total', 0):>14.1f} {sum(s.errors.values()):>8}")
    closed = [s for s in steps if s.concurrency]
    if closed:
        n, best = maximum([(s.concurrency, s.throughput) for s in closed])
        lines.append(f"Maximum (closed loop): {best:.1f} disputes/s at N={n} flows at once")
    unsteady = [s.label for s in steps if s.steady is False]
    if unsteady:
        lines.append("Not steady (the platform fell behind the offered rate): " + ", ".join(unsteady))
    for b in beyond:
        lines.append(f"{b['offered_rate']:g}/s: beyond capacity, not run (more than {CAPACITY_MARGIN - 1:.0%} over "
                     f"the maximum {b['maximum']:.1f}/s: a {seconds:g} s step would leave about "
                     f"{b['drain_seconds'] / 60:.1f} min of queue; --overload-seconds runs it anyway)")
    last = max(closed, key=lambda s: s.throughput) if closed else steps[-1]
    lines.append(f"CPU ms per dispute at {last.label}: " + ", ".join(
        f"{k} {v:.1f}" for k, v in last.cpu_ms_per_dispute.items()))
    lines.append("RSS MiB at the end: " + ", ".join(f"{k} {v:.0f}" for k, v in steps[-1].rss_mib.items()))
    lines.append(f"Outbox backlog {steps[-1].backlog:.0f}, consumer lag {steps[-1].lag:.0f}; "
                 f"{last.hops_per_dispute:.1f} event hops per dispute")
    if "statements" in last.sql:
        lines.append(f"SQL at {last.label}: {last.sql['statements']:.0f} statements per dispute, "
                     f"{last.sql['exec_ms']:.1f} ms executing; most called:")
        lines += [f"  {t['calls']:7.2f}  {t['statement']}" for t in last.sql["top"][:8]]
    elif last.sql.get("error"):
        lines.append(f"SQL statements not counted: {last.sql['error']}")
    lines.append(f"Targets (issue 12): ≥ {TARGET_FLOOR_RATIO:.0%} of the floor; p99 registration→assigned ≤ "
                 f"{TARGET_P99_MS:.0f} ms at 100/s; ≤ {TARGET_CPU_MS:.0f} ms CPU per dispute over all services")
    return "\n".join(lines)


def _plot(steps: list[Step], path: Path) -> bool:
    try:
        import matplotlib  # installed by `make bench` only (bench/requirements.txt)
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fixed = [s for s in steps if s.offered_rate]
    closed = [s for s in steps if s.concurrency]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key, label in (("registration_to_assigned", "registration → assigned"),
                       ("accepted_to_case_open", "accepted → case open"),
                       ("ruled_to_notified", "ruled → notified")):
        line = ax.plot([s.offered_rate for s in fixed],
                       [s.latency_ms.get(key, {}).get("p99", float("nan")) for s in fixed], marker="o",
                       label=f"{label} p99")
        if closed:   # the closed-loop steps sit at the throughput they reached
            ax.plot([s.throughput for s in closed], [s.latency_ms.get(key, {}).get("p99", float("nan"))
                                                     for s in closed], marker="x", linestyle=":",
                    color=line[0].get_color())
    ax.set_xlabel("offered disputes/s (o: fixed rates; x: closed loop, at its throughput)")
    ax.set_ylabel("latency (ms)")
    ax.set_yscale("log")
    ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return True


def _stack_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for line in (REPO / ".state" / "stack.env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    return env


# Ports of the bench's processes (LocalServices adds LIANDIAO_PORT_OFFSET, so each checkout's stack
# has its own): the province release, the second replicas, the region release.
BASE_PORT, METRICS_BASE_PORT = 23060, 9760
REPLICA_SHIFT, REGION_SHIFT = 10, 20


async def _fleet(args: argparse.Namespace, env: dict[str, str], admin: str, sink: OtlpSink) -> Fleet:
    stamp = int(time.time())
    common = {**env, "LIANDIAO_RELEASE": f"bench-{stamp}", "LIANDIAO_LOG_LEVEL": "WARNING",
              "LIANDIAO_OTLP_ENDPOINT": sink.endpoint, "LIANDIAO_OUTBOX_POLL_MS": "100", "LIANDIAO_ENV": "development",
              "LIANDIAO_TOPIC_PARTITIONS": "6" if args.scale else "3"}
    logs = REPO / ".state" / "logs" / "bench"
    fleet = Fleet()
    if not args.scale:
        fleet.add("", LocalServices(env=common, log_dir=logs, base_port=BASE_PORT, metrics_base_port=METRICS_BASE_PORT))
        return fleet
    split = ("routing", "mediation")
    rest = tuple(s for s in LocalServices.services if s not in split)
    province_rm = {**common, "LIANDIAO_EXCLUDE_PREFECTURES": REGION}
    fleet.add("", LocalServices(env=common, log_dir=logs, base_port=BASE_PORT, metrics_base_port=METRICS_BASE_PORT,
                                services=rest))
    fleet.add("", LocalServices(env=province_rm, log_dir=logs, base_port=BASE_PORT,
                                metrics_base_port=METRICS_BASE_PORT, services=split))
    fleet.add("#2", LocalServices(env=province_rm, log_dir=logs / "replica", base_port=BASE_PORT + REPLICA_SHIFT,
                                  metrics_base_port=METRICS_BASE_PORT + REPLICA_SHIFT, services=split))
    region_db = env["LIANDIAO_DATABASE_URL"].replace("/liandiao_bench", "/liandiao_bench_region")
    await reset.ensure_database(admin, "liandiao_bench_region")
    await reset.drop_schemas(region_db)
    fleet.add(f"@{REGION}", LocalServices(
        env={**common, "LIANDIAO_DATABASE_URL": region_db, "LIANDIAO_PREFECTURES": REGION,
             "LIANDIAO_RELEASE": f"bench-{REGION}-{stamp}"},
        log_dir=logs / "region", base_port=BASE_PORT + REGION_SHIFT, metrics_base_port=METRICS_BASE_PORT + REGION_SHIFT,
        services=split))
    return fleet


async def _roster_projected(fleet: Fleet, prov: province.Province) -> None:
    """Each routing release has the roster it places from: the province's replicas share its events (one
    consumer group, one database), a region's release takes its prefecture's and the province shard's."""
    releases: dict[str, list[int]] = {}
    for label, name, local in fleet.labelled():
        if name == "routing":
            releases.setdefault(label.partition("@")[2], []).append(local.metrics_port(name))
    # Under --scale the province release leaves out the region's shard and both take the province
    # shard `00`: all person events are in when every release has some and together they have them all.
    def counts() -> list[float]:
        return [sum(metrics.total(p, "liandiao_events_consumed_total", consumer="routing.roster") for p in ports)
                for ports in releases.values()]
    deadline = time.monotonic() + 120
    while not (all(counts()) and sum(counts()) >= prov.person_events):
        if time.monotonic() > deadline:
            raise TimeoutError(f"routing did not project the roster: {counts()} of {prov.person_events}")
        await asyncio.sleep(0.2)
    if len(releases) > 1:
        await asyncio.sleep(3)    # the province shard's events may still be on their way to the other release


def _scale_note(steps: list[Step]) -> str:
    return ("Scale (--scale): routing and mediation run two replicas each on 6 partitions per topic (the consumer "
            f"groups share them) and a release of their own for {REGION} (its database and consumer groups) beside "
            "the province release, which leaves it out. On two cores this measures the overhead of more processes, "
            "partitions and consumer groups, not added capacity: compare throughput and CPU per dispute with a "
            "run without --scale. CPU ms per dispute by process at the best step: " + ", ".join(
                f"{k} {v:.1f}" for k, v in max(steps, key=lambda s: s.throughput).cpu_ms_per_dispute.items()))


async def _soak(flow: Flow, fleet: Fleet, sink: OtlpSink, args: argparse.Namespace) -> tuple[Step, dict]:
    series: dict[str, list[tuple[float, float]]] = {label: [] for label in fleet.pids()}

    async def sample(seconds: float) -> None:
        t0 = time.perf_counter()
        while (at := time.perf_counter() - t0) < seconds:
            for label, pid in fleet.pids().items():
                series[label].append((round(at), rss_mib(pid)))
            await asyncio.sleep(min(args.sample_seconds, max(0.1, seconds - at)))
        for label, pid in fleet.pids().items():
            series[label].append((round(time.perf_counter() - t0), rss_mib(pid)))

    step = await _step(flow, fleet, sink, args.soak * 60, args.drain, rate=args.soak_rate, during=sample)
    step.label = f"soak {args.soak_rate:.0f}/s"
    verdicts = {label: memory_verdict(s) for label, s in series.items()}
    times = [t for t, _ in next(iter(series.values()))]
    lines = [f"Soak: {args.soak_rate:.0f} disputes/s offered for {args.soak:g} min, {step.completed} ruled and "
             f"notified; RSS MiB every {args.sample_seconds:g} s:",
             f"{'s':>6} " + " ".join(f"{label:>13}" for label in series)]
    for i, t in enumerate(times):
        lines.append(f"{t:>6.0f} " + " ".join(f"{series[label][i][1]:>13.1f}" for label in series))
    lines.append("memory: " + ", ".join(f"{label} {v}" for label, v in verdicts.items())
                 + " (flat: the second half's fitted line moves < 8 MiB; the target is flat over 30 min at 100/s)")
    print("\n".join(lines))
    return step, {"rss_series": series, "verdicts": verdicts}


def _database(url: str, name: str, query: str) -> str:
    """The same server's database ``name``, with the connection options ``query``."""
    return url.split("?")[0].rsplit("/", 1)[0] + "/" + name + query


async def main_async(args: argparse.Namespace) -> None:
    env = _stack_env()
    admin = env["LIANDIAO_DATABASE_URL"]
    # Plain transport, as the docstring says: the stack's PostgreSQL also offers TLS, and asyncpg's
    # default (sslmode=prefer) takes it, so without this every query paid Python-level TLS
    # (asyncio's sslproto: 17 % of notification's samples in the first profile, bench/README.md).
    plain = "" if "sslmode=" in admin else ("&" if "?" in admin else "?") + "sslmode=disable"
    admin += plain
    env["LIANDIAO_DATABASE_URL"] = _database(admin, "liandiao_bench", plain)
    await reset.ensure_database(admin, "liandiao_bench")
    await reset.drop_schemas(env["LIANDIAO_DATABASE_URL"])
    await reset.delete_topics(env["LIANDIAO_KAFKA_BOOTSTRAP"])
    # Earlier floors' topics (bench/floor.py now deletes its own): every client's metadata refresh
    # decodes every topic of the cluster.
    await reset.delete_topics(env["LIANDIAO_KAFKA_BOOTSTRAP"], prefix="bench.floor.")
    await ensure_topics(env["LIANDIAO_KAFKA_BOOTSTRAP"], PREFECTURES, partitions=6 if args.scale else 3)
    sink = OtlpSink().start()
    sink.milestone = milestone
    fleet = await _fleet(args, env, admin, sink)
    fleet.sql_url = _database(admin, "postgres", plain)
    fleet.start()
    steps: list[Step] = []
    report: dict = {"options": {k: v for k, v in vars(args).items()}}
    out = REPO / ".state" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        await fleet.wait_serving(180)
        stubs = Stubs(fleet)
        prov = await province.seed_province(stubs.personnel, OPERATOR, PREFECTURES)
        await asyncio.to_thread(confirm.load_courts, prov, env, REPO / ".state")
        await _roster_projected(fleet, prov)
        flow = Flow(stubs, prov, random.Random(12))
        # Warm-up: connections, caches, first transactions (with --rows, also the templates of the copies).
        await _step(flow, fleet, sink, 5 if args.rows else 3, args.drain, rate=4 if args.rows else 2)
        if args.rows:
            report["growth"] = await growth.prefill(env["LIANDIAO_DATABASE_URL"], args.rows, args.year_disputes,
                                                    PREFECTURES)
            print(growth.describe(report["growth"]), flush=True)
        scans0 = await growth.table_scans(env["LIANDIAO_DATABASE_URL"]) if args.rows else {}
        if args.soak:   # its step joins the table (with --scale too)
            soak_step, report["soak"] = await _soak(flow, fleet, sink, args)
            steps.append(soak_step)
        # The maximum first (closed loop), so that the fixed rates know which of them the platform can
        # carry: those run until steady, the rest are reported beyond capacity (bench/stats.py).
        if args.ramp and not args.soak:
            if args.concurrency:
                steps.append(await _step(flow, fleet, sink, args.seconds, args.drain, concurrency=args.concurrency))
            else:
                steps += await _ramp(flow, fleet, sink, args.seconds, args.drain, Ramp(max_concurrency=args.max_concurrency))
        closed = [s for s in steps if s.concurrency]
        best = max((s.throughput for s in closed), default=None)
        asked = [float(r) for r in args.rates.split(",") if r]
        fractions = [float(f) for f in args.fractions.split(",") if f]
        for planned in plan_rates(asked, fractions, best) if not args.soak else []:
            if planned.within_capacity or args.overload_seconds:
                seconds = args.seconds if planned.within_capacity else args.overload_seconds
                step = await _step(flow, fleet, sink, seconds, args.drain, rate=planned.rate)
                step.steady = is_steady(planned.rate, step.throughput, step.started, step.completed)
                if not planned.within_capacity:
                    step.label = f"{planned.rate:g}/s over"
                steps.append(step)
                print(f"  offered {planned.rate:g}/s: {step.completed} of {step.started} disputes ruled and "
                      f"notified, {step.throughput:.1f}/s ({'steady' if step.steady else 'not steady'})", flush=True)
            else:
                skipped = {"offered_rate": planned.rate, "maximum": best,
                           "drain_seconds": drain_seconds(planned.rate, best or 0.0, args.seconds)}
                report.setdefault("beyond_capacity", []).append(skipped)
                print(f"  offered {planned.rate:g}/s: beyond capacity (maximum {best:.1f}/s); not run", flush=True)
        if args.rows:
            dsn = env["LIANDIAO_DATABASE_URL"]
            report["growth"]["scans"] = growth.scan_delta(scans0, await growth.table_scans(dsn))
            report["growth"]["plans"] = await growth.plans(dsn)
            print(growth.describe_plans(report["growth"]), flush=True)
        if args.profile:
            closed = [s for s in steps if s.concurrency] or steps
            best = max(closed, key=lambda s: s.throughput)
            target = args.profile if args.profile != "auto" else profile.hottest(best.cpu_ms_per_dispute)
            pids = fleet.pids()
            n = best.concurrency or max(2, round(best.throughput))
            print(f"  profiling {target} (pid {pids[target]}) at N={n} for {args.seconds:g} s", flush=True)
            prof: dict = {}

            async def record(seconds: float) -> None:
                prof.update(await profile.record(pids[target], seconds, out / f"profile-{target}-{stamp}"))

            step = await _step(flow, fleet, sink, args.seconds, args.drain, concurrency=n, during=record)
            step.label = f"prof N={n}"
            steps.append(step)
            report["profile"] = {"service": target, **prof}
            print(profile.describe(report["profile"]), flush=True)
        await stubs.close()
    finally:
        fleet.stop()
        sink.stop()
    report["steps"] = [asdict(s) for s in steps]
    if steps:
        hops = max(1, round(max(s.hops_per_dispute for s in steps)))
        infra0 = infra_cpu()
        done = subprocess.run([sys.executable, str(REPO / "bench" / "floor.py"), "--database-url", admin,
                               "--bootstrap", env["LIANDIAO_KAFKA_BOOTSTRAP"], "--hops", str(hops),
                               "--messages", str(args.floor_messages)], capture_output=True, text=True, check=True)
        floor = json.loads(done.stdout.strip().splitlines()[-1])
        infra1 = infra_cpu()
        floor["infra_cpu_ms_per_hop"] = {k: (infra1[k] - infra0[k]) * 1000 / (args.floor_messages * hops)
                                         for k in infra1}
        report["floor"] = floor
        print("\n" + _table(steps, floor, report.get("beyond_capacity", []), args.seconds))
        if args.scale:
            print(_scale_note(steps))
        if args.rows:
            print(growth.latency_note(steps, args.rows))
    path = out / f"flow-{stamp}.json"
    path.write_text(json.dumps(report, indent=1, default=str))
    png = out / f"flow-{stamp}.png"
    print(f"\nJSON: {path}" + (f"\nplot: {png}" if steps and _plot(steps, png) else ""))


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench", description="The whole flow against the raw floor "
                                     "(bench/README.md).")
    parser.add_argument("--rates", default="25,50,100,200,400", help="offered disputes per second, comma-separated "
                        "(empty: none); those above the measured maximum are reported beyond capacity")
    parser.add_argument("--fractions", default="0.25,0.5,0.75,0.9", help="fixed rates as fractions of the "
                        "closed-loop maximum, comma-separated (empty: none; needs the ramp)")
    parser.add_argument("--overload-seconds", type=float, default=0, help="run the rates beyond capacity too, "
                        "this long each (they only build queues)")
    parser.add_argument("--seconds", type=float, default=30, help="how long each step lasts")
    parser.add_argument("--drain", type=float, default=120, help="how long to wait for a step's last disputes")
    parser.add_argument("--floor-messages", type=int, default=2000)
    parser.add_argument("--no-ramp", dest="ramp", action="store_false",
                        help="skip the closed-loop ramp to the maximum")
    parser.add_argument("--concurrency", type=int, default=0,
                        help="one closed-loop step with this many flows instead of the ramp")
    parser.add_argument("--max-concurrency", type=int, default=256, help="where the ramp stops at the latest")
    parser.add_argument("--scale", action="store_true", help="two replicas of routing and mediation on 6 partitions, "
                        f"and a release of their own for {REGION} beside the province release")
    parser.add_argument("--rows", choices=sorted(growth.FACTORS), help="pre-fill the database with 10x or 100x a "
                        "year of a province's disputes, then print the hot queries' plans")
    parser.add_argument("--year-disputes", type=int, default=growth.YEAR_DISPUTES,
                        help="what a year of a province's disputes is (--rows multiplies it)")
    parser.add_argument("--profile", metavar="SERVICE", help="py-spy one process (e.g. routing, or auto: the "
                        "hottest) during a closed-loop step at the maximum; writes .state/bench/profile-*")
    parser.add_argument("--soak", type=float, default=0, metavar="MINUTES",
                        help="one rate (--soak-rate) for this long, RSS sampled every --sample-seconds")
    parser.add_argument("--soak-rate", type=float, default=25)
    parser.add_argument("--sample-seconds", type=float, default=30)
    args = parser.parse_args()
    if args.profile and not args.ramp and not args.concurrency:
        parser.error("--profile needs the maximum: leave the ramp on or give --concurrency")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
