"""The invariants, checked from what each service keeps in its own schema and from
what the topics themselves hold (never from the driver's memory of what it sent,
except the client's answers: which registrations were accepted, which poison was
put where).

- every accepted registration reached one dispute at intake, one dispute-registered
  event, one placement and acceptance at routing, one dispute-assigned event, one
  case at mediation, its deliveries at notification (each recipient once, each sent,
  each with one delivery-succeeded event) and one entry in personnel's performance file;
- nothing published that was not committed: every event id on a topic is a row of
  its producer's outbox, and every row marked sent is on its topic;
- no consumer applied an event twice or skipped one: its inbox holds exactly the
  event ids of its types on the topics, and its state agrees with its inbox;
- the dead-letter topics hold the injected poison, every copy each consumer owes,
  and no real event (and each service's dead_letters table says the same);
- at rest: every service SERVING, every outbox empty (in the table and in the
  liandiao_outbox_backlog metric), no delivery pending, no consumer group behind."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from liandiao.devtools import metrics
from liandiao.devtools.chaos.casework import Journey
from liandiao.devtools.chaos.poison import MARK, Poison
from liandiao.devtools.chaos.workload import Dispute
from liandiao.devtools.localrun import SERVICES
from liandiao.events import catalog
from liandiao.events.envelope import EVENT_ID, EVENT_TYPE
from liandiao.mediation.v1 import mediation_pb2
from liandiao.notification.v1 import notification_pb2
from liandiao.routing.v1 import routing_pb2

# The stages of one dispute's way through the platform, in order: "lost" names the first
# one a dispute did not reach.
STAGES = ("intake row", "dispute-registered committed", "dispute-registered published", "routing took it in",
          "placed", "accepted", "dispute-assigned committed", "dispute-assigned published", "case opened",
          "deliveries made", "deliveries sent", "delivery-succeeded published", "performance file")


@dataclass(frozen=True)
class Invariant:
    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Message:
    topic: str
    partition: int
    offset: int
    headers: Mapping[str, bytes | None]

    def header(self, key: str) -> str | None:
        v = self.headers.get(key)
        return None if v is None else v.decode(errors="replace")


@dataclass
class Snapshot:
    """Each service's own tables, as one reader sees them after the run."""
    outbox: dict[str, list[asyncpg.Record]] = field(default_factory=dict)
    inbox: dict[str, list[asyncpg.Record]] = field(default_factory=dict)
    dead_letters: dict[str, list[asyncpg.Record]] = field(default_factory=dict)
    intake_disputes: dict[str, asyncpg.Record] = field(default_factory=dict)        # by request id
    routing_disputes: set[str] = field(default_factory=set)
    assignments: dict[str, asyncpg.Record] = field(default_factory=dict)
    cases: dict[str, list[asyncpg.Record]] = field(default_factory=dict)
    deliveries: dict[str, list[asyncpg.Record]] = field(default_factory=dict)       # by dispute id
    performance: dict[str, list[asyncpg.Record]] = field(default_factory=dict)
    # The back half: mediation's ends, confirmation's projection and applications, the
    # outcomes intake and personnel recorded, every delivery notification made.
    case_state: dict[str, str] = field(default_factory=dict)                        # dispute id -> state
    case_agreements: dict[str, list[asyncpg.Record]] = field(default_factory=dict)  # dispute id -> agreements
    terminations: dict[str, asyncpg.Record] = field(default_factory=dict)           # dispute id
    projected: dict[str, list[asyncpg.Record]] = field(default_factory=dict)        # agreement id -> rows
    applications: dict[str, list[asyncpg.Record]] = field(default_factory=dict)     # agreement id -> rows
    rulings: dict[str, list[asyncpg.Record]] = field(default_factory=dict)          # application id -> rows
    closed_at_intake: dict[str, bool] = field(default_factory=dict)                 # dispute id -> closed
    outcomes: dict[str, str] = field(default_factory=dict)                          # dispute id -> outcome
    all_deliveries: list[asyncpg.Record] = field(default_factory=list)
    # Extensions (timeline actions), follow-up visits and objections, for the journeys that drew them.
    case_actions: dict[str, Counter[str]] = field(default_factory=dict)              # dispute id -> action -> n
    follow_ups: dict[str, int] = field(default_factory=dict)                        # dispute id -> visits
    objections: dict[str, int] = field(default_factory=dict)                        # application id -> n

    def backlog(self) -> dict[str, int]:
        return {s: sum(1 for r in rows if not r["published"] and not r["parked"]) for s, rows in self.outbox.items()}

    def parked(self) -> dict[str, int]:
        return {s: sum(1 for r in rows if r["parked"]) for s, rows in self.outbox.items()}

    def pending_deliveries(self) -> int:
        return sum(1 for rows in self.deliveries.values() for r in rows if r["status"] == "pending")


