"""`make demo`: the platform's main job, locally.

Brings up the six services against the local PostgreSQL and Kafka, loads a
province (the offices and mediators of two prefectures of Inner Mongolia, from
the shipped division codes), pushes a realistic batch of disputes from every
channel through intake -> routing -> (mediators answer their offers) ->
mediation -> notification, waits for the event flow to come to rest (every
outbox empty, every consumer caught up, from the services' metrics), and prints
a summary of what the services hold. The services are stopped at the end; pass
--keep-running to leave them up (ports 20061-20066).

The demo is a client like any other: calls go through the platform's channel
(retry policy, size limits), at most ``--concurrency`` at a time, and a call the
services answer with "not now" is asked again with the same request (a
registration keeps its request_id), so every registration gets its answer."""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TypeVar

import grpc

from liandiao.auth import Role
from liandiao.devtools import metrics, province, reset
from liandiao.devtools.clients import channel, token, until_answered
from liandiao.devtools.localrun import REPO, LocalServices
from liandiao.devtools.mediate import clock_figures, mediate
from liandiao.devtools.otlp_sink import OtlpSink
from liandiao.devtools.summary import AWAITING_CHOICE, Run, problems, render
from liandiao.events.admin import ensure_topics
from liandiao.ids import lookup
from liandiao.intake.v1 import intake_pb2, intake_pb2_grpc
from liandiao.mediation.v1 import mediation_pb2, mediation_pb2_grpc
from liandiao.personnel.v1 import personnel_pb2, personnel_pb2_grpc
from liandiao.routing.v1 import routing_pb2, routing_pb2_grpc

PREFECTURES = ["1504", "1505"]   # 赤峰市, 通辽市
OPERATOR = token(Role.OPERATOR, region_scope=("15",))
CLERK = token(Role.CLERK, region_scope=("15",))
JOURNEY = {"liandiao-intake", "liandiao-routing", "liandiao-mediation", "liandiao-notification"}
T = TypeVar("T")


def _env() -> dict[str, str]:
    env = {}
    for line in (REPO / ".state" / "stack.env").read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = value.strip("'\"")
    return env


async def _bounded(calls: Iterable[Callable[[], Awaitable[T]]], limit: int) -> list[T | BaseException]:
    """Runs the calls at most ``limit`` at a time. Each is a function that makes
    the call: a grpc.aio stub call starts on creation, so a list of created calls
    would all be in flight at once, whatever the semaphore says."""
    sem = asyncio.Semaphore(limit)

    async def run(call: Callable[[], Awaitable[T]]) -> T:
        async with sem:
            return await call()
    return await asyncio.gather(*(run(c) for c in calls), return_exceptions=True)


