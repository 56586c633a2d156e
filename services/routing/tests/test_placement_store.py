"""Routing against the real PostgreSQL: offers and their deadlines across the
National Day holiday, recusal kept by consent, the court-delegated choice window,
joint consultations. The clock is set, never read from the machine."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from liandiao.auth import Claims, Role
from liandiao.common.v1 import common_pb2
from liandiao.config import _DEV_PII_KEY
from liandiao.errors import RuleViolation
from liandiao.events.consumer import ConsumedEvent
from liandiao.events.envelope import Envelope
from liandiao.intake.v1 import intake_pb2
from liandiao.personnel.v1 import personnel_pb2
from liandiao.pii import PiiCipher
from services.routing.app import Routing
from services.routing.limits import CONSULTATION_REASONS

pytestmark = pytest.mark.stack
CST = timedelta(hours=8)
PII = PiiCipher(_DEV_PII_KEY)
CLERK = Claims("clerk-1", "office-1", Role.CLERK, ("15",))


def cst(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - CST


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _event(payload) -> ConsumedEvent:
    env = Envelope(str(uuid.uuid4()), "x", datetime.now(UTC), "", "", "", "")
    return ConsumedEvent(env, payload, "topic")


def _ts(at: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(at)
    return out


async def add_mediator(routing: Routing, pool, region: str, dtype: str, relations=()) -> str:
    pid = str(uuid.uuid4())
    person = personnel_pb2.Person(
        person_id=pid, name=f"调解员{pid[:4]}", organization_id="committee-1", roles=[personnel_pb2.ROLE_MEDIATOR],
        specialties=[dtype], languages=["zh"], region_codes=[region],
        roster_status=personnel_pb2.ROSTER_STATUS_ACTIVE, on_duty=True, updated_at=_ts(datetime.now(UTC)),
        relations=[personnel_pb2.Relation(kind=personnel_pb2.RELATION_KIND_NEAR_RELATIVE, id_fingerprint=f)
                   for f in relations])
    async with pool.acquire() as conn, conn.transaction():
        await routing.on_person_changed(conn, _event(personnel_pb2.PersonChanged(person=person)))
    return pid


async def register(routing: Routing, pool, region: str, dtype: str, *, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION,
                   ids=("11010519491231002X", "440524188001010014"), risk=0, chosen="") -> intake_pb2.DisputeRegistered:
    d = intake_pb2.DisputeRegistered(
        dispute_id=str(uuid.uuid4()), region_code=region, dispute_type=dtype, source=source, risk_score=risk,
        registered_at=_ts(routing.clock()), chosen_mediator_id=chosen,
        parties=[common_pb2.PartyRef(party_id=str(uuid.uuid4()), id_fingerprint=PII.fingerprint(i)) for i in ids])
    async with pool.acquire() as conn, conn.transaction():
        await routing.on_dispute_registered(conn, _event(d))
    return d


@pytest.fixture
async def pool(service_pool):
    async with service_pool("routing") as p:
        yield p


def unique_region() -> tuple[str, str]:
    """A village of its own per test, so tests do not see each other's mediators."""
    return "150502001001", f"type_{uuid.uuid4().hex[:6]}"


async def test_offer_made_before_national_day_runs_three_working_days_to_the_make_up_saturday(pool):
    region, dtype = unique_region()
    clock = Clock(cst(2026, 9, 30, 10))           # Wednesday; Oct 1-7 holiday; Sat Oct 10 is a working day
    routing = Routing(pool, clock=clock)
    first = await add_mediator(routing, pool, region, dtype)
    second = await add_mediator(routing, pool, region, dtype)
    d = await register(routing, pool, region, dtype)
    offer = await routing.get(d.dispute_id, CLERK)
    assert offer.respond_by_last_day == date(2026, 10, 10)     # Oct 8, 9, 10: day 3 is the make-up Saturday
    offered = str(offer.mediator_id)

    assert await routing.sweep_due(cst(2026, 10, 10, 23, 59)) == 0      # still day 3
    assert await routing.sweep_due(cst(2026, 10, 11, 0, 0)) == 1        # day 4: lapsed
    again = await routing.get(d.dispute_id, CLERK)
    assert again.offer_round == 2 and str(again.mediator_id) == ({first, second} - {offered}).pop()
    async with pool.acquire() as conn:
        lapsed = await conn.fetchval("select count(*) from outbox where event_type = 'routing.assignment-expired.v1' "
                                     "and headers->>'dispute-id' = $1", d.dispute_id)
    assert lapsed == 1


