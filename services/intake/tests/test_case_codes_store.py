"""The parties' case code against the real PostgreSQL (issue 11): issued with the
registration and kept only as a keyed hash and a ciphertext; the same code for a
retry and a linked registration; the status projection fed by events in any order;
a wrong code and wrong digits answered alike; the lock after N failures, per code
and per client, holding across two instances (replicas) and concurrent attempts;
disputes of before codes given one; every look-up audited."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from liandiao.auth import Claims, Role
from liandiao.common.v1 import common_pb2
from liandiao.confirmation.v1 import confirmation_pb2 as cp
from liandiao.errors import Exhausted, InvalidInput, NotFound
from liandiao.events.consumer import ConsumedEvent
from liandiao.events.envelope import Envelope
from liandiao.mediation.v1 import mediation_pb2 as mp
from liandiao.routing.v1 import routing_pb2 as rp
from liandiao.rpc.convert import timestamp
from services.intake.app import Intake
from services.intake.casecodes import NO_MATCH, CaseCodes, client_key
from services.intake.domain import casecode
from services.intake.domain.lookups import LookupPolicy
from services.intake.domain.status import Stage
from services.intake.tests.test_intake_store import CLERK, PII, T0, new_id, registration

pytestmark = pytest.mark.stack
CONSOLE = Claims("console", "liandiao", Role.SERVICE, ("15",))
POLICY = LookupPolicy(code_failures=3, client_failures=6, window=timedelta(minutes=15), lock=timedelta(minutes=30))


@pytest.fixture
async def pool(service_pool):
    async with service_pool("intake") as p:
        yield p


@pytest.fixture
def codes(pool) -> CaseCodes:
    return CaseCodes(pool, PII, "https://console.example.gov.cn/", POLICY)


@pytest.fixture
def intake(pool, codes) -> Intake:
    return Intake(pool, PII, codes=codes)


def _ip() -> str:
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def _ids() -> tuple[str, str]:
    rng = random.Random(uuid.uuid4().int)
    return new_id(rng), new_id(rng)


def _event(name: str, payload, at: datetime) -> ConsumedEvent:
    env = Envelope(str(uuid.uuid4()), name, at, payload.dispute_id, "150102001", "", "")
    return ConsumedEvent(env, payload, "topic")


async def _feed(codes: CaseCodes, *events: ConsumedEvent) -> None:
    async with codes.pool.acquire() as conn:
        for e in events:
            async with conn.transaction():
                await codes.on_event(conn, e)


async def _registered(intake: Intake, **kw):
    reg = registration(_ids(), **kw)
    reg = replace(reg, parties=(replace(reg.parties[0], phone="13800131234"),
                                replace(reg.parties[1], phone="13900135678")))
    return await intake.register(reg, CLERK, T0), reg


async def test_a_registration_gets_a_code_kept_only_as_a_keyed_hash_and_a_ciphertext(intake, codes, pool):
    got, reg = await _registered(intake)
    code = got.case_code
    assert casecode.is_valid(code)
    row = await pool.fetchrow("select * from case_codes where dispute_id = $1", got.record.dispute.dispute_id)
    assert row["code_fp"] == PII.fingerprint(f"liandiao/case-code/v1:{code}") and code not in row["code_fp"]
    assert code.encode() not in bytes(row["code_enc"])
    assert codes.status_url(code) == f"https://console.example.gov.cn/party/?code={code[:5]}-{code[5:]}"
    # A retry of the same request and a second channel's registration of the same parties: the same code.
    again = await intake.register(reg, CLERK, T0)
    assert again.replayed and again.case_code == code
    linked = await intake.register(replace(reg, request_id=str(uuid.uuid4())), CLERK, T0)
    assert linked.linked and linked.case_code == code


async def test_the_party_sees_the_status_and_a_wrong_code_or_wrong_digits_answer_alike(intake, codes, pool):
    got, _ = await _registered(intake)
    ip = _ip()
    view = await codes.status(casecode.shown(got.case_code).lower(), "1234", ip, "zh", CONSOLE)
    assert view.stage is Stage.WAITING_FOR_MEDIATOR and view.your_name == "王**"
    other = await codes.status(got.case_code, "5678", ip, "en", CONSOLE)
    assert other.your_name == "李**" and other.language == "en"
    errors = []
    unknown = casecode.new_code()
    for code, digits in ((got.case_code, "0000"), (unknown, "1234")):
        with pytest.raises(NotFound) as refused:
            await codes.status(code, digits, _ip(), "zh", CONSOLE)
        errors.append(str(refused.value))
    assert errors == [NO_MATCH, NO_MATCH]
    # Every look-up is in the audit trail: the two answered, the two refused.
    did = str(got.record.dispute.dispute_id)
    reads = await pool.fetch("select actor, role, resource_kind, reason from audit_log where resource_id = $1 "
                             "and resource_kind = 'case-status'", did)
    assert [(r["actor"], r["role"]) for r in reads] == [("console", "service")] * 2
    refusals = await pool.fetchval("select count(*) from audit_log where resource_kind = 'case-code' "
                                   "and resource_id = any($1::text[]) and reason like 'refused, no match%'",
                                   [codes.fingerprint(got.case_code)[:16], codes.fingerprint(unknown)[:16]])
    assert refusals == 2


async def test_a_malformed_code_or_digits_are_invalid_input_naming_the_field(codes):
    good = casecode.new_code()
    for code, digits, ip, field in ((good[:-1] + ("0" if good[-1] != "0" else "1"), "1234", "10.0.0.1", "case_code"),
                                    (good, "12a4", "10.0.0.1", "phone_last4"), (good, "12345", "10.0.0.1",
                                                                                   "phone_last4"),
                                    (good, "1234", "not-an-ip", "client_address"), (good, "1234", "", "client_address")):
        with pytest.raises(InvalidInput) as bad:
            await codes.status(code, digits, ip, "zh", CONSOLE)
        assert [v.field for v in bad.value.violations] == [field]


async def test_the_third_failure_of_a_code_locks_it_even_against_the_right_digits(intake, codes, pool):
    got, _ = await _registered(intake)
    now = datetime.now(UTC)
    for i in range(2):
        with pytest.raises(NotFound):
            await codes.status(got.case_code, "9999", _ip(), "zh", CONSOLE, now + timedelta(seconds=i))
    # Two failures: the right digits still open the page (and the code's count starts again).
    assert (await codes.status(got.case_code, "1234", _ip(), "zh", CONSOLE, now + timedelta(seconds=3))).stage
    for i in range(3):
        with pytest.raises(NotFound):
            await codes.status(got.case_code, "9999", _ip(), "zh", CONSOLE, now + timedelta(seconds=10 + i))
    # Locked: the right digits, from another address, are refused for 30 minutes from the third failure.
    locked_at = now + timedelta(seconds=12)
    with pytest.raises(Exhausted) as locked:
        await codes.status(got.case_code, "1234", _ip(), "zh", CONSOLE, locked_at + timedelta(minutes=29, seconds=59))
    assert 1 <= locked.value.retry_after_seconds <= 2
    view = await codes.status(got.case_code, "1234", _ip(), "zh", CONSOLE, locked_at + timedelta(minutes=30))
    assert view.stage is Stage.WAITING_FOR_MEDIATOR
    assert await pool.fetchval("select count(*) from audit_log where resource_kind = 'case-code' and resource_id = $1 "
                               "and reason like 'refused, locked%'", codes.fingerprint(got.case_code)[:16]) == 1


async def test_a_client_guessing_many_codes_is_locked_and_a_lock_tells_nothing_of_existence(codes):
    ip, now = _ip(), datetime.now(UTC)
    for i in range(6):   # six codes nobody holds
        with pytest.raises(NotFound):
            await codes.status(casecode.new_code(), "1234", ip, "zh", CONSOLE, now + timedelta(seconds=i))
    with pytest.raises(Exhausted):
        await codes.status(casecode.new_code(), "1234", ip, "zh", CONSOLE, now + timedelta(seconds=7))
    # An IPv6 client is counted by its /64: another address of the same /64 is the same client.
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("::ffff:10.1.2.3") == "10.1.2.3"


async def test_the_limit_holds_across_two_replicas_and_concurrent_attempts(intake, pool, codes):
    got, _ = await _registered(intake)
    other_replica = CaseCodes(pool, PII, "https://console.example.gov.cn", POLICY)
    now = datetime.now(UTC)
    results = await asyncio.gather(*[
        (codes if i % 2 else other_replica).status(got.case_code, "0000", _ip(), "zh", CONSOLE, now)
        for i in range(8)], return_exceptions=True)
    # Under the row lock exactly three are counted and answered NOT_FOUND; the rest find the code locked.
    assert sorted(type(r).__name__ for r in results) == ["Exhausted"] * 5 + ["NotFound"] * 3


async def test_the_status_follows_the_events_in_whatever_order_they_arrive(intake, codes):
    got, reg = await _registered(intake)
    d = got.record.dispute
    did = str(d.dispute_id)
    me, other = (str(p.party_id) for p in got.record.parties)
    t = T0 + timedelta(days=1)
    ip = _ip()

    async def stage(digits: str = "1234"):
        return await codes.status(got.case_code, digits, ip, "zh", CONSOLE, t + timedelta(days=3))

    await _feed(codes, _event("routing.dispute-assigned.v1", rp.DisputeAssigned(
        dispute_id=did, mediator_id="m-1", mediator_name="王调解", organization_id="org-c",
        accepted_at=timestamp(t)), t))
    await _feed(codes, _event("mediation.session-scheduled.v1", mp.SessionScheduled(
        dispute_id=did, session_id="s-1", number=1, scheduled_for=timestamp(t + timedelta(days=5)), place="司法所"),
        t), _event("mediation.session-scheduled.v1", mp.SessionScheduled(
            dispute_id=did, session_id="s-1", number=1, scheduled_for=timestamp(t + timedelta(days=6)),
            place="嘎查调解室", rescheduled=True), t + timedelta(hours=1)))
    v = await stage()
    assert (v.stage, v.mediator_name, v.organization_id) == (Stage.IN_MEDIATION, "王调解", "org-c")
    assert v.next_session and v.next_session.place == "嘎查调解室"
    # A ruling that arrives before the agreement it rules on still wins.
    effective = t + timedelta(days=10)
    await _feed(codes, _event("confirmation.ruling-issued.v1", cp.RulingIssued(
        dispute_id=did, outcome=cp.RULING_OUTCOME_VALID, case_number="（2026）蒙0102民特3号",
        issued_at=timestamp(effective + timedelta(days=8)),
        enforcement_by=common_pb2.Deadline(last_day="2028-12-30")), effective + timedelta(days=8)))
    await _feed(codes, _event("mediation.agreement-effective.v1", mp.AgreementEffective(
        dispute_id=did, effective_at=timestamp(effective), effective_on=effective.date().isoformat(),
        content=mp.AgreementContent(terms=[mp.Term(obligor_id=other, obligee_id=me, deadline="2027-01-15")])),
        effective))
    v = await codes.status(got.case_code, "1234", ip, "zh", CONSOLE, effective + timedelta(days=9))
    assert v.stage is Stage.RULED_VALID and "（2026）蒙0102民特3号" in v.headline
    assert [(x.last_day, x.for_you) for x in v.deadlines] == [(date(2027, 1, 15), False), (date(2028, 12, 30), True)]
    # An event of a dispute intake does not hold is dropped, not dead-lettered.
    await _feed(codes, _event("routing.dispute-assigned.v1", rp.DisputeAssigned(dispute_id=str(uuid.uuid4())), t))


async def test_a_cancelled_session_is_not_shown_as_the_next_date(intake, codes):
    """mediation.session-cancelled: the page shows the next session still on, or none; a late,
    older announcement of the cancelled session does not bring it back."""
    got, _ = await _registered(intake)
    did = str(got.record.dispute.dispute_id)
    t = T0 + timedelta(days=1)
    ip = _ip()

    async def next_date():
        v = await codes.status(got.case_code, "1234", ip, "zh", CONSOLE, t + timedelta(days=1))
        return v.next_session and (v.next_session.number, v.next_session.place)

    def scheduled(sid: str, number: int, days: int, place: str, at: datetime):
        return _event("mediation.session-scheduled.v1", mp.SessionScheduled(
            dispute_id=did, session_id=f"{sid}-{did}", number=number, scheduled_for=timestamp(t + timedelta(days=days)),
            place=place), at)

    def cancelled(sid: str, number: int, days: int, place: str, at: datetime):
        return _event("mediation.session-cancelled.v1", mp.SessionCancelled(
            dispute_id=did, session_id=f"{sid}-{did}", number=number, scheduled_for=timestamp(t + timedelta(days=days)),
            place=place, reason="调解员临时出差", cancelled_at=timestamp(at)), at)

    await _feed(codes, _event("routing.dispute-assigned.v1", rp.DisputeAssigned(
        dispute_id=did, mediator_id="m-1", mediator_name="王调解", organization_id="org-c",
        accepted_at=timestamp(t)), t), scheduled("s-1", 1, 5, "司法所", t), scheduled("s-2", 2, 8, "嘎查调解室", t))
    assert await next_date() == (1, "司法所")
    await _feed(codes, cancelled("s-1", 1, 5, "司法所", t + timedelta(hours=2)))
    assert await next_date() == (2, "嘎查调解室")
    # The first announcement delivered again late (older than the cancellation) loses.
    await _feed(codes, scheduled("s-1", 1, 5, "司法所", t + timedelta(hours=1)))
    assert await next_date() == (2, "嘎查调解室")
    # A cancellation that arrives before its session's announcement still holds.
    await _feed(codes, cancelled("s-2", 2, 8, "嘎查调解室", t + timedelta(hours=3)),
                scheduled("s-2", 2, 8, "嘎查调解室", t + timedelta(minutes=30)))
    assert await next_date() is None


async def test_the_same_session_id_in_two_disputes_is_two_sessions(intake, codes):
    """The projection keys a session by its dispute too: one dispute's announcement never
    overwrites, or is dropped for, another's with the same id."""
    t = T0 + timedelta(days=1)
    shown = []
    for place, at in (("司法所", t + timedelta(hours=2)), ("嘎查调解室", t + timedelta(hours=1))):
        got, _ = await _registered(intake)
        did = str(got.record.dispute.dispute_id)
        await _feed(codes, _event("routing.dispute-assigned.v1", rp.DisputeAssigned(
            dispute_id=did, mediator_id="m-1", mediator_name="王调解", organization_id="org-c",
            accepted_at=timestamp(t)), t), _event("mediation.session-scheduled.v1", mp.SessionScheduled(
                dispute_id=did, session_id="s-shared", number=1, scheduled_for=timestamp(t + timedelta(days=5)),
                place=place), at))
        shown.append((got.case_code, place))
    for code, place in shown:
        v = await codes.status(code, "1234", _ip(), "zh", CONSOLE, t + timedelta(days=1))
        assert v.next_session and v.next_session.place == place


async def test_disputes_registered_before_codes_get_one_at_start(intake, codes, pool):
    got, _ = await _registered(intake)
    did = got.record.dispute.dispute_id
    await pool.execute("delete from case_codes where dispute_id = $1", did)
    assert await codes.issue_missing() >= 1
    async with pool.acquire() as conn:
        code = await codes.code_of(conn, did)
    assert casecode.is_valid(code) and code != got.case_code


async def test_the_receipt_holds_the_code_its_qr_code_and_a_printable_pdf(intake, codes, pool):
    got, _ = await _registered(intake)
    r = await codes.receipt(str(got.record.dispute.dispute_id), CLERK)
    assert r.code == got.case_code and r.status_url.endswith(casecode.shown(r.code))
    assert r.qr_svg.startswith("<svg") and r.qr_png.startswith(b"\x89PNG") and r.pdf.startswith(b"%PDF-")
    stranger = Claims("clerk-9", "office-9", Role.CLERK, ("1505",))
    with pytest.raises(NotFound):
        await codes.receipt(str(got.record.dispute.dispute_id), stranger)