async def has_parking(conn: asyncpg.Connection, schema: str) -> bool:
    """Outboxes park unpublishable rows since platform migration 0002."""
    return bool(await conn.fetchval("select 1 from information_schema.columns where table_schema = $1 "
                                    "and table_name = 'outbox' and column_name = 'parked_at'", schema))


def parked_expr(has: bool) -> str:
    return "parked_at is not null" if has else "false"


async def snapshot(dsn: str, services: Sequence[str] = SERVICES) -> Snapshot:
    snap = Snapshot()
    conn = await asyncpg.connect(dsn)
    try:
        for s in services:
            snap.outbox[s] = await conn.fetch(
                f"select event_id::text as event_id, event_type, topic, published_at is not null as published, "
                f"{parked_expr(await has_parking(conn, s))} as parked, "
                f"headers->>'dispute-id' as dispute_id, "
                f"case when event_type in ($1, $2, $3) then payload end as payload from {s}.outbox",
                catalog.DISPUTE_ASSIGNED.key, catalog.DELIVERY_SUCCEEDED.key, catalog.MEDIATION_FAILED.key)
            snap.inbox[s] = await conn.fetch(f"select consumer, event_id::text as event_id, topic from {s}.inbox")
            snap.dead_letters[s] = await conn.fetch(f"select consumer, event_id, topic, error from {s}.dead_letters")
        for r in await conn.fetch("select dispute_id::text as dispute_id, request_id, status from intake.disputes"):
            snap.intake_disputes[r["request_id"]] = r
        snap.routing_disputes = {r[0] for r in await conn.fetch("select dispute_id::text from routing.disputes")}
        for r in await conn.fetch("select dispute_id::text as dispute_id, status, mediator_id::text as mediator_id, "
                                  "offer_round from routing.assignments"):
            snap.assignments[r["dispute_id"]] = r
        for r in await conn.fetch("select dispute_id::text as dispute_id, mediator_id, status from mediation.cases"):
            snap.cases.setdefault(r["dispute_id"], []).append(r)
        for r in await conn.fetch("select delivery_id::text as delivery_id, dispute_id::text as dispute_id, "
                                  "source_event_id::text as source_event_id, template, recipient_id, status "
                                  # the announcement of the assignment; warnings and escalations are others'
                                  "from notification.deliveries where template like 'dispute-assigned/%'"):
            snap.deliveries.setdefault(r["dispute_id"], []).append(r)
        for r in await conn.fetch("select dispute_id::text as dispute_id, person_id::text as person_id "
                                  "from personnel.performance_cases"):
            snap.performance.setdefault(r["dispute_id"], []).append(r)
        if set(BACK_HALF) <= set(services):
            await _back_half(conn, snap)
    finally:
        await conn.close()
    return snap


BACK_HALF = ("intake", "personnel", "mediation", "confirmation", "notification")


async def _back_half(conn: asyncpg.Connection, snap: Snapshot) -> None:
    for r in await conn.fetch("select dispute_id::text as dispute_id, state from mediation.cases"):
        snap.case_state[r["dispute_id"]] = r["state"]
    for r in await conn.fetch("select c.dispute_id::text as dispute_id, a.agreement_id, a.state, a.mode "
                              "from mediation.agreements a join mediation.cases c using (case_id)"):
        snap.case_agreements.setdefault(r["dispute_id"], []).append(r)
    for r in await conn.fetch("select c.dispute_id::text as dispute_id, t.ground, t.returned_to_court "
                              "from mediation.terminations t join mediation.cases c using (case_id)"):
        snap.terminations[r["dispute_id"]] = r
    for r in await conn.fetch("select agreement_id, dispute_id::text as dispute_id from confirmation.agreements"):
        snap.projected.setdefault(r["agreement_id"], []).append(r)
    for r in await conn.fetch("select application_id::text as application_id, agreement_id, court_id, status "
                              "from confirmation.applications"):
        snap.applications.setdefault(r["agreement_id"], []).append(r)
    for r in await conn.fetch("select application_id::text as application_id, outcome from confirmation.rulings"):
        snap.rulings.setdefault(r["application_id"], []).append(r)
    for r in await conn.fetch("select dispute_id::text as dispute_id, closed_at is not null as closed "
                              "from intake.disputes"):
        snap.closed_at_intake[r["dispute_id"]] = r["closed"]
    for r in await conn.fetch("select dispute_id::text as dispute_id, outcome from personnel.performance_outcomes"):
        snap.outcomes[r["dispute_id"]] = r["outcome"]
    for r in await conn.fetch("select c.dispute_id::text as dispute_id, t.action, count(*) as n "
                              "from mediation.case_timeline t join mediation.cases c using (case_id) "
                              "where t.action in ('request_extension', 'record_extension_consent') group by 1, 2"):
        snap.case_actions.setdefault(r["dispute_id"], Counter())[r["action"]] = r["n"]
    for r in await conn.fetch("select c.dispute_id::text as dispute_id, count(*) as n "
                              "from mediation.follow_ups f join mediation.cases c using (case_id) group by 1"):
        snap.follow_ups[r["dispute_id"]] = r["n"]
    for r in await conn.fetch("select application_id::text as application_id, count(*) as n "
                              "from confirmation.objections group by 1"):
        snap.objections[r["application_id"]] = r["n"]
    snap.all_deliveries = await conn.fetch(
        "select delivery_id::text as delivery_id, dispute_id::text as dispute_id, source_event_id::text as "
        "source_event_id, template, recipient_id, channel, status from notification.deliveries")