async def test_acceptance_on_day_three_counts_and_on_day_four_is_refused(pool):
    region, dtype = unique_region()
    routing = Routing(pool, clock=Clock(cst(2026, 9, 30, 10)))
    await add_mediator(routing, pool, region, dtype)
    d1 = await register(routing, pool, region, dtype)
    d2 = await register(routing, pool, region, dtype)
    a1, a2 = await routing.get(d1.dispute_id, CLERK), await routing.get(d2.dispute_id, CLERK)
    ok = await routing.accept(d1.dispute_id, str(a1.mediator_id), CLERK, now=cst(2026, 10, 10, 23, 59))
    assert ok.status == "accepted"
    with pytest.raises(RuleViolation, match="SPC-Online Art.12"):
        await routing.accept(d2.dispute_id, str(a2.mediator_id), CLERK, now=cst(2026, 10, 11, 0, 0))


async def test_a_related_mediator_steps_aside_unless_the_parties_keep_them_after_disclosure(pool):
    region, dtype = unique_region()
    routing = Routing(pool, clock=Clock(cst(2026, 11, 23, 10)))
    related = await add_mediator(routing, pool, region, dtype, relations=[PII.fingerprint("11010519491231002X")])
    other = await add_mediator(routing, pool, "150502", dtype)       # only at county level
    d = await register(routing, pool, region, dtype)
    placed = await routing.get(d.dispute_id, CLERK)
    assert str(placed.mediator_id) == other, "the related mediator must step aside, even though nearer"
    assert "widened" in placed.reason and placed.reason.startswith("covers county")

    # The parties want the related mediator anyway: only with the disclosure and everyone's agreement.
    await routing.reassign(d.dispute_id, "parties ask for a joint choice", CLERK)
    parties = [p.party_id for p in d.parties]
    with pytest.raises(RuleViolation, match="SPC-Invited Art.12"):
        await routing.record_parties_choice(d.dispute_id, related, parties[:1], "", CLERK)
    with pytest.raises(RuleViolation, match="SPC-Invited Art.15"):
        await routing.record_parties_choice(d.dispute_id, related, parties, "", CLERK)


async def test_recusal_waived_by_every_party_keeps_the_related_mediator(pool):
    region, dtype = unique_region()
    routing = Routing(pool, clock=Clock(cst(2026, 11, 23, 10)))
    related = await add_mediator(routing, pool, region, dtype, relations=[PII.fingerprint("440524188001010014")])
    d = await register(routing, pool, region, dtype)
    assert (await routing.get(d.dispute_id, CLERK)).status == "unassigned"      # nobody else qualifies
    kept = await routing.record_parties_choice(d.dispute_id, related, [p.party_id for p in d.parties],
                                               "调解员系被申请人的表兄，双方知情后同意", CLERK)
    assert kept.status == "offered" and str(kept.mediator_id) == related


async def test_court_delegated_dispute_waits_two_working_days_for_the_parties_choice(pool):
    region, dtype = unique_region()
    clock = Clock(cst(2026, 2, 13, 10))  # Friday; Sat Feb 14 is a make-up working day, Feb 15-23 Spring Festival
    routing = Routing(pool, clock=clock)
    chosen = await add_mediator(routing, pool, "150502", dtype)
    await add_mediator(routing, pool, region, dtype)
    late = await register(routing, pool, region, dtype, source=common_pb2.CASE_SOURCE_COURT_DELEGATION)
    waiting = await routing.get(late.dispute_id, CLERK)
    assert waiting.status == "awaiting_choice" and waiting.choose_by_last_day == date(2026, 2, 24)  # Sat 14, Tue 24

    on_time = await register(routing, pool, region, dtype, source=common_pb2.CASE_SOURCE_COURT_DELEGATION)
    clock.now = cst(2026, 2, 24, 23, 59)
    picked = await routing.record_parties_choice(on_time.dispute_id, chosen,
                                                 [p.party_id for p in on_time.parties], "", CLERK)
    assert str(picked.mediator_id) == chosen and "joint choice" in picked.reason

    assert await routing.sweep_due(cst(2026, 2, 25, 0, 0)) >= 1       # window over: appointed by the rules
    appointed = await routing.get(late.dispute_id, CLERK)
    assert appointed.status == "offered" and "joint choice" not in appointed.reason
    clock.now = cst(2026, 2, 25, 9)
    with pytest.raises(RuleViolation, match="routing.already-placed"):
        await routing.record_parties_choice(late.dispute_id, chosen, [p.party_id for p in late.parties], "",
                                            CLERK)


