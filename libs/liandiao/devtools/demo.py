"""`make demo`: the platform's main job, locally.

Brings up the seven services against the local PostgreSQL and Kafka, loads a
province (the offices and mediators of two prefectures of Inner Mongolia, from
the shipped division codes), pushes a realistic batch of disputes from every
channel through intake -> routing -> (mediators answer their offers) ->
mediation (sessions, agreements, terminations) -> confirmation (the courts
accept the joint applications and rule; one ruling checked offline) ->
notification, waits for the event flow to come to rest (every
outbox empty, every consumer caught up, from the services' metrics), and prints
a summary of what the services hold. The services are stopped at the end; pass
--keep-running to leave them up (ports 20061-20067).

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
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import grpc

from liandiao.auth import Role
from liandiao.confirmation.v1 import confirmation_pb2, confirmation_pb2_grpc
from liandiao.devtools import board as statistics_board
from liandiao.devtools import metrics, notices, province, reset
from liandiao.devtools.clients import channel, service_token, token, until_answered
from liandiao.devtools.confirm import confirm, load_courts, verify_offline
from liandiao.devtools.fake_systems import LocalSystems
from liandiao.devtools.localrun import PORT_OFFSET, REPO, LocalServices
from liandiao.devtools.mediate import clock_figures, code_from_notification, mediate
from liandiao.devtools.otlp_sink import OtlpSink
from liandiao.devtools.summary import AWAITING_CHOICE, Run, problems, render
from liandiao.events.admin import ensure_topics
from liandiao.ids import lookup
from liandiao.intake.v1 import intake_pb2, intake_pb2_grpc
from liandiao.mediation.v1 import mediation_pb2, mediation_pb2_grpc
from liandiao.notification.v1 import notification_pb2_grpc
from liandiao.personnel.v1 import personnel_pb2, personnel_pb2_grpc
from liandiao.routing.v1 import routing_pb2, routing_pb2_grpc
from liandiao.rpc import channel as rpc_channel
from liandiao.statistics.v1 import statistics_pb2, statistics_pb2_grpc

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
    # Real channels: the SMS simulator (with receipts) and an SMTP server, started here; a fake
    # police system and a fake court system, to which notification sends their results (issue 10).
    real = notices.channels(PORT_OFFSET + 20090)
    channel_env, sim, box = real.__enter__()
    external = LocalSystems(REPO / ".state" / "demo-external", PORT_OFFSET + 20079).prepare()
    local = LocalServices(env={**env, "LIANDIAO_RELEASE": f"demo-{int(time.time())}",
                               "LIANDIAO_OTLP_ENDPOINT": sink.endpoint, "LIANDIAO_OUTBOX_POLL_MS": "200",
                               **channel_env, "LIANDIAO_WEBHOOKS_FILE": str(external.webhooks_file)},
                          log_dir=REPO / ".state" / "logs" / "demo",
                          # Over TLS with the stack's development certificates, as in a cluster.
                          tls=Path(env["LIANDIAO_STACK_CERTS"]) if env.get("LIANDIAO_STACK_CERTS") else None)
    local.start()
    try:
        with phases("start"):
            states = await local.wait_serving(timeout=90)
        print(f"• {len(states)} services SERVING in {phases.last():.1f}s: {', '.join(states)}")
        return await _drive(local, sink, count, seed, concurrency, stalled, phases, env["LIANDIAO_DATABASE_URL"],
                            lambda: notices.read(env["LIANDIAO_DATABASE_URL"], sim, box), external)
    finally:
        external.stop()
        real.__exit__(None, None, None)
        if keep_running:
            # Their own pids: a pattern (pkill -f) would stop other checkouts' services on a shared machine.
            pids = " ".join(str(p.pid) for p in local.procs.values())
            print(f"• services left running (stop them with: kill {pids})")
            _start_console(local, env)
        else:
            codes = local.stop()
            print(f"• services stopped gracefully: exit codes {set(codes.values())}")
        sink.stop()


async def _drive(local: LocalServices, sink: OtlpSink, count: int, seed: int, concurrency: int,
                 stalled: float, phases: Phases, dsn: str,
                 read_notices: Callable[[], Awaitable[notices.Notices]], external: LocalSystems) -> int:
    rng = random.Random(seed)
    cpu_before = local.cpu_seconds()
    ch = {s: channel(local.address(s)) for s in local.services}
    intake = intake_pb2_grpc.IntakeServiceStub(ch["intake"])
    routing = routing_pb2_grpc.RoutingServiceStub(ch["routing"])
    mediation = mediation_pb2_grpc.MediationServiceStub(ch["mediation"])
    personnel = personnel_pb2_grpc.PersonnelServiceStub(ch["personnel"])
    confirmation = confirmation_pb2_grpc.ConfirmationServiceStub(ch["confirmation"])
    ports = [local.metrics_port(s) for s in local.services]
    try:
        with phases("province"):
            prov = await province.seed_province(personnel, OPERATOR, PREFECTURES)
            routing_port = local.metrics_port("routing")

            async def roster_projected() -> bool:
                seen = metrics.total(routing_port, "liandiao_events_consumed_total", consumer="routing.roster")
                return seen >= prov.person_events

            await _until(roster_projected, 60)
            # The operator loads the courts confirmation knows (personnel publishes no event for them).
            courts_loaded = await asyncio.to_thread(load_courts, prov, local.env, REPO / ".state")
        await _console_users(personnel, prov)
        names = "、".join(_name(p) for p in PREFECTURES)
        print(f"• province loaded in {phases.last():.1f}s: {names}: {len(prov.counties)} counties, "
              f"{sum(len(c.committees) for c in prov.counties)} township committees, {len(prov.mediators)} mediators, "
              f"{sum(len(c.lawyers) for c in prov.counties)} lawyers and legal-service workers on duty rotas, "
              f"{sum(len(c.liaison_officers) for c in prov.counties)} liaison officers; "
              f"{courts_loaded} courts and tribunals loaded into confirmation")

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
        with phases("court and police systems"):
            # Referrals sent in over HTTP by the fake systems go through the same flow (issue 10).
            try:
                referred = await _refer(local, external, intake, prov, rng)
            except (OSError, RuntimeError, TimeoutError, grpc.aio.AioRpcError) as exc:   # the rest of the demo goes on
                print(f"• the external-systems adapter did not work: {exc}")
                referred = []
        print(f"• {len(referred)} referrals in through the external-systems API in {phases.last():.1f}s "
              f"({external.retries_same} retried police referrals answered with their first dispute"
              + (f"; refused: {external.refused}" if external.refused else "") + ")")

        # Routing offers each dispute as its event arrives; mediators answer their offers.
        decline_of = {d.dispute_id: declines[n] for n, d in enumerate(disputes)}
        decline_of |= {d.dispute_id: False for d in referred}   # the systems' referrals go through as they are
        disputes += referred
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
            notification = notification_pb2_grpc.NotificationServiceStub(ch["notification"])
            figures = await mediate(mediation, await _all_cases(mediation), rng, _bounded, concurrency,
                                    code_from_notification(notification))
            await metrics.wait_drained(ports, stalled)
        # The parties take their written agreements to a competent court; clerks accept, judges rule (issue 9).
        with phases("confirmation"):
            court_figures, rulings = await confirm(confirmation, await _all_cases(mediation), prov, rng, _bounded,
                                                   concurrency)
            await metrics.wait_drained(ports, stalled)
            valid = [r for r in rulings if r.outcome == confirmation_pb2.RULING_OUTCOME_VALID]
            if valid:
                keys = Path(local.env.get("LIANDIAO_CONFIRMATION_KEYS_FILE")
                            or REPO / ".state" / "confirmation-dev-keys" / "keys.json")
                court_figures.verified = await asyncio.to_thread(verify_offline, valid[0], keys, REPO / ".state")
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
                notices=await read_notices(),
            )
        cpu = local.cpu_seconds()
        report.cpu = {s: cpu[s] - cpu_before.get(s, 0.0) for s in cpu} | {"demo client": time.process_time()}
        print("\n" + render(report))
        print("\n".join(mediation_lines))
        print("\n".join(court_figures.lines()))
        print("What the court and police systems heard back (signed webhooks, checked by them):")
        print("\n".join(external.heard_lines()))
        wrong = await _board(local, statistics_pb2_grpc.StatisticsServiceStub(ch["statistics"]), rng, dsn)
        return 1 if problems(report) or court_figures.problems() or wrong else 0
    finally:
        for c in ch.values():
            await c.close()


async def _board(local: LocalServices, stats, rng: random.Random, dsn: str) -> list[str]:
    """The police, court and petition systems send their monthly counts (as their own
    service identities, each over its own certificate); the board for the province and this year is printed, its
    platform figures checked against counts taken from the services' own tables."""
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    months = [f"{y}-{m:02d}" for y in (now.year - 1, now.year) for m in range(1, 13) if (y, m) <= (now.year, now.month)]
    for system, kind in (("police-system", statistics_pb2.SOURCE_SYSTEM_POLICE),
                         ("court-system", statistics_pb2.SOURCE_SYSTEM_COURT),
                         ("petition-system", statistics_pb2.SOURCE_SYSTEM_PETITION)):
        figures = [statistics_pb2.ExternalFigure(region_code=p, period=m, count=rng.randint(20, 90))
                   for p in PREFECTURES for m in months]
        request = statistics_pb2.ImportExternalFiguresRequest(source_system=kind, figures=figures)
        async with rpc_channel.open_channel(local.address("statistics"), local.client_tls(system)) as own:
            system_stats = statistics_pb2_grpc.StatisticsServiceStub(own)
            await until_answered(partial(system_stats.ImportExternalFigures, request, metadata=service_token(system),
                                         timeout=30))
    board = await until_answered(lambda: stats.GetBoard(statistics_pb2.GetBoardRequest(
        region_code="15", period=str(now.year)), metadata=OPERATOR, timeout=30))
    direct = await statistics_board.direct_counts(dsn, "15", board.period_start.ToDatetime().replace(tzinfo=UTC),
                                                  board.period_end.ToDatetime().replace(tzinfo=UTC))
    print("\n".join(statistics_board.render(board, direct)))
    wrong = statistics_board.mismatches(board, direct)
    print("• statistics board equals the direct counts" if not wrong else
          "• statistics board differs from the direct counts: " + "; ".join(wrong))
    return wrong


