"""Intake against the real PostgreSQL: channels and agents stored and read back,
duplicates linked (also when two channels register at once), early warnings
acknowledged by the liaison officers of the covering offices and escalated when
they are not. The clock is passed in. Disputes here are in Hohhot (1501), away
from the prefecture the end-to-end tests seed."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from liandiao import db
from liandiao.auth import Claims, Role
from liandiao.config import _DEV_PII_KEY
from liandiao.devtools.province import resident_id
from liandiao.errors import NotFound, PermissionDenied, RuleViolation
from liandiao.events.consumer import ConsumedEvent
from liandiao.events.envelope import Envelope
from liandiao.intake.v1 import intake_pb2
from liandiao.mediation.v1 import mediation_pb2
from liandiao.personnel.v1 import personnel_pb2 as pe
from liandiao.pii import PiiCipher
from liandiao.rpc.convert import aware
from services.intake import store
from services.intake.app import DisputeQuery, Intake
from services.intake.domain.model import (
    AgentAuthority,
    AgentIn,
    Consent,
    IdType,
    PartyIn,
    PartyKind,
    Procedure,
    Referral,
    ReferralKind,
    Registration,
    RiskFactors,
    Side,
    Source,
    Status,
)
from services.intake.domain.rules import duplicate_key
from services.intake.domain.warnings import WarningPolicy

pytestmark = pytest.mark.stack
PII = PiiCipher(_DEV_PII_KEY)
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
COUNTY = "150102"            # 新城区, 呼和浩特市
TOWN = "150102001"
CLERK = Claims("clerk-1", "office-1", Role.CLERK, ("1501",))
T0 = datetime.now(UTC).replace(microsecond=0)
RISKY = RiskFactors(threats_of_violence=True, prior_incidents=1)   # 40 + 10 = the default threshold


def new_id(rng: random.Random, region: str = COUNTY) -> str:
    born = date(rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28))
    return resident_id(rng, region, born, rng.random() < 0.5)


def party(side: Side, id_number: str, name: str = "王建国", **kw) -> PartyIn:
    base = PartyIn(kind=PartyKind.PERSON, side=side, name=name, phone="13800138000", id_type=IdType.RESIDENT_ID,
                   id_number=id_number, consent=Consent.GIVEN, disclosed_at=T0 - timedelta(minutes=30))
    return replace(base, **kw)


def registration(ids: tuple[str, str], **kw) -> Registration:
    base = Registration(
        request_id=str(uuid.uuid4()), region_code=TOWN, dispute_type="neighbours", source=Source.PARTY_APPLICATION,
        referral=Referral(), facts="邻里纠纷：排水沟堵塞", requested_outcome="疏通", amount_fen=0,
        parties=(party(Side.APPLICANT, ids[0]), party(Side.RESPONDENT, ids[1], name="李秀英")),
        registering_person_id="clerk-1", registering_org_id="office-1",
    )
    return replace(base, **kw)


def police(station: str = "station-1") -> dict:
    return dict(source=Source.POLICE_REFERRAL, referral=Referral(
        kind=ReferralKind.POLICE, org_id=station, person_id="officer-7", reference="JQ20261123001"))


@pytest.fixture
async def pool(service_pool):
    async with service_pool("intake") as p:
        yield p


@pytest.fixture
def intake(pool) -> Intake:
    return Intake(pool, PII, warning_policy=WarningPolicy(escalate_after=timedelta(minutes=120), max_level=3))


@pytest.fixture
def ids() -> tuple[str, str]:
    rng = random.Random(uuid.uuid4().int)
    return new_id(rng), new_id(rng)


async def events_of(pool, dispute_id, event_type: str) -> list[tuple[bytes, dict]]:
    import json
    rows = await pool.fetch("select payload, headers from outbox where headers->>'dispute-id' = $1 "
                            "and event_type = $2 order by id", str(dispute_id), event_type)
    return [(bytes(r["payload"]), json.loads(r["headers"])) for r in rows]


def _event(payload, at: datetime | None = None) -> ConsumedEvent:
    env = Envelope(str(uuid.uuid4()), "x", at or datetime.now(UTC), "", "", "", "")
    return ConsumedEvent(env, payload, "topic")


# ---- channels and agents ----------------------------------------------------------

async def test_each_channel_is_stored_with_its_referral_and_read_back(intake, pool):
    rng = random.Random(uuid.uuid4().int)
    channels = {
        Source.POLICE_REFERRAL: police()["referral"],
        Source.COURT_COMMISSION: Referral(kind=ReferralKind.COURT, org_id="tribunal-1",
                                          reference="（2026）蒙0102民初88号", procedure=Procedure.SIMPLIFIED),
        Source.DEPARTMENT_REFERRAL: Referral(kind=ReferralKind.DEPARTMENT, department_name="新城区信访局",
                                             reference="信转〔2026〕17号"),
    }
    for source, referral in channels.items():
        got = await intake.register(registration((new_id(rng), new_id(rng)), source=source, referral=referral),
                                    CLERK, T0)
        record = await intake.get(str(got.record.dispute.dispute_id), CLERK)
        d = record.dispute
        assert (d.source, d.referring_org_id, d.referral_reference, d.referral_department, d.court_procedure) == (
            source.value, referral.org_id, referral.reference, referral.department_name,
            referral.procedure.value if referral.procedure else None)
        assert [(g.source, g.linked) for g in record.registrations] == [(source.value, False)]


async def test_agents_are_encrypted_at_rest_and_travel_as_fingerprints(intake, pool, ids):
    agent_id = new_id(random.Random(uuid.uuid4().int))
    agent = AgentIn(name="赵律师", id_type=IdType.RESIDENT_ID, id_number=agent_id, phone="13900139000",
                    authority=AgentAuthority.SPECIAL, scope="代为承认、变更请求，进行和解")
    reg = registration(ids)
    reg = replace(reg, parties=(replace(reg.parties[0], agents=(agent,)), reg.parties[1]))
    got = await intake.register(reg, CLERK, T0)
    stored = await pool.fetchrow("select agent_id, id_number_enc, id_fp, id_masked, phone_masked, authority, scope "
                                 "from agents where dispute_id = $1", got.record.dispute.dispute_id)
    assert agent_id.encode() not in bytes(stored["id_number_enc"])
    assert store.AGENT_ID_NUMBER.decrypt(PII, stored["id_number_enc"], stored["agent_id"]) == agent_id
    assert stored["id_masked"] == agent_id[:6] + "********" + agent_id[-4:]
    assert (stored["phone_masked"], stored["authority"]) == ("139****9000", "special")
    (payload, _), = await events_of(pool, got.record.dispute.dispute_id, "intake.dispute-registered.v1")
    event = intake_pb2.DisputeRegistered.FromString(payload)
    assert list(event.parties[0].agent_fingerprints) == [PII.fingerprint(agent_id)]
    assert list(event.parties[1].agent_fingerprints) == []
    assert agent_id.encode() not in payload and ids[0].encode() not in payload


# ---- duplicates ---------------------------------------------------------------------

async def test_a_second_channel_links_to_the_open_dispute_and_nothing_goes_out_again(intake, pool, ids):
    first = await intake.register(registration(ids), CLERK, T0)
    # The police refer the same two people (listed the other way round) for the same kind of dispute.
    swapped = (party(Side.APPLICANT, ids[1], name="李秀英"), party(Side.RESPONDENT, ids[0]))
    second_req = registration(ids, parties=swapped, **police())
    second = await intake.register(second_req, CLERK, T0 + timedelta(hours=3))
    did = first.record.dispute.dispute_id
    assert second.linked and not first.linked
    assert second.record.dispute.dispute_id == did
    assert any(f"linked to open dispute {did}" in w for w in second.warnings)
    assert [(g.source, g.linked, g.referring_org_id, g.referral_reference) for g in second.record.registrations] == [
        ("party_application", False, "", ""), ("police_referral", True, "station-1", "JQ20261123001")]
    # The linked registration stored no second copy of the parties.
    assert await pool.fetchval("select count(*) from parties where id_fp = $1", PII.fingerprint(ids[0])) == 1
    assert len(await events_of(pool, did, "intake.dispute-registered.v1")) == 1

    again = await intake.register(second_req, CLERK, T0 + timedelta(hours=4))
    assert (again.linked, again.replayed, again.record.dispute.dispute_id) == (True, True, did)
    assert await pool.fetchval("select count(*) from registrations where dispute_id = $1", did) == 2


@pytest.mark.parametrize("change", [
    dict(dispute_type="contract"),
    dict(third=True),
], ids=["another-type", "another-party"])
async def test_other_type_or_other_parties_open_a_dispute_of_their_own(intake, ids, change):
    first = await intake.register(registration(ids), CLERK, T0)
    reg = registration(ids, **police())
    if change.get("third"):
        extra = party(Side.RESPONDENT, new_id(random.Random(uuid.uuid4().int)), name="张志强")
        reg = replace(reg, parties=(*reg.parties, extra))
    else:
        reg = replace(reg, **change)
    second = await intake.register(reg, CLERK, T0)
    assert not second.linked and second.record.dispute.dispute_id != first.record.dispute.dispute_id


async def test_parties_without_two_ids_and_refused_registrations_are_never_linked(intake, ids):
    no_id = party(Side.RESPONDENT, "", name="无证人", id_type=IdType.NONE, no_id_reason="身份证遗失")
    reg = registration(ids)
    thin = replace(reg, parties=(reg.parties[0], no_id))
    a = await intake.register(thin, CLERK, T0)
    b = await intake.register(replace(thin, request_id=str(uuid.uuid4())), CLERK, T0)
    assert not b.linked and a.record.dispute.dispute_id != b.record.dispute.dispute_id

    await intake.register(reg, CLERK, T0)
    refusing = replace(reg.parties[1], consent=Consent.REFUSED, routes_told=("litigation",))
    refused = await intake.register(replace(reg, request_id=str(uuid.uuid4()), parties=(reg.parties[0], refusing)),
                                    CLERK, T0)
    assert not refused.linked and refused.record.dispute.status == Status.REFUSED


async def test_two_channels_registering_the_same_dispute_at_once_make_one_dispute(intake, pool):
    rng = random.Random(uuid.uuid4().int)
    for _ in range(5):
        ids = (new_id(rng), new_id(rng))
        counter, station = registration(ids), registration(ids, **police())
        results = await asyncio.gather(intake.register(counter, CLERK, T0), intake.register(station, CLERK, T0))
        assert len({r.record.dispute.dispute_id for r in results}) == 1
        assert sorted(r.linked for r in results) == [False, True]
        did = results[0].record.dispute.dispute_id
        assert await pool.fetchval("select count(*) from registrations where dispute_id = $1", did) == 2
        assert len(await events_of(pool, did, "intake.dispute-registered.v1")) == 1


async def test_once_mediation_ended_the_same_parties_open_a_new_dispute(intake, ids):
    first = await intake.register(registration(ids), CLERK, T0)
    did = first.record.dispute.dispute_id
    async with intake.pool.acquire() as conn, conn.transaction():
        await intake.on_mediation_ended(conn, _event(mediation_pb2.AgreementEffective(dispute_id=str(did)),
                                                     T0 + timedelta(days=20)))
    assert (await intake.get(str(did), CLERK)).dispute.closed_at == T0 + timedelta(days=20)
    later = await intake.register(registration(ids), CLERK, T0 + timedelta(days=200))
    assert not later.linked and later.record.dispute.dispute_id != did


async def test_the_key_of_a_dispute_registered_before_the_migration_is_the_same(stack_env, tmp_path):
    """0002 computes the keys of existing disputes in SQL; they must equal the
    domain's, or an old dispute would not be found again."""
    schema, dsn = f"intake_mig_{uuid.uuid4().hex[:8]}", stack_env["LIANDIAO_DATABASE_URL"]
    only_first = tmp_path / "only_0001"
    only_first.mkdir()
    (only_first / "0001_disputes.sql").write_text((MIGRATIONS / "0001_disputes.sql").read_text())
    conn = await asyncpg.connect(dsn)
    try:
        await db.migrate(dsn, schema, only_first)
        fps = [PII.fingerprint(i) for i in ("11010519491231002X", "440524188001010014")]
        did = uuid.uuid4()
        await conn.execute(f"insert into {schema}.disputes (dispute_id, request_id, region_code, prefecture, "
                           "dispute_type, source, facts, status, registered_at) values "
                           "($1, 'old-1', '150102', '1501', 'neighbours', 'party_application', 'x', 'registered', now())",
                           did)
        for pos, fp in enumerate(fps):
            await conn.execute(f"insert into {schema}.parties (party_id, dispute_id, position, kind, side, name, "
                               "id_fp, consent) values ($1, $2, $3, 'person', 'applicant', 'x', $4, 'given')",
                               uuid.uuid4(), did, pos, fp)
        await db.migrate(dsn, schema, MIGRATIONS)
        keys = await conn.fetch(f"select duplicate_key, dispute_id from {schema}.dispute_keys")
        regs = await conn.fetch(f"select request_id, linked from {schema}.registrations")
    finally:
        await conn.execute(f"drop schema if exists {schema} cascade")
        await conn.close()
    assert [(k["duplicate_key"], k["dispute_id"]) for k in keys] == [(duplicate_key("neighbours", fps), did)]
    assert [(r["request_id"], r["linked"]) for r in regs] == [("old-1", False)]