async def partitions(bootstrap: str, prefix: str = "liandiao.") -> list[TopicPartition]:
    """Every partition of every topic under ``prefix``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = sorted(t for t in await admin.list_topics() if t.startswith(prefix))
        described = await admin.describe_topics(topics) if topics else []
    finally:
        await admin.close()
    return sorted(TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"])


async def read_topics(bootstrap: str, prefix: str = "liandiao.") -> list[Message]:
    """Every message now on the topics under ``prefix``, from the first offset to the
    end offset at the time of the call."""
    parts = await partitions(bootstrap, prefix)
    if not parts:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    out: list[Message] = []
    try:
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        starts = await consumer.beginning_offsets(parts)
        for tp in parts:   # explicit offsets: seek_to_beginning resolves lazily, after end_offsets too late
            consumer.seek(tp, starts[tp])
        left = {tp for tp in parts if ends[tp] > starts[tp]}
        while left:
            batch = await consumer.getmany(*left, timeout_ms=5000, max_records=5000)
            if not batch:
                raise RuntimeError(f"reading the topics stalled with {len(left)} partitions left")
            for tp, records in batch.items():
                out.extend(Message(r.topic, r.partition, r.offset, dict(r.headers or ())) for r in records
                           if r.offset < ends[tp])
                if await consumer.position(tp) >= ends[tp]:
                    left.discard(tp)
    finally:
        await consumer.stop()
    return out


async def group_lag(bootstrap: str, release: str, consumers: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Messages each consumer group has not committed, over every topic of its event types."""
    by_name = {f"{e.service}.{e.name}": e for e in catalog.ALL}
    parts = [tp for tp in await partitions(bootstrap) if ".dlq." not in tp.topic]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        ends = await consumer.end_offsets(parts) if parts else {}
        lag: dict[str, int] = {}
        for name, events in consumers.items():
            prefixes = tuple(f"liandiao.{by_name[e].service}.{by_name[e].name}.v{by_name[e].version}." for e in events)
            mine = [tp for tp in parts if tp.topic.startswith(prefixes)]
            committed = await admin.list_consumer_group_offsets(f"liandiao.{release}.{name}") if mine else {}
            lag[name] = sum(max(ends[tp] - max(committed[tp].offset if tp in committed else 0, 0), 0) for tp in mine)
        return lag
    finally:
        await consumer.stop()
        await admin.close()


def backlog_metrics(ports: Mapping[str, int]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for s, port in ports.items():
        try:
            out[s] = metrics.total(port, "liandiao_outbox_backlog")
        except OSError:
            out[s] = None
    return out


def resent_deliveries(log: Path) -> int:
    """Deliveries the console channel sent more than once (a crash between the send and
    its record: at-least-once, and the gateway drops the repeat by delivery id)."""
    if not log.exists():
        return 0
    sends: Counter[str] = Counter()
    with log.open(errors="replace") as f:
        for line in f:
            if '"msg": "delivery"' in line:
                try:
                    sends[json.loads(line).get("delivery_id", "")] += 1
                except ValueError:
                    continue
    return sum(1 for n in sends.values() if n > 1)


# ---- the invariants --------------------------------------------------------------


@dataclass
class Tally:
    """Numbers for the table besides the pass/fail lines."""
    accepted: int = 0
    lost: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))   # stage -> disputes
    duplicated: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    unplaced: list[str] = field(default_factory=list)
    republished: int = 0
    resent: int = 0
    deliveries: int = 0

    @property
    def lost_count(self) -> int:
        return len({d for ds in self.lost.values() for d in ds})

    @property
    def duplicated_count(self) -> int:
        return len({d for ds in self.duplicated.values() for d in ds})


def _by_dispute(rows: Iterable[asyncpg.Record], event_type: str) -> dict[str, list[asyncpg.Record]]:
    out: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for r in rows:
        if r["event_type"] == event_type:
            out[r["dispute_id"]].append(r)
    return out


