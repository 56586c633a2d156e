"""The chaos driver's own judgement, without a stack: the fault plan is what the seed
says, the poison really is poison, and each check fails on the defect it is there to
find (a checker that passes everything would make `make chaos` worthless)."""

from __future__ import annotations

import random
import uuid

import pytest
from google.protobuf.message import DecodeError

from liandiao.common.v1 import common_pb2 as c
from liandiao.devtools.chaos import checks, poison
from liandiao.devtools.chaos.checks import Message, Snapshot, Tally
from liandiao.devtools.chaos.plan import Kind, Options, make_plan
from liandiao.devtools.chaos.workload import Dispute
from liandiao.events import catalog
from liandiao.events.topics import dlq_topic, topic_name
from liandiao.intake.v1 import intake_pb2
from liandiao.notification.v1 import notification_pb2
from liandiao.routing.v1 import routing_pb2

CONSUMERS = {"routing.disputes": ("intake.dispute-registered",),
             "mediation.assignments": ("routing.dispute-assigned",),
             "notification.assignments": ("routing.dispute-assigned",)}


# ---- the plan ------------------------------------------------------------------
def test_the_plan_is_the_seeds_and_holds_every_fault_asked_for():
    options = Options(seed=7)
    plan = make_plan(options)
    assert plan == make_plan(Options(seed=7)) != make_plan(Options(seed=8))
    kills = [s for f in plan if f.kind is Kind.KILL for s in f.targets]
    assert sorted(kills) == sorted(options.services * options.kills_per_service)
    kinds = [f.kind for f in plan]
    assert (kinds.count(Kind.BROKER), kinds.count(Kind.DATABASE), kinds.count(Kind.PAUSE), kinds.count(Kind.POISON)) \
        == (2, 2, 2, 1)
    assert all(f.down_seconds > 10 for f in plan if f.kind is Kind.PAUSE)   # past the 10 s session timeout


def test_the_short_plan_kills_every_service_and_intake_and_routing_twice_a_few_at_once():
    plan = make_plan(Options.short())
    kills = [f.targets for f in plan if f.kind is Kind.KILL]
    victims = [s for t in kills for s in t]
    assert {s: victims.count(s) for s in set(victims)} == {"intake": 2, "routing": 2, "personnel": 1, "mediation": 1,
                                                           "confirmation": 1, "notification": 1,
                                                           "statistics": 1}
    assert all(len(set(t)) == len(t) <= 3 for t in kills)


# ---- the poison ------------------------------------------------------------------
@pytest.mark.parametrize("event", catalog.ALL, ids=lambda e: e.key)
def test_a_truncated_payload_cannot_be_parsed(event):
    with pytest.raises(DecodeError):
        event.message().ParseFromString(poison.truncated(event))


def test_each_kind_of_poison_is_marked_and_malformed_as_named():
    made = {pid.rsplit("-", 1)[0]: (payload, dict(headers))
            for pid, payload, headers in poison.messages(catalog.DISPUTE_REGISTERED, "1505", {"intake.dispute-registered.v1"})}
    assert set(made) == set(poison.KINDS)
    assert all(h[poison.MARK] for _, h in made.values())
    assert made["null-event-id"][1]["event-id"] is None
    assert set(made["no-platform-headers"][1]) == {poison.MARK}
    assert made["unhandled-event-type"][1]["event-type"] != b"intake.dispute-registered.v1"


# ---- the checks ------------------------------------------------------------------
def msg(topic: str, offset: int = 0, **headers: str | None) -> Message:
    return Message(topic, 0, offset, {k.replace("_", "-"): (v.encode() if v is not None else None)
                                      for k, v in headers.items()})


REGISTERED = topic_name(catalog.DISPUTE_REGISTERED, "1505")
ASSIGNED = topic_name(catalog.DISPUTE_ASSIGNED, "1505")


def test_dead_letters_hold_each_poison_copy_once_per_consumer_and_nothing_else():
    pills = [poison.Poison("truncated-protobuf-1", "truncated-protobuf", ASSIGNED,
                           ("mediation.assignments", "notification.assignments"))]
    topic = [msg(ASSIGNED, chaos_poison="truncated-protobuf-1")]
    dlq = [msg(dlq_topic(ASSIGNED, c), chaos_poison="truncated-protobuf-1")
           for c in ("mediation.assignments", "notification.assignments")]
    snap = Snapshot(dead_letters={"mediation": [{"consumer": "mediation.assignments", "topic": ASSIGNED}],
                                  "notification": [{"consumer": "notification.assignments", "topic": ASSIGNED}]})
    ok, real = checks.dead_letters(snap, topic + dlq, pills)
    assert ok.ok and real == [], ok.detail
    # One consumer did not dead-letter it.
    assert not checks.dead_letters(snap, topic + dlq[:1], pills)[0].ok
    # A real event on a dead-letter topic.
    stray = msg(dlq_topic(ASSIGNED, "mediation.assignments"), 1, event_id=str(uuid.uuid4()), dlq_error="deadlock")
    bad, real = checks.dead_letters(snap, topic + dlq + [stray], pills)
    assert not bad.ok and real == [stray] and "1 real events" in bad.detail
    # Replayed once: a second copy on the topic, so each consumer owes a second dead letter.
    replayed = topic + [msg(ASSIGNED, 1, chaos_poison="truncated-protobuf-1")]
    assert not checks.dead_letters(snap, replayed + dlq, pills)[0].ok
    # Written twice by a consumer killed between publishing it and recording it: the same
    # original record, one dead letter (as the dead_letters table says); another record is not.
    named = [msg(dlq_topic(ASSIGNED, c), chaos_poison="truncated-protobuf-1", dlq_original_partition="0",
                 dlq_original_offset="7") for c in ("mediation.assignments", "notification.assignments")]
    twice, _ = checks.dead_letters(snap, topic + named + named[:1], pills)
    assert twice.ok and "1 written twice" in twice.detail, twice.detail
    other = msg(dlq_topic(ASSIGNED, "mediation.assignments"), chaos_poison="truncated-protobuf-1",
                dlq_original_partition="0", dlq_original_offset="8")
    assert not checks.dead_letters(snap, topic + named + [other], pills)[0].ok