# ---- queries ------------------------------------------------------------------------

async def test_search_by_party_name_or_facts_dates_and_source(intake, ids):
    marker = f"标记{uuid.uuid4().hex[:6]}"
    rng = random.Random(uuid.uuid4().int)
    by_name = await intake.register(registration(ids, parties=(party(Side.APPLICANT, ids[0], name=f"王{marker}"),
                                                               party(Side.RESPONDENT, ids[1]))), CLERK, T0)
    by_facts = await intake.register(registration((new_id(rng), new_id(rng)), facts=f"院墙纠纷 {marker}", **police()),
                                     CLERK, T0 + timedelta(days=1))
    await intake.register(registration((new_id(rng), new_id(rng))), CLERK, T0)

    async def found(**kw) -> list:
        rows, _ = await intake.list(CLERK, DisputeQuery(text=marker, **kw))
        return [r.dispute.dispute_id for r in rows]

    a, b = by_name.record.dispute.dispute_id, by_facts.record.dispute.dispute_id
    assert await found() == [b, a]                                     # newest first
    assert await found(source="police_referral") == [b]
    assert await found(registered_from=T0 + timedelta(hours=1)) == [b]
    assert await found(registered_to=T0 + timedelta(hours=1)) == [a]   # exclusive upper bound
    assert await found(region_prefix="1505") == []
    rows, _ = await intake.list(CLERK, DisputeQuery(text="100%_"))     # wildcards are text, not patterns
    assert rows == []