def journeys(disputes: Sequence[Dispute], snap: Snapshot, tally: Tally) -> Invariant:
    """Every accepted registration, followed through each service's tables."""
    registered = _by_dispute(snap.outbox["intake"], catalog.DISPUTE_REGISTERED.key)
    assigned = _by_dispute(snap.outbox["routing"], catalog.DISPUTE_ASSIGNED.key)
    routing_took = {r["event_id"] for r in snap.inbox["routing"] if r["consumer"] == "routing.disputes"}
    succeeded: Counter[str] = Counter()          # delivery id -> delivery-succeeded events sent
    unpublished_success: set[str] = set()
    for r in snap.outbox["notification"]:
        if r["event_type"] == catalog.DELIVERY_SUCCEEDED.key and r["payload"] is not None:
            delivery = notification_pb2.DeliverySucceeded.FromString(r["payload"]).delivery_id
            if r["published"]:
                succeeded[delivery] += 1
            else:
                unpublished_success.add(delivery)
    for d in disputes:
        if not d.accepted or d.linked:
            continue
        tally.accepted += 1
        i = d.dispute_id
        lost, dup = tally.lost, tally.duplicated
        row = snap.intake_disputes.get(d.request.request_id)
        if row is None or row["dispute_id"] != i:
            lost["intake row"].append(i)
            continue
        regs = registered.get(i, [])
        if len(regs) > 1:
            dup["dispute-registered events"].append(i)
        if not regs:
            lost["dispute-registered committed"].append(i)
            continue
        if not any(r["published"] for r in regs):
            lost["dispute-registered published"].append(i)
            continue
        if i not in snap.routing_disputes or not routing_took & {r["event_id"] for r in regs}:
            lost["routing took it in"].append(i)
            continue
        a = snap.assignments.get(i)
        if a is None:
            lost["placed"].append(i)
            continue
        if a["status"] == "unassigned":
            # Routing's rules found nobody: a clerk's case, not a loss. Nothing may follow.
            tally.unplaced.append(i)
            if assigned.get(i) or snap.cases.get(i) or snap.deliveries.get(i):
                dup["steps after an unplaced assignment"].append(i)
            continue
        if a["status"] != "accepted":
            lost["accepted"].append(i)
            continue
        events = assigned.get(i, [])
        if len(events) > 1:
            dup["dispute-assigned events"].append(i)
        if not events:
            lost["dispute-assigned committed"].append(i)
            continue
        if not any(r["published"] for r in events):
            lost["dispute-assigned published"].append(i)
            continue
        cases = snap.cases.get(i, [])
        if len(cases) > 1:
            dup["cases"].append(i)
        if not cases:
            lost["case opened"].append(i)
            continue
        mediator = routing_pb2.DisputeAssigned.FromString(events[0]["payload"]).mediator_id
        ds = snap.deliveries.get(i, [])
        tally.deliveries += len(ds)
        if len({(x["template"], x["recipient_id"]) for x in ds}) < len(ds) or len(ds) > d.expected_deliveries:
            dup["deliveries"].append(i)
        if len({x["source_event_id"] for x in ds}) > 1:
            dup["deliveries from a second dispute-assigned"].append(i)
        if len(ds) < d.expected_deliveries:
            lost["deliveries made"].append(i)
            continue
        if any(x["status"] != "sent" for x in ds):
            lost["deliveries sent"].append(i)
            continue
        if any(succeeded[x["delivery_id"]] > 1 for x in ds):
            dup["delivery-succeeded events"].append(i)
        if any(succeeded[x["delivery_id"]] == 0 for x in ds):
            stage = "delivery-succeeded published" if any(x["delivery_id"] in unpublished_success for x in ds) \
                else "deliveries sent"
            lost[stage].append(i)
            continue
        perf = snap.performance.get(i, [])
        if len(perf) > 1:
            dup["performance file entries"].append(i)
        if not any(p["person_id"] == mediator for p in perf):
            lost["performance file"].append(i)
    broken = tally.lost_count + tally.duplicated_count
    detail = (f"{tally.accepted} accepted; lost {tally.lost_count}" +
              "".join(f", {len(v)} stopped before '{k}'" for k, v in tally.lost.items() if v) +
              f"; duplicated {tally.duplicated_count}" +
              "".join(f", {len(v)} with extra {k}" for k, v in tally.duplicated.items() if v) +
              (f"; {len(tally.unplaced)} left unplaced by routing's rules (a clerk's case; nothing followed)"
               if tally.unplaced else ""))
    return Invariant("every accepted registration reached one dispute, one assignment, one case and its "
                     "deliveries (and its mediator's performance file), exactly once", broken == 0, detail)


def registrations(disputes: Sequence[Dispute]) -> Invariant:
    unanswered = [d for d in disputes if d.unanswered]
    refused = [d for d in disputes if d.refused]
    other = [d for d in disputes if d.dispute_id and not d.accepted]
    linked = [d for d in disputes if d.linked]
    detail = (f"{len(disputes)} sent, {sum(d.attempts for d in disputes)} attempts; {len(unanswered)} never answered, "
              f"{len(refused)} refused" + (f" (first: {refused[0].refused})" if refused else "") +
              f", {len(other)} answered with another status, {len(linked)} linked to an earlier dispute")
    return Invariant("every registration was answered and accepted", not (unanswered or refused or other), detail)