async def test_a_high_risk_dispute_calls_a_joint_consultation_and_its_plan_is_recorded(pool):
    region, dtype = unique_region()
    routing = Routing(pool, clock=Clock(cst(2026, 11, 23, 10)))
    await add_mediator(routing, pool, region, dtype)
    d = await register(routing, pool, region, dtype, risk=70)
    called = await routing.get_consultation(d.dispute_id, CLERK)
    assert called.status == "called" and called.called_by == "routing" and "high risk" in called.reasons[0]
    async with pool.acquire() as conn:
        escalated = await conn.fetchval("select count(*) from outbox where event_type = 'routing.dispute-escalated.v1' "
                                        "and headers->>'dispute-id' = $1", d.dispute_id)
    assert escalated == 1
    planned = await routing.record_consultation_plan(d.dispute_id, ["office-1", "station-1", "tribunal-1"],
                                                     "司法所牵头，派出所、法庭联合调处", "m-lead", ["m-2"], CLERK)
    assert planned.status == "planned" and planned.lead_mediator_id == "m-lead"
    calm = await register(routing, pool, region, dtype, risk=49)
    with pytest.raises(Exception, match="no joint consultation"):
        await routing.get_consultation(calm.dispute_id, CLERK)


async def test_a_consultation_takes_a_bounded_number_of_reasons(pool):
    region, dtype = unique_region()
    routing = Routing(pool, clock=Clock(cst(2026, 11, 23, 10)))
    d = await register(routing, pool, region, dtype, risk=70)   # the rules call it with their reason
    for n in range(CONSULTATION_REASONS - 1):
        await routing.call_consultation(d.dispute_id, f"理由{n}", CLERK)
    with pytest.raises(RuleViolation, match="consultation.reasons"):
        await routing.call_consultation(d.dispute_id, "再加一条", CLERK)
    assert len((await routing.get_consultation(d.dispute_id, CLERK)).reasons) == CONSULTATION_REASONS


async def test_an_unplaced_dispute_is_placed_when_a_mediator_who_can_take_it_joins(pool):
    region, dtype = unique_region()
    routing = Routing(pool, clock=Clock(cst(2026, 11, 23, 10)))
    d = await register(routing, pool, region, dtype)
    assert (await routing.get(d.dispute_id, CLERK)).status == "unassigned"
    await add_mediator(routing, pool, "1504", dtype)            # another prefecture: still nobody
    assert (await routing.get(d.dispute_id, CLERK)).status == "unassigned"
    joined = await add_mediator(routing, pool, "150502", dtype)  # covers the dispute's county
    placed = await routing.get(d.dispute_id, CLERK)
    assert placed.status == "offered" and str(placed.mediator_id) == joined and placed.offer_round == 2


async def test_an_offer_made_at_year_end_is_provisional_until_next_years_holidays_are_loaded(pool):
    from liandiao.legaltime import parse_calendar

    region, dtype = unique_region()
    routing = Routing(pool, clock=Clock(cst(2026, 12, 30, 10)))     # Wed; 3 working days run into 2027
    await add_mediator(routing, pool, region, dtype)
    d = await register(routing, pool, region, dtype)
    offer = await routing.get(d.dispute_id, CLERK)
    assert offer.respond_by_provisional and offer.respond_by_last_day == date(2027, 1, 4)  # Thu 31, Fri 1, Mon 4
    loaded = parse_calendar({"format": 1, "years": {
        "2026": {"source": "t", "holidays": [], "makeup_working_days": []},
        "2027": {"source": "t", "holidays": [{"name": "元旦", "first": "2027-01-01", "last": "2027-01-03"}],
                 "makeup_working_days": []}}})
    assert await Routing(pool, calendar=loaded).recompute_provisional_deadlines() >= 1
    firm = await routing.get(d.dispute_id, CLERK)
    assert not firm.respond_by_provisional and firm.respond_by_last_day == date(2027, 1, 5)  # Thu 31, Mon 4, Tue 5


