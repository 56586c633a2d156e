"""`make demo`: the platform's main job, locally.

Brings up the six services against the local PostgreSQL and Kafka, loads a
province (the offices and mediators of two prefectures of Inner Mongolia, from
the shipped division codes), pushes a realistic batch of disputes from every
channel through intake -> routing -> (mediators answer their offers) ->
mediation -> notification, and prints a summary. The services are stopped at the
end; pass --keep-running to leave them up (ports 20061-20066)."""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import unicodedata
from collections import Counter
from pathlib import Path

import grpc

from liandiao.auth import Role
from liandiao.devtools import metrics, province, reset
from liandiao.devtools.clients import token
from liandiao.devtools.localrun import REPO, LocalServices
from liandiao.devtools.otlp_sink import OtlpSink
from liandiao.events.admin import ensure_topics
from liandiao.ids import lookup
from liandiao.intake.v1 import intake_pb2, intake_pb2_grpc
from liandiao.mediation.v1 import mediation_pb2, mediation_pb2_grpc
from liandiao.notification.v1 import notification_pb2, notification_pb2_grpc
from liandiao.personnel.v1 import personnel_pb2, personnel_pb2_grpc
from liandiao.reference import dispute_types
from liandiao.routing.v1 import routing_pb2, routing_pb2_grpc

PREFECTURES = ["1504", "1505"]   # 赤峰市, 通辽市
OPERATOR = token(Role.OPERATOR, region_scope=("15",))
CLERK = token(Role.CLERK, region_scope=("15",))
SOURCE_NAMES = {1: "party application", 2: "own initiative", 3: "police referral", 4: "court delegation",
                5: "court commission", 6: "department referral", 7: "online"}


def _env() -> dict[str, str]:
    env = {}
    for line in (REPO / ".state" / "stack.env").read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = value.strip("'\"")
    return env


async def _gather_bounded(coros, limit: int = 16):
    sem = asyncio.Semaphore(limit)

    async def run(c):
        async with sem:
            return await c
    return await asyncio.gather(*(run(c) for c in coros), return_exceptions=True)