def published_only_committed(snap: Snapshot, messages: Sequence[Message], tally: Tally) -> Invariant:
    """Every event on a topic is a committed outbox row of its producer; every row
    marked sent is on its topic. Repeats of a row (relay crashed before marking it)
    are allowed by design and counted."""
    outbox = {s: {r["event_id"] for r in rows} for s, rows in snap.outbox.items()}
    sent = {s: {r["event_id"] for r in rows if r["published"]} for s, rows in snap.outbox.items()}
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    phantom: list[str] = []
    for m in messages:
        if ".dlq." in m.topic or m.headers.get(MARK) is not None:
            continue
        producer = m.topic.split(".")[1]
        event_id = m.header(EVENT_ID) or ""
        seen[producer][event_id] += 1
        if event_id not in outbox.get(producer, set()):
            phantom.append(f"{m.topic}@{m.partition}:{m.offset}")
    missing = sum(len(ids - set(seen[s])) for s, ids in sent.items())
    tally.republished = sum(n - 1 for c in seen.values() for n in c.values() if n > 1)
    detail = (f"{sum(sum(c.values()) for c in seen.values())} events on the topics; {len(phantom)} not in their "
              f"producer's outbox" + (f" (e.g. {phantom[0]})" if phantom else "") +
              f"; {missing} rows marked sent but not on their topic; {tally.republished} republished after a crash")
    return Invariant("nothing published that was not committed, nothing marked sent that was not published",
                     not phantom and missing == 0, detail)


def applied_once(snap: Snapshot, messages: Sequence[Message], consumers: Mapping[str, Sequence[str]]) -> Invariant:
    """Each consumer's inbox holds the event ids of its types on the topics, each once,
    and its state agrees with its inbox."""
    by_name = {f"{e.service}.{e.name}": e for e in catalog.ALL}
    on_topics: dict[str, set[str]] = defaultdict(set)
    for m in messages:
        if ".dlq." in m.topic or m.headers.get(MARK) is not None:
            continue
        on_topics[m.header(EVENT_TYPE) or ""].add(m.header(EVENT_ID) or "")
    problems: list[str] = []
    inboxes: dict[str, set[str]] = {}
    for consumer, events in sorted(consumers.items()):
        service = consumer.split(".")[0]
        rows = [r["event_id"] for r in snap.inbox[service] if r["consumer"] == consumer]
        inbox = set(rows)
        inboxes[consumer] = inbox
        owed = set().union(*(on_topics.get(by_name[e].key, set()) for e in events))
        if len(rows) != len(inbox):
            problems.append(f"{consumer}: an event id twice in its inbox")
        if owed - inbox:
            problems.append(f"{consumer}: {len(owed - inbox)} events on its topics never applied")
        if inbox - owed:
            problems.append(f"{consumer}: {len(inbox - owed)} inbox ids not on its topics")
    # State against inbox, for the consumers whose state is one row per event.
    assigned_topic = f"liandiao.{catalog.DISPUTE_ASSIGNED.service}.{catalog.DISPUTE_ASSIGNED.name}."
    state = {
        "routing.disputes": len(snap.routing_disputes),
        "mediation.assignments": sum(len(v) for v in snap.cases.values()),
        "notification.assignments": len({r["source_event_id"] for rows in snap.deliveries.values() for r in rows}),
        "personnel.performance": sum(len(v) for v in snap.performance.values()),
    }
    applied = {
        "personnel.performance": sum(1 for r in snap.inbox["personnel"]
                                     if r["consumer"] == "personnel.performance" and r["topic"].startswith(assigned_topic)),
    }
    for consumer, made in state.items():
        if consumer in inboxes:
            n = applied.get(consumer, len(inboxes[consumer]))
            if made != n:
                problems.append(f"{consumer}: {made} state rows for {n} inbox rows")
    total = sum(len(v) for v in inboxes.values())
    return Invariant("no consumer applied an event twice or skipped one", not problems,
                     f"{total} inbox rows over {len(inboxes)} consumers" + ("; " + "; ".join(problems) if problems else ""))