def test_published_only_committed_finds_a_phantom_and_a_row_marked_sent_that_is_not_on_its_topic():
    e1, e2 = str(uuid.uuid4()), str(uuid.uuid4())
    snap = Snapshot(outbox={"intake": [{"event_id": e1, "published": True}, {"event_id": e2, "published": True}]})
    both = [msg(REGISTERED, 0, event_id=e1), msg(REGISTERED, 1, event_id=e2)]
    tally = Tally()
    assert checks.published_only_committed(snap, both + [msg(REGISTERED, 2, event_id=e1)], tally).ok
    assert tally.republished == 1                                   # a relay's repeat: allowed, counted
    assert not checks.published_only_committed(snap, both[:1], Tally()).ok          # e2 marked sent, never sent
    phantom = msg(REGISTERED, 3, event_id=str(uuid.uuid4()))
    assert not checks.published_only_committed(snap, both + [phantom], Tally()).ok   # never committed


def _one_dispute() -> tuple[Dispute, Snapshot]:
    rng = random.Random(1)
    did, reg, assigned, mediator = (str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(4))
    req = intake_pb2.RegisterDisputeRequest(request_id="r-1", source=c.CASE_SOURCE_PARTY_APPLICATION,
                                            parties=[intake_pb2.PartyInput(), intake_pb2.PartyInput()])
    d = Dispute(req, dispute_id=did, status=intake_pb2.DISPUTE_STATUS_REGISTERED)
    payload = routing_pb2.DisputeAssigned(dispute_id=did, mediator_id=mediator).SerializeToString()
    deliveries = [{"delivery_id": str(uuid.uuid4()), "source_event_id": assigned, "template": t, "recipient_id": r,
                   "status": "sent"} for t, r in (("party", "p1"), ("party", "p2"), ("mediator", mediator))]
    succeeded = [{"event_type": catalog.DELIVERY_SUCCEEDED.key, "published": True, "dispute_id": did,
                  "payload": notification_pb2.DeliverySucceeded(delivery_id=x["delivery_id"]).SerializeToString()}
                 for x in deliveries]
    snap = Snapshot(
        outbox={"intake": [{"event_id": reg, "event_type": catalog.DISPUTE_REGISTERED.key, "published": True,
                            "dispute_id": did}],
                "routing": [{"event_id": assigned, "event_type": catalog.DISPUTE_ASSIGNED.key, "published": True,
                             "dispute_id": did, "payload": payload}],
                "notification": succeeded},
        inbox={"routing": [{"consumer": "routing.disputes", "event_id": reg}]},
        intake_disputes={"r-1": {"dispute_id": did}}, routing_disputes={did},
        assignments={did: {"status": "accepted"}}, cases={did: [{"mediator_id": mediator}]},
        deliveries={did: deliveries}, performance={did: [{"person_id": mediator}]})
    return d, snap


def test_journeys_pass_a_whole_dispute_and_name_where_another_stopped_or_doubled():
    d, snap = _one_dispute()
    tally = Tally()
    assert checks.journeys([d], snap, tally).ok and tally.accepted == 1 and tally.deliveries == 3

    d, snap = _one_dispute()
    snap.cases.clear()
    tally = Tally()
    assert not checks.journeys([d], snap, tally).ok and tally.lost["case opened"] == [d.dispute_id]

    d, snap = _one_dispute()
    snap.outbox["routing"].append({**snap.outbox["routing"][0], "event_id": str(uuid.uuid4())})
    tally = Tally()
    assert not checks.journeys([d], snap, tally).ok and tally.duplicated["dispute-assigned events"] == [d.dispute_id]

    d, snap = _one_dispute()
    snap.deliveries[d.dispute_id][0]["status"] = "pending"
    tally = Tally()
    assert not checks.journeys([d], snap, tally).ok and tally.lost["deliveries sent"] == [d.dispute_id]