async def _until(probe, timeout: float, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await probe()
        if result:
            return result
        await asyncio.sleep(interval)
    return None


class Phases:
    def __init__(self) -> None:
        self.took: list[tuple[str, float]] = []

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.took.append((name, time.monotonic() - started))

    def last(self) -> float:
        return self.took[-1][1]


async def run(count: int, keep_running: bool, seed: int, concurrency: int, stalled: float) -> int:
    env = _env()
    phases = Phases()
    print(f"• resetting the demo database and topics ({env['LIANDIAO_KAFKA_BOOTSTRAP']})")
    with phases("reset"):
        await reset.drop_schemas(env["LIANDIAO_DATABASE_URL"])
        await reset.delete_topics(env["LIANDIAO_KAFKA_BOOTSTRAP"])
        await ensure_topics(env["LIANDIAO_KAFKA_BOOTSTRAP"], PREFECTURES, partitions=3)

    sink = OtlpSink().start()
    local = LocalServices(env={**env, "LIANDIAO_RELEASE": f"demo-{int(time.time())}",
                               "LIANDIAO_OTLP_ENDPOINT": sink.endpoint, "LIANDIAO_OUTBOX_POLL_MS": "200"},
                          log_dir=REPO / ".state" / "logs" / "demo",
                          # Over TLS with the stack's development certificates, as in a cluster.
                          tls=Path(env["LIANDIAO_STACK_CERTS"]) if env.get("LIANDIAO_STACK_CERTS") else None)
    local.start()
    try:
        with phases("start"):
            states = await local.wait_serving(timeout=90)
        print(f"• six services SERVING in {phases.last():.1f}s: {', '.join(states)}")
        return await _drive(local, sink, count, seed, concurrency, stalled, phases)
    finally:
        if keep_running:
            print("• services left running (stop them with: pkill -f 'python -m services.')")
        else:
            codes = local.stop()
            print(f"• services stopped gracefully: exit codes {set(codes.values())}")
        sink.stop()


async def _drive(local: LocalServices, sink: OtlpSink, count: int, seed: int, concurrency: int,
                 stalled: float, phases: Phases) -> int:
    rng = random.Random(seed)
    cpu_before = local.cpu_seconds()
    ch = {s: channel(local.address(s)) for s in local.services}
    intake = intake_pb2_grpc.IntakeServiceStub(ch["intake"])
    routing = routing_pb2_grpc.RoutingServiceStub(ch["routing"])
    mediation = mediation_pb2_grpc.MediationServiceStub(ch["mediation"])
    personnel = personnel_pb2_grpc.PersonnelServiceStub(ch["personnel"])
    ports = [local.metrics_port(s) for s in local.services]
    try:
        with phases("province"):
            prov = await province.seed_province(personnel, OPERATOR, PREFECTURES)
            routing_port = local.metrics_port("routing")

            async def roster_projected() -> bool:
                seen = metrics.total(routing_port, "liandiao_events_consumed_total", consumer="routing.roster")
                return seen >= prov.person_events

            await _until(roster_projected, 60)
        names = "、".join(_name(p) for p in PREFECTURES)
        print(f"• province loaded in {phases.last():.1f}s: {names}: {len(prov.counties)} counties, "
              f"{sum(len(c.committees) for c in prov.counties)} township committees, {len(prov.mediators)} mediators, "
              f"{sum(len(c.lawyers) for c in prov.counties)} lawyers and legal-service workers on duty rotas, "
              f"{sum(len(c.liaison_officers) for c in prov.counties)} liaison officers")

        # Disputes from every channel; a few refused consents and a few bad registrations.
        requests = [province.dispute_request(rng, prov, refuse=rng.random() < 0.03) for _ in range(count)]
        bad = [province.corrupt(province.dispute_request(rng, prov), k) for k in range(max(3, count // 50))]
        # Drawn now, in registration order, so that the order in which answers arrive does not matter.
        declines = [rng.random() < 0.12 for _ in requests]

        def register(r: intake_pb2.RegisterDisputeRequest):
            return lambda: until_answered(lambda: intake.RegisterDispute(r, metadata=CLERK, timeout=30))

        with phases("registration"):
            replies = await _bounded([register(r) for r in requests], concurrency)
            rejected = await _bounded([register(r) for r in bad], concurrency)
        disputes = [r.dispute for r in replies if isinstance(r, intake_pb2.RegisterDisputeResponse)]
        unanswered = Counter(_code(r) for r in replies if isinstance(r, BaseException))
        invalid = sum(1 for r in rejected if isinstance(r, grpc.aio.AioRpcError)
                      and r.code() == grpc.StatusCode.INVALID_ARGUMENT)
        took = phases.last()
        print(f"• {len(disputes)} of {count} registrations answered in {took:.1f}s ({len(disputes) / took:.0f}/s); "
              f"{invalid} of {len(bad)} bad registrations refused with INVALID_ARGUMENT"
              + (f"; unanswered: {dict(unanswered)}" if unanswered else ""))

        # Routing offers each dispute as its event arrives; mediators answer their offers.
        decline_of = {d.dispute_id: declines[n] for n, d in enumerate(disputes)}
        registered = [d for d in disputes if d.status == intake_pb2.DISPUTE_STATUS_REGISTERED]
        with phases("offers made"):
            await metrics.wait_drained(ports, stalled)
        print(f"• routing offered the disputes in {phases.last():.1f}s")
        with phases("offers answered"):
            settled = await _bounded([_settle(routing, personnel, d, decline_of[d.dispute_id]) for d in registered],
                                     concurrency)
        assignments = {a.dispute_id: a for a, _ in (s for s in settled if isinstance(s, tuple))}
        declined = sum(n for _, n in (s for s in settled if isinstance(s, tuple)))
        print(f"• {len(assignments)} offers answered by their mediators (and parties) in {phases.last():.1f}s")

        # Mediation opens the cases, notification tells everyone: wait until nothing moves.
        with phases("drain"):
            rest = await metrics.wait_drained(ports, stalled)
            state = rest or await metrics.flow_state(ports)
            spans = await _spans_settled(sink)
        print(f"• event flow at rest in {phases.last():.1f}s ({spans} spans received)" if rest else
              f"• event flow stuck for {stalled:.0f}s: backlog {state.backlog:.0f}, lag {state.lag:.0f}")

        # Mediators hold sessions and reach agreements or end the cases (issue 8).
        with phases("mediation"):
            figures = await mediate(mediation, await _all_cases(mediation), rng, _bounded, concurrency)
            await metrics.wait_drained(ports, stalled)
        with phases("summary"):
            cases = await _all_cases(mediation)
            mediation_lines = clock_figures(figures, cases).lines()
            samples = {s: await asyncio.to_thread(metrics.scrape, local.metrics_port(s)) for s in local.services}
            accepted = [a.dispute_id for a in assignments.values()
                        if a.status == routing_pb2.ASSIGNMENT_STATUS_ACCEPTED]
            report = Run(
                requested=count, disputes=disputes, unanswered=unanswered, invalid=invalid, bad_sent=len(bad),
                assignments=assignments, declined=declined, cases=cases,
                deliveries_sent=int(metrics.summed(samples["notification"], "liandiao_business_events_total",
                                                   fact="delivery_sent")),
                notified=int(metrics.summed(samples["notification"], "liandiao_events_consumed_total",
                                            consumer="notification.assignments", outcome="processed")),
                whole_traces=sink.whole_journeys(accepted, JOURNEY),
                consultations=int(metrics.summed(samples["routing"], "liandiao_business_events_total",
                                                 fact="consultation_called")),
                health={s: await local.health(s) for s in local.services},
                backlog=state.backlog, lag=state.lag, drained=rest is not None, phases=phases.took,
            )
        cpu = local.cpu_seconds()
        report.cpu = {s: cpu[s] - cpu_before.get(s, 0.0) for s in cpu} | {"demo client": time.process_time()}
        print("\n" + render(report))
        print("\n".join(mediation_lines))
        return 1 if problems(report) else 0
    finally:
        for c in ch.values():
            await c.close()


def _code(exc: BaseException) -> str:
    return exc.code().name if isinstance(exc, grpc.aio.AioRpcError) else type(exc).__name__


def _settle(routing, personnel, dispute: intake_pb2.Dispute, decline_first: bool):
    """What the people do with one dispute's offer: its mediator accepts (or, for
    some first offers, declines with a reason and the next mediator accepts);
    court-delegated parties choose a mediator together. Returns where routing left
    the dispute and how many offers were declined."""
    def get():
        return until_answered(lambda: routing.GetAssignment(
            routing_pb2.GetAssignmentRequest(dispute_id=dispute.dispute_id), metadata=CLERK, timeout=30))

    async def settle() -> tuple[routing_pb2.Assignment, int]:
        a = await until_answered(_found(get))
        declined, chose = 0, False
        while True:
            if a.status == routing_pb2.ASSIGNMENT_STATUS_OFFERED:
                me = token(Role.MEDIATOR, subject=a.mediator_id)
                if a.offer_round == 1 and decline_first:
                    decline = routing_pb2.DeclineAssignmentRequest(
                        dispute_id=a.dispute_id, mediator_id=a.mediator_id, reason="本周外出培训，无法接案")
                    a = await _or_reread(partial(routing.DeclineAssignment, decline, metadata=me, timeout=30), get)
                    declined += 1
                else:
                    accept = routing_pb2.AcceptAssignmentRequest(dispute_id=a.dispute_id, mediator_id=a.mediator_id)
                    a = await _or_reread(partial(routing.AcceptAssignment, accept, metadata=me, timeout=30), get)
            elif a.status == AWAITING_CHOICE and not chose:
                chose = True
                a = await _parties_choose(personnel, routing, a, dispute) or a
            else:   # accepted, unplaced, or the parties could not agree: the court appoints later
                return a, declined
    return settle


def _found(get):
    """GetAssignment until routing has the dispute (NOT_FOUND until its event arrived)."""
    async def call():
        for _ in range(600):
            try:
                return await get()
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
            await asyncio.sleep(0.2)
        return await get()
    return call


async def _or_reread(answer: Callable[[], Awaitable[routing_pb2.Assignment]], get) -> routing_pb2.Assignment:
    """The answer to an offer; if the offer was no longer open (a repeat of an answer
    that had already counted, or the offer lapsed), where the dispute is now."""
    try:
        return await until_answered(answer)
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
            raise
        return await get()


async def _parties_choose(personnel, routing, a: routing_pb2.Assignment,
                          dispute: intake_pb2.Dispute) -> routing_pb2.Assignment | None:
    """A court-delegated dispute: the parties agree on a mediator from the roster
    within their 2 working days (SPC-Online Art.10)."""
    found = await until_answered(lambda: personnel.FindEligibleMediators(personnel_pb2.FindEligibleMediatorsRequest(
        region_code=dispute.region_code, dispute_type=dispute.dispute_type), metadata=CLERK, timeout=30))
    if not found.mediators:
        return None
    try:
        return await until_answered(lambda: routing.RecordPartiesChoice(routing_pb2.RecordPartiesChoiceRequest(
            dispute_id=a.dispute_id, mediator_id=found.mediators[0].person_id,
            agreed_party_ids=[p.party_id for p in dispute.parties]), metadata=CLERK, timeout=30))
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:   # e.g. the mediator must step aside
            raise
        return None


async def _all_cases(mediation) -> list[mediation_pb2.Case]:
    cases: list[mediation_pb2.Case] = []
    request = mediation_pb2.ListCasesRequest(region_prefix="15", page={"page_size": 200})
    while True:
        page = await until_answered(partial(mediation.ListCases, request, metadata=OPERATOR, timeout=30))
        cases += page.cases
        if not page.next_page_token:
            return cases
        request = mediation_pb2.ListCasesRequest(region_prefix="15", page={"page_size": 200,
                                                                           "page_token": page.next_page_token})


async def _spans_settled(sink: OtlpSink, quiet: float = 1.5, timeout: float = 30) -> int:
    """Waits until no span has arrived for ``quiet`` seconds (the services export
    in batches every 0.5 s)."""
    deadline = time.monotonic() + timeout
    seen, since = sink.span_count, time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        if sink.span_count != seen:
            seen, since = sink.span_count, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return seen


def _name(code: str) -> str:
    division = lookup(code)
    return division.name if division else code


def main() -> None:
    parser = argparse.ArgumentParser(prog="make demo")
    parser.add_argument("--count", type=int, default=200, help="disputes to register")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--concurrency", type=int, default=16, help="calls in flight at once, as one busy client")
    parser.add_argument("--stalled", type=float, default=60,
                        help="stop waiting for the event flow to come to rest after this many seconds without "
                             "progress")
    parser.add_argument("--keep-running", action="store_true")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(args.count, args.keep_running, args.seed, args.concurrency,
                                     args.stalled)))


if __name__ == "__main__":
    main()