def dead_letters(snap: Snapshot, messages: Sequence[Message], poison: Sequence[Poison]) -> tuple[Invariant, list[Message]]:
    """Every consumer of a topic dead-lettered every copy of the injected poison on that
    topic exactly once (a replay puts copies back on the topic: every consumer of it
    reads them again), and no real event is on a dead-letter topic. Returns the real
    events found there too."""
    on_topic: Counter[tuple[str, str]] = Counter()
    for m in messages:
        mark = m.header(MARK)
        if mark is not None and ".dlq." not in m.topic:
            on_topic[(m.topic, mark)] += 1
    expected: Counter[tuple[str, str]] = Counter()
    for p in poison:
        for t in p.dlq_topics():
            expected[(t, p.poison_id)] += on_topic[(p.topic, p.poison_id)]
    absent = [p for p in poison if not on_topic[(p.topic, p.poison_id)]]
    found: Counter[tuple[str, str]] = Counter()
    real: list[Message] = []
    per_topic: Counter[str] = Counter()
    # A consumer killed after publishing a dead letter and before recording it in
    # dead_letters writes it again when it reads the record again (Kafka has no
    # transaction across the topic and the database here): a repeat of the same
    # original record is one dead letter, as the table (unique by it) says.
    seen: set[tuple[str, str | None, str | None]] = set()
    repeats = 0
    for m in messages:
        if ".dlq." not in m.topic:
            continue
        origin = (m.topic, m.header("dlq-original-partition"), m.header("dlq-original-offset"))
        if origin[2] is not None:
            if origin in seen:
                repeats += 1
                continue
            seen.add(origin)
        per_topic[m.topic] += 1
        mark = m.header(MARK)
        if mark is None:
            real.append(m)
        else:
            found[(m.topic, mark)] += 1
    missing = expected - found
    extra = found - expected
    kinds = Counter(pid.rsplit("-", 1)[0] for (_, pid) in missing.elements())
    rows: Counter[str] = Counter()
    for rs in snap.dead_letters.values():
        for r in rs:
            rows[f"{r['topic']}.dlq.{r['consumer']}"] += 1
    table_off = sorted(t for t in set(rows) | set(per_topic) if rows[t] != per_topic[t])
    errors = Counter((m.header("dlq-error") or "?")[:80] for m in real)
    detail = (f"{sum(per_topic.values())} messages on {len(per_topic)} dead-letter topics; "
              f"{sum(expected.values())} poison copies owed, {sum(missing.values())} missing"
              + (f" ({', '.join(f'{k} {n}' for k, n in kinds.items())})" if missing else "")
              + f", {sum(extra.values())} extra"
              + (f" ({repeats} written twice by a consumer killed between publishing and recording it)"
                 if repeats else "")
              + f"; {len(real)} real events dead-lettered"
              + (f" ({'; '.join(f'{n}x {e}' for e, n in errors.most_common(3))})" if real else "")
              + (f"; dead_letters table disagrees on {len(table_off)} topic(s)" if table_off else "")
              + (f"; {len(absent)} injected messages not on their topic" if absent else ""))
    ok = not missing and not extra and not real and not table_off and not absent
    return Invariant("dead-letter topics hold the injected poison and nothing else", ok, detail), real


def poison_text(poison: Sequence[Poison]) -> str:
    topics = {p.topic for p in poison}
    owed = sum(len(p.consumers) for p in poison)
    return f"{len(poison)} malformed messages on {len(topics)} topics ({owed} dead-letter copies owed)"


# ---- the back half ---------------------------------------------------------------

ENDED_STATES = {"agreement_effective": "agreement", "closed": "agreement", "terminated": "terminated",
                "returned_to_court": "returned to court"}
# What the driver saw at the end of a journey (casework.Journey.end) -> mediation's case state and
# confirmation's application status it must agree with.
JOURNEY_ENDS = {"terminated": ("terminated", None), "returned to court": ("returned to court", None),
                "ruled valid": ("agreement", "ruled_valid"), "ruled rejected": ("agreement", "ruled_rejected"),
                "refused": ("agreement", "refused")}
BACK_HALF_ROUTED = (catalog.SESSION_SCHEDULED, catalog.AGREEMENT_EFFECTIVE, catalog.MEDIATION_FAILED,
                    catalog.CASE_RETURNED_TO_COURT, catalog.APPLICATION_FILED, catalog.APPLICATION_ACCEPTED,
                    catalog.APPLICATION_REFUSED, catalog.RULING_ISSUED)


@dataclass
class Casework:
    """Numbers of the back half for the table."""
    driven: int = 0
    ends: Counter[str] = field(default_factory=Counter)
    stuck: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))   # where -> disputes
    wrong: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))   # what -> disputes
    deliveries: int = 0
    extras: Counter[str] = field(default_factory=Counter)   # extensions, follow-ups, objections done


def _count(snap: Snapshot, event: catalog.EventType, dispute_id: str, service: str) -> tuple[int, int]:
    """(committed, published) rows of ``event`` for the dispute in ``service``'s outbox."""
    rows = [r for r in snap.outbox.get(service, []) if r["event_type"] == event.key and r["dispute_id"] == dispute_id]
    return len(rows), sum(1 for r in rows if r["published"])