async def test_a_court_or_police_station_sees_what_it_referred_through_any_channel(intake, ids):
    first = await intake.register(registration(ids), CLERK, T0)
    did = str(first.record.dispute.dispute_id)
    station = Claims("officer-7", f"station-{uuid.uuid4().hex[:6]}", Role.POLICE, ("15",))
    court = Claims("judge-1", f"tribunal-{uuid.uuid4().hex[:6]}", Role.COURT, ("15",))
    for caller in (station, court):
        with pytest.raises(NotFound):
            await intake.get(did, caller)
    await intake.register(registration(ids, **police(station.organization_id)), CLERK, T0)
    await intake.register(registration(ids, source=Source.COURT_DELEGATION, referral=Referral(
        kind=ReferralKind.COURT, org_id=court.organization_id, reference="（2026）蒙0102民诉前调5号")), CLERK, T0)
    for caller in (station, court):
        assert str((await intake.get(did, caller)).dispute.dispute_id) == did
        rows, _ = await intake.list(caller, DisputeQuery())
        assert [str(r.dispute.dispute_id) for r in rows] == [did]
    other_court = Claims("judge-2", "tribunal-other", Role.COURT, ("15",))
    with pytest.raises(NotFound):
        await intake.get(did, other_court)


# ---- early warnings -----------------------------------------------------------------

