"""One chaos run, start to finish: the chaos stack, the six services, a seeded
prefecture, the traffic and the faults at the same time, quiescence, the checks,
the replay of the dead letters, the checks again, and the table."""

from __future__ import annotations

import asyncio
import importlib
import os
import random
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from liandiao.common.v1 import common_pb2 as c
from liandiao.devtools import metrics, province, reset
from liandiao.devtools.chaos import checks, poison
from liandiao.devtools.chaos.casework import Journey, load_courts
from liandiao.devtools.chaos.checks import Invariant
from liandiao.devtools.chaos.faults import Health, Injector, Supervisor
from liandiao.devtools.chaos.plan import Fault, Options, expected_seconds, make_plan
from liandiao.devtools.chaos.report import Report
from liandiao.devtools.chaos.stack import ChaosStack
from liandiao.devtools.chaos.workload import OPERATOR, Answers, Desk, Dispute, Stubs, follow, register
from liandiao.devtools.localrun import REPO, SERVICES, LocalServices
from liandiao.events.admin import ensure_topics
from liandiao.routing.v1 import routing_pb2

# Ports of the chaos run's services (plus LIANDIAO_PORT_OFFSET), apart from the demo's,
# the end-to-end tests' and the benchmarks'.
BASE_PORT, METRICS_BASE_PORT = 25060, 9860
PATIENCE = 300.0     # how long a counter client keeps retrying one registration
REPLAYS_AT_ONCE = 6


