"""The people on the other side of the gRPC ports: counter clerks who register
disputes and retry with the same request id until they get an answer, mediators who
accept (a few decline) their offers, courts whose parties choose a mediator together,
and probes: single disputes followed all the way, to tell when the platform works
again after a fault."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc

from liandiao.auth import Role
from liandiao.common.v1 import common_pb2 as c
from liandiao.confirmation.v1 import confirmation_pb2_grpc
from liandiao.devtools.chaos.casework import Journey, proceed
from liandiao.devtools.clients import token
from liandiao.devtools.localrun import LocalServices
from liandiao.intake.v1 import intake_pb2, intake_pb2_grpc
from liandiao.mediation.v1 import mediation_pb2, mediation_pb2_grpc
from liandiao.notification.v1 import notification_pb2, notification_pb2_grpc
from liandiao.personnel.v1 import personnel_pb2, personnel_pb2_grpc
from liandiao.routing.v1 import routing_pb2, routing_pb2_grpc
from liandiao.rpc.channel import channel_options

CLERK = token(Role.CLERK, region_scope=("15",))
OPERATOR = token(Role.OPERATOR, region_scope=("15",))
# What a real client retries. INTERNAL and UNKNOWN are retried too (with the same request
# id that is safe), but they are counted: the platform should answer UNAVAILABLE instead.
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                       grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED, grpc.StatusCode.CANCELLED,
                       grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN})
# A client that retries soon after a restart: gRPC's default reconnect backoff grows to
# two minutes, which would measure the client library rather than the platform.
CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.min_reconnect_backoff_ms", 100),
                   ("grpc.max_reconnect_backoff_ms", 1000)]
# Mediation's and confirmation's clients also carry the platform's retry policy
# (liandiao.rpc.channel): the commands it retries on UNAVAILABLE are retried here under the faults.
RETRYING = ("mediation", "confirmation")
# Who is told when a dispute is assigned, besides its parties and the mediator.
REFERRED = frozenset({c.CASE_SOURCE_POLICE_REFERRAL, c.CASE_SOURCE_COURT_DELEGATION, c.CASE_SOURCE_COURT_COMMISSION})
DECLINE_REASON = "本周外出培训，无法接案"
CASEWORK_STEPS_PER_LOOK = 6

R = TypeVar("R")


@dataclass
class Dispute:
    """One registration as its client saw it, and how far the driver took it."""
    request: intake_pb2.RegisterDisputeRequest
    decline_first: bool = False
    probe: bool = False
    dispute_id: str = ""
    party_ids: list[str] = field(default_factory=list)
    status: int = 0                      # intake's DisputeStatus in the answer
    linked: bool = False
    attempts: int = 0
    refused: str = ""                    # a non-retryable answer (a valid request refused)
    unanswered: bool = False             # never answered within the client's patience
    assignment: int = 0                  # routing's last AssignmentStatus seen
    mediator_id: str = ""
    declined: bool = False
    tried_choices: set[str] = field(default_factory=set)
    journey: Journey | None = None       # the back half, when the driver takes it there (casework)

    @property
    def accepted(self) -> bool:
        """Accepted by intake: a dispute the platform now owes a mediator, a case and notices."""
        return bool(self.dispute_id) and self.status == intake_pb2.DISPUTE_STATUS_REGISTERED

    @property
    def expected_deliveries(self) -> int:
        referrer = self.request.source in REFERRED and bool(self.request.police.station_org_id
                                                           or self.request.court.court_org_id)
        return len(self.request.parties) + 1 + (1 if referrer else 0)


class Stubs:
    """One channel per service, reconnecting quickly after a restart."""

    def __init__(self, local: LocalServices):
        self.channels = {s: grpc.aio.insecure_channel(local.address(s), options=[
            *CHANNEL_OPTIONS, *(channel_options() if s in RETRYING else ())]) for s in local.services}
        self.intake = intake_pb2_grpc.IntakeServiceStub(self.channels["intake"])
        self.routing = routing_pb2_grpc.RoutingServiceStub(self.channels["routing"])
        self.mediation = mediation_pb2_grpc.MediationServiceStub(self.channels["mediation"])
        self.notification = notification_pb2_grpc.NotificationServiceStub(self.channels["notification"])
        self.confirmation = confirmation_pb2_grpc.ConfirmationServiceStub(self.channels["confirmation"])
        self.personnel = personnel_pb2_grpc.PersonnelServiceStub(self.channels["personnel"])

    async def close(self) -> None:
        for ch in self.channels.values():
            await ch.close()


class Answers:
    """Every answer the clients got, by method and status code."""

    def __init__(self) -> None:
        self.codes: Counter[tuple[str, str]] = Counter()

    async def call(self, method: str, call: Callable[[], Awaitable[R]]) -> R:
        try:
            reply = await call()
        except grpc.aio.AioRpcError as exc:
            self.codes[(method, exc.code().name)] += 1
            raise
        self.codes[(method, "OK")] += 1
        return reply

    def errors(self) -> Counter[str]:
        return Counter({code: n for (_, code), n in self.codes.items() if code != "OK"})


async def register(stubs: Stubs, answers: Answers, d: Dispute, patience: float, rng: random.Random,
                   timeout: float = 5.0) -> None:
    """A counter client: the same request (same request_id) again until an answer."""
    deadline = time.monotonic() + patience
    wait = 0.1
    while True:
        d.attempts += 1
        try:
            reply: Any = await answers.call("RegisterDispute", lambda: stubs.intake.RegisterDispute(
                d.request, metadata=CLERK, timeout=timeout))
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in RETRYABLE:
                d.refused = f"{exc.code().name}: {exc.details()}"
                return
            if time.monotonic() + wait > deadline:
                d.unanswered = True
                return
            await asyncio.sleep(wait * rng.uniform(0.5, 1.5))
            wait = min(wait * 2, 2.0)
            continue
        d.dispute_id, d.status, d.linked = reply.dispute.dispute_id, reply.dispute.status, reply.linked_to_existing
        d.party_ids = [p.party_id for p in reply.dispute.parties]
        return


class Desk:
    """The mediators (and the courts' parties choosing one): every open dispute is
    looked at again every half second, and its next step taken. Any error leaves it
    for the next look; a reply lost in a crash is found out from the assignment."""

    def __init__(self, stubs: Stubs, answers: Answers, concurrency: int = 16,
                 courts: dict[str, str] | None = None):
        self.stubs, self.answers = stubs, answers
        self.courts = courts or {}     # for casework.proceed: county code or court id -> court
        self.moved_at = time.monotonic()              # when an open dispute last took a step
        self._inputs_done_at: float | None = None
        self.pending: dict[str, Dispute] = {}
        self.finished: dict[str, Dispute] = {}
        self.sem = asyncio.Semaphore(concurrency)
        # A dispute that did not move is looked at less often (0.5 s growing to 5 s), so
        # an outage is not met with a storm of polls; any change brings it back to 0.5 s.
        self.next_look: dict[str, tuple[float, float, int]] = {}   # id -> (when, interval, last status)

    def add(self, d: Dispute) -> None:
        if d.accepted and d.dispute_id not in self.finished:
            self.pending[d.dispute_id] = d

    def waiting(self) -> int:
        """Disputes still waiting for their mediator (the back half is not a backlog)."""
        return sum(1 for d in self.pending.values() if d.assignment != routing_pb2.ASSIGNMENT_STATUS_ACCEPTED)

    async def run(self, inputs_done: asyncio.Event, patience: float) -> None:
        """Until the registrations are over and every dispute is settled (or, after
        they are over, ``patience`` seconds pass in which no open dispute moved: the
        back half takes many steps, so a slow machine still gets through, a stuck
        platform does not hold the run for ever)."""
        self.moved_at = time.monotonic()
        while True:
            if inputs_done.is_set() and not self.pending:
                return
            if inputs_done.is_set() and time.monotonic() > max(self.moved_at, self.inputs_done_at(inputs_done)) + patience:
                return
            now = time.monotonic()
            due = [d for d in list(self.pending.values()) if self.next_look.get(d.dispute_id, (0.0,))[0] <= now]
            await asyncio.gather(*(self._guarded(d) for d in due))
            await asyncio.sleep(0.5)

    def inputs_done_at(self, inputs_done: asyncio.Event) -> float:
        if self._inputs_done_at is None and inputs_done.is_set():
            self._inputs_done_at = time.monotonic()
        return self._inputs_done_at or 0.0

    def _progress(self, d: Dispute) -> tuple:
        return (d.assignment, d.journey.progress if d.journey else ())

    async def _guarded(self, d: Dispute) -> None:
        before = self._progress(d)
        async with self.sem:
            try:
                accepted = d.assignment == routing_pb2.ASSIGNMENT_STATUS_ACCEPTED
                done = accepted or await step(self.stubs, self.answers, d)
                j = d.journey
                if j is not None and d.assignment == routing_pb2.ASSIGNMENT_STATUS_ACCEPTED:
                    # Placed and accepted: the mediator, the committee and the court take it on,
                    # step after step while each one lands (a person does not wait half a second).
                    for _ in range(CASEWORK_STEPS_PER_LOOK):
                        was = j.progress
                        done = await proceed(self.stubs, self.answers, d.dispute_id, j, self.courts)
                        if done or j.progress == was:
                            break
            except grpc.aio.AioRpcError:
                done = False
        moved = self._progress(d) != before
        if done or moved:
            self.moved_at = time.monotonic()
        if done:
            self.pending.pop(d.dispute_id, None)
            self.finished[d.dispute_id] = d
            return
        _, interval, _ = self.next_look.get(d.dispute_id, (0.0, 0.5, 0))
        interval = 0.5 if moved else min(interval * 1.5, 5.0)
        self.next_look[d.dispute_id] = (time.monotonic() + interval, interval, d.assignment)


async def step(stubs: Stubs, answers: Answers, d: Dispute, timeout: float = 3.0) -> bool:
    """Looks at the dispute's assignment and takes its next step; True once settled
    (accepted, or left unplaced by routing's rules). Raises AioRpcError on any error."""
    try:
        a: Any = await answers.call("GetAssignment", lambda: stubs.routing.GetAssignment(
            routing_pb2.GetAssignmentRequest(dispute_id=d.dispute_id), metadata=CLERK, timeout=timeout))
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:   # routing has not taken it in yet
            return False
        raise
    d.assignment = a.status
    if a.status == routing_pb2.ASSIGNMENT_STATUS_ACCEPTED:
        d.mediator_id = a.mediator_id
        return True
    if a.status == routing_pb2.ASSIGNMENT_STATUS_UNASSIGNED:
        return True
    if a.status == routing_pb2.ASSIGNMENT_STATUS_AWAITING_CHOICE:
        await _parties_choose(stubs, answers, d, timeout)
        return False
    if a.status != routing_pb2.ASSIGNMENT_STATUS_OFFERED:
        return False
    me = token(Role.MEDIATOR, subject=a.mediator_id)
    d.declined = d.declined or a.offer_round > 1
    if d.decline_first and not d.declined:
        await answers.call("DeclineAssignment", lambda: stubs.routing.DeclineAssignment(
            routing_pb2.DeclineAssignmentRequest(dispute_id=d.dispute_id, mediator_id=a.mediator_id,
                                                 reason=DECLINE_REASON), metadata=me, timeout=timeout))
        d.declined = True
        return False
    try:
        accepted: Any = await answers.call("AcceptAssignment", lambda: stubs.routing.AcceptAssignment(
            routing_pb2.AcceptAssignmentRequest(dispute_id=d.dispute_id, mediator_id=a.mediator_id),
            metadata=me, timeout=timeout))
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.FAILED_PRECONDITION:  # an earlier accept landed; look again
            return False
        raise
    d.assignment, d.mediator_id = accepted.status, accepted.mediator_id
    return True


async def _parties_choose(stubs: Stubs, answers: Answers, d: Dispute, timeout: float) -> None:
    """A court-delegated dispute: the parties pick, together, an eligible mediator
    they have not tried; when none is left a clerk has routing place it by the rules."""
    found: Any = await answers.call("FindEligibleMediators", lambda: stubs.personnel.FindEligibleMediators(
        personnel_pb2.FindEligibleMediatorsRequest(region_code=d.request.region_code,
                                                   dispute_type=d.request.dispute_type),
        metadata=CLERK, timeout=timeout))
    untried = [m.person_id for m in found.mediators if m.person_id not in d.tried_choices]
    if not untried:
        await answers.call("Reassign", lambda: stubs.routing.Reassign(routing_pb2.ReassignRequest(
            dispute_id=d.dispute_id, reason="the parties could not agree on a mediator"),
            metadata=CLERK, timeout=timeout))
        return
    d.tried_choices.add(untried[0])
    try:
        await answers.call("RecordPartiesChoice", lambda: stubs.routing.RecordPartiesChoice(
            routing_pb2.RecordPartiesChoiceRequest(dispute_id=d.dispute_id, mediator_id=untried[0],
                                                   agreed_party_ids=d.party_ids), metadata=CLERK, timeout=timeout))
    except grpc.aio.AioRpcError as exc:
        if exc.code() not in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT):
            raise   # not this mediator (not eligible by routing's rules, or already placed): look again


async def follow(stubs: Stubs, answers: Answers, d: Dispute, rng: random.Random, patience: float) -> float | None:
    """A probe: registers ``d`` and takes it all the way, as its clerk and mediator
    would: offer accepted, case open, every delivery sent. Returns the seconds it
    took, or None when it was not done within ``patience``."""
    started = time.monotonic()
    deadline = started + patience
    await register(stubs, answers, d, patience, rng, timeout=3.0)
    if not d.accepted:
        return None
    while True:
        try:
            if await step(stubs, answers, d):
                break
        except grpc.aio.AioRpcError:
            pass
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.2)
    if d.assignment != routing_pb2.ASSIGNMENT_STATUS_ACCEPTED:
        return None

    async def case_open() -> bool:
        case: Any = await answers.call("GetCase", lambda: stubs.mediation.GetCase(
            mediation_pb2.GetCaseRequest(dispute_id=d.dispute_id), metadata=OPERATOR, timeout=3.0))
        return bool(case.status == mediation_pb2.CASE_STATUS_OPEN)

    async def all_sent() -> bool:
        listed: Any = await answers.call("ListDeliveries", lambda: stubs.notification.ListDeliveries(
            notification_pb2.ListDeliveriesRequest(dispute_id=d.dispute_id), metadata=CLERK, timeout=3.0))
        announced = [x for x in listed.deliveries if x.template.startswith("dispute-assigned/")]
        sent = [x for x in announced if x.status == notification_pb2.DELIVERY_STATUS_SENT]
        return len(sent) == len(announced) == d.expected_deliveries

    for probe in (case_open, all_sent):
        while True:
            try:
                if await probe():
                    break
            except grpc.aio.AioRpcError:
                pass
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.2)
    return time.monotonic() - started