async def liaison(intake: Intake, office_kind: int, region: str = COUNTY, roles=(pe.ROLE_LIAISON_OFFICER,),
                  at: datetime | None = None, person_id: str = "", org_id: str = "") -> tuple[str, str]:
    pid, org = person_id or str(uuid.uuid4()), org_id or str(uuid.uuid4())
    ts = Timestamp()
    ts.FromDatetime(at or datetime.now(UTC))
    changed = pe.PersonChanged(person=pe.Person(person_id=pid, name="联络人", organization_id=org, roles=list(roles),
                                                roster_status=pe.ROSTER_STATUS_ACTIVE, updated_at=ts),
                               organization_region_code=region, organization_kind=office_kind)
    async with intake.pool.acquire() as conn, conn.transaction():
        await intake.on_person_changed(conn, _event(changed))
    return pid, org


def as_liaison(pid: str, org: str) -> Claims:
    return Claims(pid, org, Role.LIAISON, ("1501",))


async def test_a_warning_needs_each_office_and_escalates_until_they_all_acknowledge(intake, pool, ids):
    got = await intake.register(registration(ids, risk=RISKY), CLERK, T0)
    did = got.record.dispute.dispute_id
    w = got.record.warning
    assert w is not None and (w.risk_score, w.escalation_level, w.next_escalation_at) == (
        50, 0, T0 + timedelta(minutes=120))
    (raised, _), = await events_of(pool, did, "intake.risk-flagged.v1")
    first = intake_pb2.RiskFlagged.FromString(raised)
    assert (first.escalation_level, list(first.unacknowledged_offices)) == (
        0, ["police_station", "peoples_tribunal", "judicial_office"])

    police_liaison = await liaison(intake, pe.ORGANIZATION_KIND_POLICE_STATION)
    tribunal = await liaison(intake, pe.ORGANIZATION_KIND_PEOPLES_TRIBUNAL, region="1501")  # prefecture level
    office = await liaison(intake, pe.ORGANIZATION_KIND_JUDICIAL_OFFICE, region=TOWN)
    answer = await intake.acknowledge(str(did), police_liaison[0], as_liaison(*police_liaison), T0 + timedelta(minutes=10))
    assert [a.office for a in answer.acknowledgements] == ["police_station"]

    await intake.escalate_due(T0 + timedelta(minutes=120) - timedelta(seconds=1))
    assert len(await events_of(pool, did, "intake.risk-flagged.v1")) == 1      # not yet
    await intake.escalate_due(T0 + timedelta(minutes=120))
    raised = await events_of(pool, did, "intake.risk-flagged.v1")
    escalated = intake_pb2.RiskFlagged.FromString(raised[-1][0])
    assert (len(raised), escalated.escalation_level, list(escalated.unacknowledged_offices)) == (
        2, 1, ["peoples_tribunal", "judicial_office"])
    assert aware(escalated.flagged_at) == T0
    await intake.escalate_due(T0 + timedelta(minutes=121))
    assert len(await events_of(pool, did, "intake.risk-flagged.v1")) == 2      # level 1 only once

    # A clerk of the judicial office records its liaison officer's acknowledgement.
    clerk_of_office = Claims("clerk-9", office[1], Role.CLERK, ("1501",))
    await intake.acknowledge(str(did), tribunal[0], as_liaison(*tribunal), T0 + timedelta(minutes=130))
    answer = await intake.acknowledge(str(did), office[0], clerk_of_office, T0 + timedelta(minutes=140))
    assert answer.warning.acknowledged_at == T0 + timedelta(minutes=140)
    assert answer.warning.next_escalation_at is None
    await intake.escalate_due(T0 + timedelta(minutes=600))
    assert len(await events_of(pool, did, "intake.risk-flagged.v1")) == 2      # acknowledged: no more
    view = await intake.get(str(did), CLERK)
    assert sorted(a.office for a in view.acknowledgements) == ["judicial_office", "peoples_tribunal", "police_station"]
    assert view.warning is not None and view.warning.escalation_level == 1