def service_consumers(services: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Consumer name -> the events it takes, from each service's own registrations."""
    out: dict[str, tuple[str, ...]] = {}
    for s in services:
        out.update(importlib.import_module(f"services.{s}.main").app.consumers)
    return out


class Backlog:
    """How much the platform has on its hands, as the people at the counters notice it:
    disputes waiting for their mediator, deliveries waiting to go out."""

    def __init__(self, dsn: str, desk: Desk, limit: int):
        self.dsn, self.desk, self.limit = dsn, desk, limit
        self.deliveries = 0

    def full(self) -> bool:
        return self.desk.waiting() > self.limit or self.deliveries > 4 * self.limit

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                conn = await asyncpg.connect(self.dsn, timeout=2)
                try:
                    self.deliveries = await conn.fetchval(
                        "select count(*) from notification.deliveries where status = 'pending'")
                finally:
                    await conn.close()
            except Exception:  # noqa: BLE001 - the database is one of the faults: keep the last count
                # (asyncpg raises more than PostgresError when the server goes mid-query, e.g.
                # InternalClientError "another operation is in progress": the chaos run saw it)
                pass
            try:
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            except TimeoutError:
                pass


class Pacer:
    """Spreads the registrations over the fault schedule: the rate is what is left to
    register over what the remaining faults are expected to take, so every fault
    meets traffic. A fixed rate, or none (negative), when the options say so. The
    counters also hold back while the backlog is full, so that the recovery times
    measure the faults rather than an overload of the machine (not when flat out)."""

    def __init__(self, options: Options, remaining_fault_seconds: Callable[[], float], backlog: Backlog):
        self.fixed, self.left = options.rate, options.count
        self.remaining, self.backlog = remaining_fault_seconds, backlog
        self.next_at = time.monotonic()
        self.held = 0.0     # seconds spent holding back

    async def wait(self) -> None:
        self.left -= 1
        if self.fixed < 0:
            return
        started = time.monotonic()
        while self.backlog.full():
            await asyncio.sleep(0.2)
        self.held += time.monotonic() - started
        seconds = self.remaining()
        if self.fixed == 0 and seconds <= 0:
            return   # no fault left: the rest as fast as the counters go
        rate = self.fixed or max(self.left, 1) / seconds
        now = time.monotonic()
        if self.next_at > now:
            await asyncio.sleep(self.next_at - now)
        self.next_at = max(self.next_at, now) + 1 / rate


async def run(options: Options, out: Callable[[str], None] = print) -> Report:
    stack = ChaosStack()
    report = Report(options)
    plan = make_plan(options)
    started = time.monotonic()
    phase = time.monotonic()

    def lap(name: str) -> None:
        nonlocal phase
        report.timings[name] = time.monotonic() - phase
        phase = time.monotonic()

    out(f"• chaos stack: PostgreSQL 127.0.0.1:{stack.pg_port}, Kafka {stack.bootstrap}, state in {stack.state}")
    try:
        await stack.wipe()
        await stack.up()
        await _prepare(stack, options.prefectures)
        release = f"chaos-{uuid.uuid4().hex[:8]}"
        log_dir = stack.state / "logs"
        for old in log_dir.glob("*.log"):
            old.unlink()
        local = LocalServices(env={
            "LIANDIAO_DATABASE_URL": stack.dsn, "LIANDIAO_KAFKA_BOOTSTRAP": stack.bootstrap,
            "LIANDIAO_RELEASE": release, "LIANDIAO_OUTBOX_POLL_MS": "200", "LIANDIAO_ROUTING_SWEEP_SECONDS": "1",
            "LIANDIAO_OTLP_ENDPOINT": "", "LIANDIAO_LOG_LEVEL": "INFO"},
            log_dir=log_dir, base_port=BASE_PORT, metrics_base_port=METRICS_BASE_PORT, services=options.services)
        report.log_dir = log_dir
        local.start()
        try:
            await _run_with_services(options, plan, stack, local, release, report, started, lap, out)
        finally:
            codes = local.stop()
            bad = {s: code for s, code in codes.items() if code not in (0, None)}
            if bad:
                out(f"• services stopped; exit codes other than 0: {bad}")
    finally:
        if not options.keep_stack:
            await stack.down()
        lap("stop")
    return report


async def _prepare(stack: ChaosStack, prefectures: Sequence[str]) -> None:
    """An empty database of its own and the prefectures' topics, nothing else."""
    await reset.ensure_database(stack.admin_dsn, stack.database)
    await reset.drop_schemas(stack.dsn)
    await reset.delete_topics(stack.bootstrap)
    await ensure_topics(stack.bootstrap, list(prefectures), partitions=3)


@dataclass
class Scene:
    """What the driving and the checking share."""
    options: Options
    stack: ChaosStack
    local: LocalServices
    release: str
    health: Health
    consumers: dict[str, tuple[str, ...]]
    injected: list[poison.Poison] = field(default_factory=list)


async def _run_with_services(options: Options, plan: tuple[Fault, ...], stack: ChaosStack, local: LocalServices,
                             release: str, report: Report, started: float, lap: Callable[[str], None],
                             out: Callable[[str], None]) -> None:
    health = Health(local)
    if await health.wait_serving(timeout=120) is None:
        raise RuntimeError(f"the services did not become SERVING: {await health.all()}; logs in {local.log_dir}")
    lap("stack and services up")
    scene = Scene(options, stack, local, release, health, service_consumers(local.services))
    stubs = Stubs(local)
    try:
        await _drive(scene, plan, stubs, report, started, lap, out)
    finally:
        await stubs.close()
    quiet = await _quiesce(stack, health, release, scene.consumers, options.quiesce_timeout)
    lap("quiescence")
    out(f"• quiescent: {quiet}; checking")
    await _check(scene, report)
    lap("checks and replay")
    await health.close()


async def _drive(scene: Scene, plan: tuple[Fault, ...], stubs: Stubs, report: Report, started: float,
                 lap: Callable[[str], None], out: Callable[[str], None]) -> None:
    """The traffic and the faults at the same time, until every dispute is settled."""
    options, local = scene.options, scene.local
    answers = Answers()
    report.answers = answers.codes
    prov = await province.seed_province(stubs.personnel, OPERATOR, list(options.prefectures),
                                        mediators_per_county=options.mediators_per_county, townships_per_county=2)
    await _roster_projected(local.metrics_port("routing"), prov.person_events)
    courts = await load_courts(scene.stack.dsn, prov)
    lap("province seeded")
    out(f"• {len(prov.counties)} counties, {len(prov.mediators)} mediators; {len(plan)} faults planned; "
        f"registering {options.count} disputes")

    rng, cases_rng = random.Random(options.seed), random.Random(options.seed + 3)
    report.disputes = [Dispute(province.dispute_request(rng, prov), decline_first=rng.random() < options.decline_share)
                       for _ in range(options.count)]
    for d in report.disputes:   # the back half, drawn apart so that the front half stays as it was
        if cases_rng.random() < options.casework_share:
            d.journey = Journey.draw(cases_rng)
    probe_rng, jitter = random.Random(options.seed + 1), random.Random(options.seed + 2)
    desk = Desk(stubs, answers, courts=courts)
    supervisor = Supervisor(local, lambda: time.monotonic() - started)

    async def probe(patience: float) -> float | None:
        d = Dispute(province.dispute_request(probe_rng, prov, source=c.CASE_SOURCE_PARTY_APPLICATION), probe=True)
        report.probes.append(d)
        try:
            return await follow(stubs, answers, d, jitter, patience)
        finally:
            if d.assignment not in (routing_pb2.ASSIGNMENT_STATUS_ACCEPTED, routing_pb2.ASSIGNMENT_STATUS_UNASSIGNED):
                desk.add(d)    # not done within its patience: the mediators take it on

    async def inject_poison() -> int:
        sent = await poison.inject(scene.stack.bootstrap, scene.consumers, options.prefectures[0])
        scene.injected.extend(sent)
        return len(sent)

    # A probe is given half as long again as its fault's timeout: a late one still says when.
    injector = Injector(scene.stack, supervisor, scene.health, lambda timeout: probe(timeout * 1.5), inject_poison,
                        lambda: time.monotonic() - started, options.recover_timeout)
    backlog = Backlog(scene.stack.dsn, desk, options.max_waiting)
    pacer = Pacer(options, lambda: sum(expected_seconds(f) for f in plan[len(injector.outcomes):]), backlog)
    stop = asyncio.Event()
    inputs_done = asyncio.Event()
    helpers = [asyncio.create_task(supervisor.run(stop)), asyncio.create_task(backlog.run(stop))]
    desk_task = asyncio.create_task(desk.run(inputs_done, patience=options.recover_timeout))
    faults = asyncio.create_task(injector.run(plan))
    await _register_all(report.disputes, pacer, options.counters, stubs, answers, desk, jitter, out)
    lap("registrations")
    await faults
    if injector.late:   # probes still going after their fault's timeout: a little longer, not for ever
        await asyncio.wait(injector.late, timeout=options.recover_timeout)
        for t in injector.late:
            t.cancel()
    inputs_done.set()
    lap("faults (after the last registration)")
    await desk_task
    stop.set()
    await asyncio.gather(*helpers)
    report.held_seconds = pacer.held
    report.outcomes, report.exits, report.kills = injector.outcomes, supervisor.exits, supervisor.kills
    lap("mediators' answers")


async def _check(scene: Scene, report: Report) -> None:
    """Every invariant, from the services' tables and the topics; the replay between."""
    everyone = report.disputes + report.probes
    snap = await checks.snapshot(scene.stack.dsn, scene.local.services)
    messages = await checks.read_topics(scene.stack.bootstrap)
    report.tally.resent = checks.resent_deliveries(scene.local.log_dir / "notification.log")
    report.poison = checks.poison_text(scene.injected)
    dlq, real = checks.dead_letters(snap, messages, scene.injected)
    report.invariants = [
        checks.registrations(everyone),
        checks.journeys(everyone, snap, report.tally),
        *([checks.casework(everyone, snap, report.casework), checks.across_services(snap),
           checks.notified(snap, report.casework)] if set(checks.BACK_HALF) <= set(scene.local.services) else []),
        checks.published_only_committed(snap, messages, report.tally),
        checks.applied_once(snap, messages, scene.consumers),
        dlq,
        await _replay(scene, real, messages),
        await _at_rest(scene),
        _recovered(report),
    ]


async def _roster_projected(routing_metrics: int, person_events: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            seen = metrics.total(routing_metrics, "liandiao_events_consumed_total", consumer="routing.roster",
                                 outcome="processed")
        except OSError:
            seen = 0
        if seen >= person_events:
            return
        await asyncio.sleep(0.3)
    raise RuntimeError(f"routing did not project the seeded roster ({person_events} person events) in {timeout}s")


async def _register_all(disputes: list[Dispute], pacer: Pacer, counters: int, stubs: Stubs, answers: Answers,
                        desk: Desk, jitter: random.Random, out: Callable[[str], None]) -> None:
    sem = asyncio.Semaphore(counters)
    tasks: list[asyncio.Task] = []
    last_said = time.monotonic()

    async def one(d: Dispute) -> None:
        try:
            await register(stubs, answers, d, PATIENCE, jitter)
        finally:
            sem.release()
        desk.add(d)

    for n, d in enumerate(disputes, start=1):
        await pacer.wait()
        await sem.acquire()
        tasks.append(asyncio.create_task(one(d)))
        if time.monotonic() - last_said > 30:
            out(f"  … {n} registrations sent, {len(desk.finished)} accepted by their mediators")
            last_said = time.monotonic()
    await asyncio.gather(*tasks)


async def _quiesce(stack: ChaosStack, health: Health, release: str, consumers: Mapping[str, Sequence[str]],
                   timeout: float) -> str:
    """Waits until nothing moves: outboxes empty, no delivery pending, every consumer
    group at the end of its topics, all SERVING, and the counts unchanged over two looks."""
    deadline = time.monotonic() + timeout
    last: tuple | None = None
    begun = time.monotonic()
    state = "not reached"
    while time.monotonic() < deadline:
        try:
            counts = await _counts(stack.dsn)
            lag = await checks.group_lag(stack.bootstrap, release, consumers)
        except (OSError, asyncpg.PostgresError) as exc:
            state = f"not reached ({exc})"
            await asyncio.sleep(1)
            continue
        serving = all(v == "SERVING" for v in (await health.all()).values())
        now = (counts, tuple(sorted(lag.items())))
        idle = counts[0] == 0 and counts[1] == 0 and not any(lag.values()) and serving
        if idle and now == last:
            return f"after {time.monotonic() - begun:.0f}s"
        state = (f"not reached in {timeout:.0f}s: outbox backlog {counts[0]}, deliveries pending {counts[1]}, "
                 f"lag {sum(lag.values())}, {'all' if serving else 'not all'} SERVING")
        last = now
        await asyncio.sleep(2)
    return state


async def _counts(dsn: str) -> tuple[int, ...]:
    conn = await asyncpg.connect(dsn)
    try:
        backlog = sum([await conn.fetchval(f"select count(*) from {s}.outbox where published_at is null "
                                           f"and {checks.parked_expr(await checks.has_parking(conn, s))} is not true")
                       for s in SERVICES])
        pending = await conn.fetchval("select count(*) from notification.deliveries where status = 'pending'")
        inbox = sum([await conn.fetchval(f"select count(*) from {s}.inbox")
                     for s in SERVICES])
        return backlog, pending, inbox
    finally:
        await conn.close()


async def _replay(scene: Scene, real: Sequence[checks.Message], before: Sequence[checks.Message]) -> Invariant:
    """Replays every dead-letter topic with the operator's command (several at once, as an
    operator's loop would); afterwards every real event that was there is applied by
    its consumer, and the poison, still poison, is dead-lettered again: once by each
    consumer of its topic for every copy replayed onto it (a replay goes back to the
    original topic, which every consumer of it reads)."""
    name = "the replay command drains the dead-letter topics"
    # What the command replays: each original record once (a dead letter written twice by a
    # consumer killed between publishing and recording it goes back once; checks.dead_letters).
    origins: dict[str, set[tuple[str | None, str | None, int]]] = {}
    for m in before:
        if ".dlq." in m.topic:
            offset = m.header("dlq-original-offset")
            origins.setdefault(m.topic, set()).add(
                (m.header("dlq-original-partition"), offset, -1 if offset is not None else m.offset))
    on_dlq = {topic: len(seen) for topic, seen in origins.items()}
    stack = scene.stack
    if not on_dlq:
        return Invariant(name, not scene.injected, "nothing on the dead-letter topics to replay")
    # Several at once, as an operator's loop would, but not 27 interpreters starting together on
    # two shared cores (each took more than a minute to import its libraries then).
    gate = asyncio.Semaphore(REPLAYS_AT_ONCE)

    async def replay(topic: str, n: int) -> str:
        async with gate:
            return await _replay_one(stack, topic, n)

    results = await asyncio.gather(*(replay(topic, n) for topic, n in sorted(on_dlq.items())))
    failures = [r for r in results if r]
    replayed = sum(n for (topic, n), r in zip(sorted(on_dlq.items()), results, strict=True) if not r)
    await _quiesce(stack, scene.health, scene.release, scene.consumers, scene.options.quiesce_timeout / 2)
    snap = await checks.snapshot(stack.dsn)
    after = await checks.read_topics(stack.bootstrap)
    inboxes = {(r["consumer"], r["event_id"]) for rows in snap.inbox.values() for r in rows}
    unapplied = [m for m in real if (m.header("dlq-consumer") or "", m.header("event-id") or "") not in inboxes]
    again, _ = checks.dead_letters(snap, after, scene.injected)
    if unapplied:
        failures.append(f"{len(unapplied)} replayed real events still not applied")
    if not again.ok:
        failures.append("after the replay: " + again.detail)
    return Invariant(name, not failures, f"{replayed} messages replayed from {len(on_dlq)} topics, "
                     f"{len(real)} of them real events" + ("; " + "; ".join(failures) if failures else
                                                           "; every replayed poison copy dead-lettered again by each consumer of its topic, "
                                                           "nothing else"))


async def _replay_one(stack: ChaosStack, topic: str, n: int) -> str:
    """The operator's command for one dead-letter topic; "" when it replayed all ``n``.
    --max: exactly the messages there now, not a poison copy another consumer of the
    same topic dead-letters again meanwhile (the replays run at the same time)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "liandiao.events.admin", "--bootstrap", stack.bootstrap, "replay", topic,
        "--max", str(n), cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env=_pythonpath_env())
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    except TimeoutError:
        proc.kill()
        return f"{topic}: no answer in 120s"
    text = output.decode(errors="replace").strip().splitlines()
    said = text[-1] if text else ""
    if proc.returncode != 0 or not said.startswith(f"{n} message"):
        return f"{topic}: exit {proc.returncode}, '{said[:120]}'"
    return ""


def _pythonpath_env() -> dict[str, str]:
    # A local run is development (as in localrun): the replay reads the dead letters with the dev key.
    return {"LIANDIAO_ENV": "development", **os.environ, "PYTHONPATH": f"{REPO / 'libs'}{os.pathsep}{REPO}"}


async def _at_rest(scene: Scene) -> Invariant:
    """Health, outbox (the table and the metric, which is measured every few seconds,
    so it is given ten to agree), parked rows, lag and pending deliveries."""
    stack, local = scene.stack, scene.local
    states = await scene.health.all()
    snap = await checks.snapshot(stack.dsn, local.services)
    backlog, parked = snap.backlog(), snap.parked()
    ports = {s: local.metrics_port(s) for s in local.services}
    metric = checks.backlog_metrics(ports)
    for _ in range(20):
        if all(v == 0 for v in metric.values()):
            break
        await asyncio.sleep(0.5)
        metric = checks.backlog_metrics(ports)
    lag = await checks.group_lag(stack.bootstrap, scene.release, scene.consumers)
    pending = snap.pending_deliveries()
    bad = [f"{s} {v}" for s, v in states.items() if v != "SERVING"]
    bad += [f"{s} outbox {n} unpublished" for s, n in backlog.items() if n]
    bad += [f"{s} outbox {n} parked" for s, n in parked.items() if n]
    bad += [f"{s} backlog metric {v}" for s, v in metric.items() if v != 0]
    bad += [f"{k} lag {v}" for k, v in lag.items() if v]
    bad += [f"{pending} deliveries pending"] if pending else []
    return Invariant("every service SERVING, outbox backlog zero (table and metric), nothing parked, no lag, "
                     "no delivery pending", not bad, "; ".join(bad) if bad else
                     f"{len(states)} SERVING, {sum(len(r) for r in snap.outbox.values())} outbox rows all sent, "
                     f"{len(lag)} consumer groups at the end of their topics")


def _recovered(report: Report) -> Invariant:
    never = [f"#{f.n} {f.fault.label}" for f in report.outcomes if not f.recovered]
    failed = [f"#{f.n} {f.fault.label} ({f.note})" for f in report.outcomes if f.failed]
    exits = [f"{e.service} exited (code {e.code}) at {e.at:.0f}s" for e in report.exits]
    worst = max((f.flow_s for f in report.outcomes if f.flow_s is not None), default=0.0)
    detail = f"{len(report.outcomes)} faults, slowest recovery {worst:.1f}s"
    if never:
        detail += f"; not recovered within {report.options.recover_timeout:.0f}s: {', '.join(never)}"
    if exits:
        detail += "; " + ", ".join(exits)
    if failed:
        detail += "; could not inject " + ", ".join(failed)
    return Invariant("every fault was injected and recovered from, and no service died of one",
                     not never and not exits and not failed, detail)


def write(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.as_json())