async def _refer(local: LocalServices, external: LocalSystems, intake, prov, rng) -> list[intake_pb2.Dispute]:
    counties = prov.counties
    await asyncio.to_thread(external.start, local, [c.police_station for c in counties],
                            [org for c in counties for org in (c.tribunal, c.basic_court)], sorted(PREFECTURES))
    await asyncio.to_thread(external.wait_ready)
    ids = await asyncio.to_thread(external.refer_some, prov, rng, 3)
    return [await intake.GetDispute(intake_pb2.GetDisputeRequest(dispute_id=i), metadata=OPERATOR) for i in ids]


CONSOLE_USERS = REPO / ".state" / "console-users.json"


async def _console_users(personnel, prov: province.Province) -> None:
    """The console's part of the demo (issue 11): the people to sign in as, one of each role per
    county and every mediator (services/console/users.py)."""
    from services.console import users

    users.write(CONSOLE_USERS, await users.users_for_province(personnel, OPERATOR, prov))


def _start_console(local: LocalServices, env: dict[str, str]) -> None:
    from services.console import users
    from services.console.devserver import ConsoleProcess

    console = ConsoleProcess(addresses={s: local.address(s) for s in local.services}, users_file=CONSOLE_USERS,
                             log_file=REPO / ".state" / "logs" / "demo" / "console.log",
                             tls=Path(env["LIANDIAO_STACK_CERTS"]) if env.get("LIANDIAO_STACK_CERTS") else None)
    console.start()
    people = users.load(CONSOLE_USERS)
    roles = Counter(u.role for u in people)
    print(f"• console: {console.url}/sign-in (pid {console.proc.pid if console.proc else '?'}; "
          f"stop it with: kill {console.proc.pid if console.proc else ''}); sign in as any of "
          + ", ".join(f"{n} {r}" for r, n in sorted(roles.items())) + ", e.g. "
          + "; ".join(next(f"{u.label} ({u.key})" for u in people if u.role == r) for r in sorted(roles)))


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