def casework(disputes: Sequence[Dispute], snap: Snapshot, work: Casework) -> Invariant:
    """Every dispute the driver took past the mediator's acceptance went the whole way, and
    each service's data says what the driver saw: one case ended as it ended, one effective
    agreement with one agreement-effective event, one application with its ruling and one
    ruling-issued event, or one termination with its mediation-failed event (and, when it
    went back to its court, case-returned-to-court). What the journey drew besides happened
    once and only then: one extension request with every party's consent on the timeline, two
    follow-up visits and a closed case, one objection with one objection-filed event."""
    for d in disputes:
        j = d.journey
        if j is None or not d.accepted or d.linked or d.assignment != routing_pb2.ASSIGNMENT_STATUS_ACCEPTED:
            continue
        work.driven += 1
        i = d.dispute_id
        state = snap.case_state.get(i, "")
        if j.stage != "done":
            work.stuck[f"{j.stage} (case {state or 'not opened'})"].append(i)
            continue
        work.ends[j.end] += 1
        _extras(snap, j, i, state, work)
        expected_case, expected_app = JOURNEY_ENDS.get(j.end, ("?", None))
        if ENDED_STATES.get(state) != expected_case:
            work.wrong[f"case {state} for '{j.end}'"].append(i)
            continue
        effective = [a for a in snap.case_agreements.get(i, []) if a["state"] == "effective"]
        if expected_case == "agreement":
            if len(effective) != 1:
                work.wrong[f"{len(effective)} effective agreements"].append(i)
                continue
            if _count(snap, catalog.AGREEMENT_EFFECTIVE, i, "mediation") != (1, 1):
                work.wrong["agreement-effective not once"].append(i)
            apps = snap.applications.get(effective[0]["agreement_id"], [])
            if len(apps) != 1:
                work.wrong[f"{len(apps)} applications"].append(i)
                continue
            if apps[0]["status"] != expected_app:
                work.wrong[f"application {apps[0]['status']} for '{j.end}'"].append(i)
            rulings = snap.rulings.get(apps[0]["application_id"], [])
            ruled = (expected_app or "").startswith("ruled")
            if len(rulings) != (1 if ruled else 0) or _count(snap, catalog.RULING_ISSUED, i, "confirmation")[1] != len(rulings):
                work.wrong["ruling or ruling-issued not once"].append(i)
        else:
            if effective or i not in snap.terminations:
                work.wrong["termination not recorded"].append(i)
                continue
            if _count(snap, catalog.MEDIATION_FAILED, i, "mediation") != (1, 1):
                work.wrong["mediation-failed not once"].append(i)
            returned = _count(snap, catalog.CASE_RETURNED_TO_COURT, i, "mediation")
            if returned != ((1, 1) if state == "returned_to_court" else (0, 0)):
                work.wrong["case-returned-to-court not once"].append(i)
    stuck, wrong = sum(map(len, work.stuck.values())), sum(map(len, work.wrong.values()))
    detail = (f"{work.driven} cases driven; ends: " + (", ".join(f"{k} {n}" for k, n in sorted(work.ends.items()))
                                                       or "none")
              + "; " + (", ".join(f"{k} {n}" for k, n in sorted(work.extras.items())) or "no extras")
              + (f"; {stuck} stuck (" + ", ".join(f"{len(v)} in {k}" for k, v in work.stuck.items()) + ")"
                 if stuck else "")
              + (f"; {wrong} disagree (" + ", ".join(f"{len(v)} {k}" for k, v in work.wrong.items()) + ")"
                 if wrong else ""))
    return Invariant("every case went the whole way: session, agreement or termination, application, ruling, "
                     "each once", work.driven > 0 and not stuck and not wrong, detail)


def _extras(snap: Snapshot, j: Journey, i: str, state: str, work: Casework) -> None:
    """The extension, the follow-up visits and the objection the journey drew, each once; none
    where it drew none (a retried command that landed twice would show here)."""
    acts = snap.case_actions.get(i, Counter())
    asked = (acts["request_extension"], acts["record_extension_consent"])
    if asked != ((1, len(j.party_ids)) if j.extend else (0, 0)):
        work.wrong[f"extension asked {asked[0]}x with {asked[1]} consents (drawn: {j.extend})"].append(i)
    elif j.extend:
        work.extras["extensions granted"] += 1
    agreed = JOURNEY_ENDS.get(j.end, ("", None))[0] == "agreement"
    visits = snap.follow_ups.get(i, 0)
    if visits != (2 if j.follow_up and agreed else 0) or (j.follow_up and agreed and state != "closed"):
        work.wrong[f"{visits} follow-up visits, case {state} (drawn: {j.follow_up})"].append(i)
    elif j.follow_up and agreed:
        work.extras["closed after follow-up"] += 1
    objected = j.objects and j.end == "ruled valid"
    n = snap.objections.get(j.application_id, 0) if j.application_id else 0
    if n != (1 if objected else 0) or _count(snap, catalog.OBJECTION_FILED, i, "confirmation") != (
            (1, 1) if objected else (0, 0)):
        work.wrong[f"{n} objections (drawn: {objected})"].append(i)
    elif objected:
        work.extras["objections"] += 1