async def test_who_may_acknowledge(intake, ids):
    got = await intake.register(registration(ids, risk=RISKY), CLERK, T0)
    did = str(got.record.dispute.dispute_id)
    elsewhere = await liaison(intake, pe.ORGANIZATION_KIND_POLICE_STATION, region="150103")  # another district
    mediator = await liaison(intake, pe.ORGANIZATION_KIND_JUDICIAL_OFFICE, roles=(pe.ROLE_MEDIATOR,))
    moved_pid, moved_org = await liaison(intake, pe.ORGANIZATION_KIND_PEOPLES_TRIBUNAL, at=T0)
    await liaison(intake, pe.ORGANIZATION_KIND_MEDIATION_COMMITTEE, at=T0 + timedelta(seconds=1),
                  person_id=moved_pid)  # now works at a committee
    stranger = str(uuid.uuid4())
    for pid, org, why in ((elsewhere[0], elsewhere[1], "does not cover"), (mediator[0], mediator[1], "not a liaison"),
                          (moved_pid, moved_org, "not a liaison"), (stranger, "x", "not a liaison")):
        with pytest.raises(RuleViolation, match=why) as raised:
            await intake.acknowledge(did, pid, as_liaison(pid, org), T0)
        assert raised.value.rule == "early-warning.concerned-office"

    good = await liaison(intake, pe.ORGANIZATION_KIND_POLICE_STATION)
    with pytest.raises(PermissionDenied):   # a liaison officer answers for themself
        await intake.acknowledge(did, good[0], as_liaison(elsewhere[0], elsewhere[1]), T0)
    with pytest.raises(PermissionDenied):   # a clerk records only their own office's acknowledgement
        await intake.acknowledge(did, good[0], Claims("clerk-2", "other-org", Role.CLERK, ("1501",)), T0)
    with pytest.raises(NotFound):           # outside the caller's region
        await intake.acknowledge(did, good[0], Claims(good[0], good[1], Role.LIAISON, ("1505",)), T0)

    calm = await intake.register(registration((new_id(random.Random(uuid.uuid4().int)), ids[0])), CLERK, T0)
    with pytest.raises(RuleViolation, match="no early warning") as raised:
        await intake.acknowledge(str(calm.record.dispute.dispute_id), good[0], as_liaison(*good), T0)
    assert raised.value.rule == "early-warning.none"

    first = await intake.acknowledge(did, good[0], as_liaison(*good), T0 + timedelta(minutes=1))
    again = await intake.acknowledge(did, good[0], as_liaison(*good), T0 + timedelta(minutes=9))
    assert again.acknowledgement.at == first.acknowledgement.at == T0 + timedelta(minutes=1)


async def test_a_risk_seen_only_by_the_second_channel_still_raises_the_warning(intake, pool, ids):
    calm = await intake.register(registration(ids), CLERK, T0)
    did = calm.record.dispute.dispute_id
    assert calm.record.warning is None
    linked = await intake.register(registration(ids, risk=RISKY, **police()), CLERK, T0 + timedelta(hours=1))
    assert linked.linked and linked.record.warning is not None
    assert linked.record.warning.flagged_at == T0 + timedelta(hours=1)
    assert len(await events_of(pool, did, "intake.risk-flagged.v1")) == 1
    assert len(await events_of(pool, did, "intake.dispute-registered.v1")) == 1