async def test_a_decline_needs_a_reason_and_the_dispute_goes_to_the_next_mediator(pool):
    from liandiao.errors import InvalidInput

    region, dtype = unique_region()
    routing = Routing(pool, clock=Clock(cst(2026, 11, 23, 10)))
    a, b = sorted([await add_mediator(routing, pool, region, dtype), await add_mediator(routing, pool, region, dtype)])
    d = await register(routing, pool, region, dtype)
    first = await routing.get(d.dispute_id, CLERK)
    assert str(first.mediator_id) == a                       # equal workloads: the tie goes by id
    with pytest.raises(InvalidInput, match="reason"):
        await routing.decline(d.dispute_id, a, " ", CLERK)
    second = await routing.decline(d.dispute_id, a, "回避：与申请人同村且有宿怨", CLERK)
    assert str(second.mediator_id) == b and second.offer_round == 2
    async with pool.acquire() as conn:
        declined = await conn.fetchrow("select outcome, reason from offers where dispute_id = $1 and offer_round = 1",
                                       uuid.UUID(d.dispute_id))
    assert dict(declined) == {"outcome": "declined", "reason": "回避：与申请人同村且有宿怨"}


async def test_open_cases_balance_new_offers_between_equally_qualified_mediators(pool):
    region, dtype = unique_region()
    routing = Routing(pool, clock=Clock(cst(2026, 11, 23, 10)))
    mediators = {await add_mediator(routing, pool, region, dtype) for _ in range(2)}
    placed = [str((await routing.get((await register(routing, pool, region, dtype)).dispute_id, CLERK)).mediator_id)
              for _ in range(4)]
    assert {m: placed.count(m) for m in mediators} == dict.fromkeys(mediators, 2)


async def test_a_case_that_ended_no_longer_counts_in_its_mediators_workload(pool):
    """The fewest-open-cases rule counts open cases: once mediation says the case ended
    (agreement-effective or mediation-failed), the mediator is as free as one who never had it."""
    from liandiao.mediation.v1 import mediation_pb2

    region, dtype = unique_region()
    routing = Routing(pool, clock=Clock(cst(2026, 11, 23, 10)))
    a, b = sorted([await add_mediator(routing, pool, region, dtype), await add_mediator(routing, pool, region, dtype)])
    first = await register(routing, pool, region, dtype)
    assert str((await routing.get(first.dispute_id, CLERK)).mediator_id) == a      # equal: the tie goes by id
    await routing.accept(first.dispute_id, a, CLERK, now=cst(2026, 11, 23, 11))
    busy = await register(routing, pool, region, dtype)
    assert str((await routing.get(busy.dispute_id, CLERK)).mediator_id) == b       # a has one open case
    await routing.accept(busy.dispute_id, b, CLERK, now=cst(2026, 11, 23, 11))
    third = await register(routing, pool, region, dtype)
    assert str((await routing.get(third.dispute_id, CLERK)).mediator_id) == a      # one each: by id
    await routing.accept(third.dispute_id, a, CLERK, now=cst(2026, 11, 23, 11))
    for ended in (mediation_pb2.AgreementEffective(dispute_id=first.dispute_id),
                  mediation_pb2.MediationFailed(dispute_id=third.dispute_id),
                  mediation_pb2.MediationFailed(dispute_id=first.dispute_id)):   # a second ending changes nothing
        async with pool.acquire() as conn, conn.transaction():
            await routing.on_case_ended(conn, _event(ended))
    after = await register(routing, pool, region, dtype)
    assert str((await routing.get(after.dispute_id, CLERK)).mediator_id) == a      # a: 0 open (2 ended), b: 1