def across_services(snap: Snapshot) -> Invariant:
    """What every service keeps of the back half agrees, over all the data (not only the
    driver's disputes): each effective agreement is one row of confirmation's projection and
    nothing else is; each application has at most one ruling and is for an effective
    agreement, and no agreement is docketed twice; intake closed exactly the ended disputes;
    personnel's performance file has each ended case's outcome."""
    problems: Counter[str] = Counter()
    effective = {a["agreement_id"]: i for i, rows in snap.case_agreements.items() for a in rows
                 if a["state"] == "effective"}
    for agreement_id in effective:
        n = len(snap.projected.get(agreement_id, []))
        if n != 1:
            problems[f"an effective agreement with {n} projection rows"] += 1
    problems["a projection row without an effective agreement"] += len(set(snap.projected) - set(effective))
    docketed = {"accepted", "review_awaiting_supplement", "ruled_valid", "ruled_rejected"}
    for agreement_id, apps in snap.applications.items():
        if agreement_id not in effective:
            problems["an application for no effective agreement"] += 1
        if sum(1 for a in apps if a["status"] in docketed) > 1:
            problems["an agreement docketed twice"] += 1
        for a in apps:
            n = len(snap.rulings.get(a["application_id"], []))
            if n > 1 or (n == 1) != a["status"].startswith("ruled"):
                problems[f"application {a['status']} with {n} rulings"] += 1
    for dispute_id, state in snap.case_state.items():
        ended = state in ENDED_STATES
        if snap.closed_at_intake.get(dispute_id, False) != ended:
            problems[f"intake {'open' if ended else 'closed'} for a case {state}"] += 1
        t = snap.terminations.get(dispute_id)
        want = {"agreement": "agreement", "terminated": "failed", "returned to court": "failed"}.get(
            ENDED_STATES.get(state, ""), "")
        if t is not None and t["ground"] == "settled_withdrawn":
            want = "settled"
        if snap.outcomes.get(dispute_id, "") != want:
            problems[f"performance outcome {snap.outcomes.get(dispute_id) or 'none'} for a case {state}"] += 1
    problems = Counter({k: n for k, n in problems.items() if n})
    ruled = sum(1 for rows in snap.rulings.values() for _ in rows)
    detail = (f"{len(effective)} effective agreements, {len(snap.projected)} projected; "
              f"{sum(map(len, snap.applications.values()))} applications, {ruled} rulings; "
              f"{sum(snap.closed_at_intake.values())} disputes closed at intake; {len(snap.outcomes)} outcomes in "
              f"performance files" + ("; " + ", ".join(f"{n}x {k}" for k, n in problems.most_common()) if problems else ""))
    return Invariant("effective agreements, applications, rulings, intake's outcomes and the performance files "
                     "agree with mediation's cases", bool(snap.case_state) and not problems, detail)


def _told_elsewhere(row: asyncpg.Record) -> bool:
    """A failure that returned the case to its court is told once, by case-returned-to-court:
    the routes of mediation-failed say `when = {returned_to_court = false}` (routing.toml)."""
    if row["event_type"] != catalog.MEDIATION_FAILED.key or row["payload"] is None:
        return False
    return mediation_pb2.MediationFailed.FromString(row["payload"]).returned_to_court


def notified(snap: Snapshot, work: Casework) -> Invariant:
    """Notification told someone of every back-half event it routes, once per event x recipient
    x channel, every delivery sent, each with one delivery-succeeded event."""
    by_event: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for r in snap.all_deliveries:
        by_event[r["source_event_id"]].append(r)
    work.deliveries = len(snap.all_deliveries)
    keys = {e.key for e in BACK_HALF_ROUTED}
    events = [r for rows in snap.outbox.values() for r in rows if r["event_type"] in keys and r["published"]]
    untold = Counter(r["event_type"] for r in events if not by_event.get(r["event_id"]) and not _told_elsewhere(r))
    twice = sum(n - 1 for n in Counter((r["source_event_id"], r["recipient_id"], r["channel"])
                                       for r in snap.all_deliveries).values() if n > 1)
    unsent = Counter(r["status"] for r in snap.all_deliveries if r["status"] not in ("sent", "delivered"))
    succeeded: Counter[str] = Counter()
    for r in snap.outbox.get("notification", []):
        if r["event_type"] == catalog.DELIVERY_SUCCEEDED.key and r["payload"] is not None and r["published"]:
            succeeded[notification_pb2.DeliverySucceeded.FromString(r["payload"]).delivery_id] += 1
    announced_off = sum(1 for r in snap.all_deliveries if r["status"] in ("sent", "delivered")
                        and succeeded[r["delivery_id"]] != 1)
    told = Counter(r["event_type"] for r in events)
    detail = (f"{len(events)} back-half events (" + ", ".join(f"{k.split('.')[1]} {n}" for k, n in sorted(told.items()))
              + f"), {len(snap.all_deliveries)} deliveries in all; {sum(untold.values())} events told nobody"
              + (f" ({', '.join(f'{k} {n}' for k, n in untold.items())})" if untold else "")
              + f"; {twice} repeated event x recipient x channel; {sum(unsent.values())} not sent"
              + (f" ({', '.join(f'{k} {n}' for k, n in unsent.items())})" if unsent else "")
              + f"; {announced_off} sent without exactly one delivery-succeeded")
    return Invariant("notification told of every mediation and confirmation event, once per event x recipient x "
                     "channel", bool(events) and not untold and not twice and not unsent and not announced_off, detail)