async def _until(probe, timeout: float, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await probe()
        if result:
            return result
        await asyncio.sleep(interval)
    return None


async def run(count: int, keep_running: bool, seed: int) -> int:
    env = _env()
    print(f"• resetting the demo database and topics ({env['LIANDIAO_KAFKA_BOOTSTRAP']})")
    await reset.drop_schemas(env["LIANDIAO_DATABASE_URL"])
    await reset.delete_topics(env["LIANDIAO_KAFKA_BOOTSTRAP"])
    await ensure_topics(env["LIANDIAO_KAFKA_BOOTSTRAP"], PREFECTURES, partitions=3)

    sink = OtlpSink().start()
    local = LocalServices(env={**env, "LIANDIAO_RELEASE": f"demo-{int(time.time())}",
                               "LIANDIAO_OTLP_ENDPOINT": sink.endpoint, "LIANDIAO_OUTBOX_POLL_MS": "200"},
                          log_dir=REPO / ".state" / "logs" / "demo")
    started = time.monotonic()
    local.start()
    try:
        states = await local.wait_serving(timeout=90)
        print(f"• six services SERVING in {time.monotonic() - started:.1f}s: {', '.join(states)}")
        return await _drive(local, sink, count, seed)
    finally:
        if keep_running:
            print("• services left running (stop them with: pkill -f 'python -m services.')")
        else:
            codes = local.stop()
            print(f"• services stopped gracefully: exit codes {set(codes.values())}")
        sink.stop()


async def _drive(local: LocalServices, sink: OtlpSink, count: int, seed: int) -> int:
    rng = random.Random(seed)
    chans = [grpc.aio.insecure_channel(local.address(s)) for s in local.services]
    ch = dict(zip(local.services, chans, strict=True))
    intake = intake_pb2_grpc.IntakeServiceStub(ch["intake"])
    routing = routing_pb2_grpc.RoutingServiceStub(ch["routing"])
    mediation = mediation_pb2_grpc.MediationServiceStub(ch["mediation"])
    notification = notification_pb2_grpc.NotificationServiceStub(ch["notification"])
    personnel = personnel_pb2_grpc.PersonnelServiceStub(ch["personnel"])

    t0 = time.monotonic()
    prov = await province.seed_province(personnel, OPERATOR, PREFECTURES)
    names = "、".join(_name(p) for p in PREFECTURES)
    print(f"• province loaded in {time.monotonic() - t0:.1f}s: {names}: {len(prov.counties)} counties, "
          f"{sum(len(c.committees) for c in prov.counties)} township committees, {len(prov.mediators)} mediators, "
          f"{sum(len(c.lawyers) for c in prov.counties)} lawyers and legal-service workers on duty rotas, "
          f"{sum(len(c.liaison_officers) for c in prov.counties)} liaison officers")
    routing_port = local.metrics_port("routing")

    async def roster_projected() -> bool:
        seen = metrics.total(routing_port, "liandiao_events_consumed_total", consumer="routing.roster")
        return seen >= prov.person_events

    await _until(roster_projected, 60)

    # Disputes from every channel; a few refused consents and a few bad registrations.
    requests = [province.dispute_request(rng, prov, refuse=rng.random() < 0.03) for _ in range(count)]
    bad = [province.corrupt(province.dispute_request(rng, prov), k) for k in range(max(3, count // 50))]
    t_register = time.monotonic()
    replies = await _gather_bounded([intake.RegisterDispute(r, metadata=CLERK) for r in requests])
    rejected = await _gather_bounded([intake.RegisterDispute(r, metadata=CLERK) for r in bad])
    register_s = time.monotonic() - t_register
    disputes = [r.dispute for r in replies if not isinstance(r, BaseException)]
    errors = [r for r in replies if isinstance(r, BaseException)]
    registered = [d for d in disputes if d.status == intake_pb2.DISPUTE_STATUS_REGISTERED]
    refused = [d for d in disputes if d.status == intake_pb2.DISPUTE_STATUS_REFUSED]
    invalid = [r for r in rejected if isinstance(r, grpc.aio.AioRpcError)
               and r.code() == grpc.StatusCode.INVALID_ARGUMENT]
    print(f"• {len(disputes)} disputes registered in {register_s:.1f}s ({len(disputes) / register_s:.0f}/s); "
          f"{len(refused)} refused consent (PML Art.17, never routed); {len(invalid)} bad registrations refused "
          f"with INVALID_ARGUMENT{'; ' + str(len(errors)) + ' errors' if errors else ''}")

    # Mediators answer their offers: most accept, some decline with a reason.
    assignments: dict[str, routing_pb2.Assignment] = {}
    by_id = {d.dispute_id: d for d in registered}
    asked_to_choose: set[str] = set()
    declined = 0
    pending = {d.dispute_id for d in registered}
    deadline = time.monotonic() + 120
    while pending and time.monotonic() < deadline:
        got = await _gather_bounded([routing.GetAssignment(routing_pb2.GetAssignmentRequest(dispute_id=i),
                                                           metadata=CLERK) for i in pending])
        answers = []
        for a in got:
            if isinstance(a, BaseException):
                continue
            if a.status == routing_pb2.ASSIGNMENT_STATUS_OFFERED:
                me = token(Role.MEDIATOR, subject=a.mediator_id)
                if a.offer_round == 1 and rng.random() < 0.12:
                    declined += 1
                    answers.append(routing.DeclineAssignment(routing_pb2.DeclineAssignmentRequest(
                        dispute_id=a.dispute_id, mediator_id=a.mediator_id, reason="本周外出培训，无法接案"),
                        metadata=me))
                else:
                    answers.append(routing.AcceptAssignment(routing_pb2.AcceptAssignmentRequest(
                        dispute_id=a.dispute_id, mediator_id=a.mediator_id), metadata=me))
            elif a.status == routing_pb2.ASSIGNMENT_STATUS_AWAITING_CHOICE:
                if a.dispute_id in asked_to_choose:   # they could not agree on anyone: the court appoints later
                    assignments[a.dispute_id] = a
                    pending.discard(a.dispute_id)
                else:
                    asked_to_choose.add(a.dispute_id)
                    answers.append(_parties_choose(personnel, routing, a, by_id[a.dispute_id]))
            elif a.status in (routing_pb2.ASSIGNMENT_STATUS_ACCEPTED, routing_pb2.ASSIGNMENT_STATUS_UNASSIGNED):
                assignments[a.dispute_id] = a
                pending.discard(a.dispute_id)
        await _gather_bounded(answers)
        await asyncio.sleep(0.3)
    accepted = [a for a in assignments.values() if a.status == routing_pb2.ASSIGNMENT_STATUS_ACCEPTED]

    async def cases_open():
        got = await _gather_bounded([mediation.GetCase(mediation_pb2.GetCaseRequest(dispute_id=a.dispute_id),
                                                       metadata=CLERK) for a in accepted])
        ok = [c for c in got if not isinstance(c, BaseException)]
        return ok if len(ok) == len(accepted) else None

    cases = await _until(cases_open, 60) or []

    async def deliveries_sent():
        got = await _gather_bounded([notification.ListDeliveries(notification_pb2.ListDeliveriesRequest(
            dispute_id=a.dispute_id), metadata=CLERK) for a in accepted])
        ds = [d for g in got if not isinstance(g, BaseException) for d in g.deliveries]
        sent = [d for d in ds if d.status == notification_pb2.DELIVERY_STATUS_SENT]
        return ds if ds and len(sent) == len(ds) and len({d.dispute_id for d in ds}) == len(accepted) else None

    deliveries = await _until(deliveries_sent, 60) or []
    flow_s = time.monotonic() - t_register
    await asyncio.sleep(1.5)  # let the last spans reach the collector
    wanted = {"liandiao-intake", "liandiao-routing", "liandiao-mediation", "liandiao-notification"}
    whole = sum(1 for a in accepted if any(wanted <= s for s in sink.traces_of_dispute(a.dispute_id).values()))
    consultations = metrics.total(local.metrics_port("routing"), "liandiao_business_events_total",
                                  fact="consultation_called")
    health = {s: await local.health(s) for s in local.services}
    backlog = {s: metrics.total(local.metrics_port(s), "liandiao_outbox_backlog") for s in local.services}
    for c in chans:
        await c.close()

    _summary(registered, accepted, assignments, cases, deliveries, declined, whole, health, backlog, flow_s,
             consultations)
    complete = len(cases) == len(accepted) and bool(deliveries) and all(v == "SERVING" for v in health.values())
    return 0 if complete else 1


async def _parties_choose(personnel, routing, a: routing_pb2.Assignment, dispute: intake_pb2.Dispute) -> None:
    """A court-delegated dispute: the parties agree on a mediator from the roster
    within their 2 working days (SPC-Online Art.10)."""
    found = await personnel.FindEligibleMediators(personnel_pb2.FindEligibleMediatorsRequest(
        region_code=dispute.region_code, dispute_type=dispute.dispute_type), metadata=CLERK)
    if not found.mediators:
        return
    await routing.RecordPartiesChoice(routing_pb2.RecordPartiesChoiceRequest(
        dispute_id=a.dispute_id, mediator_id=found.mediators[0].person_id,
        agreed_party_ids=[p.party_id for p in dispute.parties]), metadata=CLERK)


def _name(code: str) -> str:
    division = lookup(code)
    return division.name if division else code


def _pad(text: str, width: int) -> str:
    """Left-justify counting CJK characters as two columns, as a terminal shows them."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - shown, 0)


def _level(reason: str) -> str:
    for level in ("village", "township", "county", "prefecture", "province"):
        if reason.startswith(f"covers {level}") or f"; covers {level}" in reason:
            return level + (" (widened)" if "widened" in reason else "")
    return "joint choice" if "joint choice" in reason else "-"


def _summary(registered, accepted, assignments, cases, deliveries, declined, whole, health, backlog, flow_s,
             consultations) -> None:
    types = dispute_types()
    by_region: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    for d in registered:
        by_region[d.prefecture] += 1
        by_type[d.dispute_type] += 1
        by_source[SOURCE_NAMES.get(d.source, "?")] += 1
    accepted_by_region = Counter(a.dispute_id for a in accepted)
    region_of = {d.dispute_id: d.prefecture for d in registered}
    acc_region = Counter(region_of[i] for i in accepted_by_region)
    levels = Counter(_level(a.reason) for a in accepted)
    periods = Counter(c.deadline.period_name for c in cases)
    line = "─" * 72
    print(f"\n{line}\n Liandiao demo summary\n{line}")
    print(f" {'prefecture':<22}{'registered':>12}{'assigned':>12}")
    for pref in sorted(by_region):
        print(f" {_pad(_name(pref) + ' (' + pref + ')', 22)}{by_region[pref]:>12}{acc_region[pref]:>12}")
    type_of = {d.dispute_id: d.dispute_type for d in registered}
    acc_type = Counter(type_of[i] for i in accepted_by_region)
    print(f"\n {'dispute type':<30}{'registered':>12}{'assigned':>12}")
    for code, n in by_type.most_common():
        print(f" {_pad(types[code].zh + ' ' + code, 30)}{n:>12}{acc_type[code]:>12}")
    print("\n by channel:   " + ", ".join(f"{k} {v}" for k, v in by_source.most_common()))
    print(" placed at:    " + ", ".join(f"{k} {v}" for k, v in levels.most_common()))
    unassigned = sum(1 for a in assignments.values() if a.status == routing_pb2.ASSIGNMENT_STATUS_UNASSIGNED)
    chosen = sum(1 for a in accepted if "joint choice" in a.reason)
    waiting = sum(1 for a in assignments.values() if a.status == routing_pb2.ASSIGNMENT_STATUS_AWAITING_CHOICE)
    print(f" offers:       {len(accepted)} accepted ({chosen} the parties' joint choice), {declined} declined and "
          f"re-offered, {unassigned} unplaced (a clerk must act), {waiting} court-delegated awaiting the parties' "
          "choice (2 working days)")
    print(f" consultations: {int(consultations)} joint consultations (会商) called for difficult disputes")
    print(" cases open:   " + ", ".join(f"{k} {v}" for k, v in periods.most_common()) + f" (total {len(cases)})")
    print(f" deliveries:   {len(deliveries)} sent (console channel), personal data masked")
    print(f" tracing:      {whole}/{len(accepted)} disputes form one trace across intake, routing, mediation, notification")
    print(f" elapsed:      {flow_s:.1f}s from the first registration to the last delivery")
    print(f" health:       {', '.join(f'{k} {v}' for k, v in health.items())}")
    print(f" outbox:       backlog {int(sum(backlog.values()))}")
    print(f" logs:         {Path('.state/logs/demo')}/<service>.log\n{line}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="make demo")
    parser.add_argument("--count", type=int, default=200, help="disputes to register")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep-running", action="store_true")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(args.count, args.keep_running, args.seed)))


if __name__ == "__main__":
    main()
