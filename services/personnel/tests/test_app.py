"""Personnel's use cases, store and event handlers against the real PostgreSQL.

Everything here lives in Beijing (1101xx), far from the prefectures the end-to-end
tests seed, and the outbox rows it leaves are marked published at the end, so a
personnel service started later in the same run does not relay them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from liandiao.auth import Claims
from liandiao.auth import Role as CallerRole
from liandiao.config import _DEV_PII_KEY
from liandiao.errors import InvalidInput, PermissionDenied, RuleViolation
from liandiao.events import catalog
from liandiao.events.consumer import Consumer, Record
from liandiao.events.envelope import Envelope
from liandiao.ids import credit_code_check_character
from liandiao.mediation.v1 import mediation_pb2
from liandiao.personnel.v1 import personnel_pb2
from liandiao.pii import PiiCipher
from liandiao.routing.v1 import routing_pb2
from services.personnel import store
from services.personnel.app import Personnel
from services.personnel.domain.model import NewOrganization, NewPerson, OrgKind, PersonUpdate, RemovalGround, Role
from services.personnel.domain.performance import EvaluationResult
from services.personnel.domain.relations import Declaration, RelationKind
from services.personnel.domain.roster import Listing
from services.personnel.handlers import PERFORMANCE_EVENTS, performance_handler
from services.personnel.limits import MAX_RELATIONS, NOTE

pytestmark = pytest.mark.stack

COUNTY = "110105"       # 朝阳区, Beijing
OTHER_COUNTY = "110108"  # 海淀区
PII = PiiCipher(_DEV_PII_KEY)
NOW = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)


def uscc(prefix: str) -> str:
    first17 = prefix + COUNTY + uuid.uuid4().hex[:9].upper().replace("I", "1").replace("O", "0")
    first17 = "".join(c if c in "0123456789ABCDEFGHJKLMNPQRTUWXY" else "0" for c in first17)
    return first17 + credit_code_check_character(first17)


def licence() -> str:
    return "1101" + f"{uuid.uuid4().int % 10**13:013d}"


@pytest.fixture
async def personnel(service_pool):
    async with service_pool("personnel") as pool:
        yield Personnel(pool, PII)
        async with pool.acquire() as conn:
            await conn.execute(r"update outbox set published_at = now() where published_at is null "
                               r"and topic ~ '\.11[0-9]{2}$'")


async def outbox(p: Personnel, event, person_id: str) -> list:
    async with p.pool.acquire() as conn:
        rows = await conn.fetch("select payload from outbox where event_type = $1 and partition_key = $2 order by id",
                                event.key, person_id)
    return [event.message.FromString(r["payload"]) for r in rows]


async def new_org(p: Personnel, kind: OrgKind, **kw) -> str:
    if kind is OrgKind.LAW_FIRM:
        kw.setdefault("credit_code", uscc("31"))
    if kind is OrgKind.LEGAL_SERVICE_OFFICE:
        kw.setdefault("credit_code", uscc("33"))
    if kind is OrgKind.MEDIATION_COMMITTEE:
        kw.setdefault("committee_level", "township")
    row, _ = await p.create_organization(NewOrganization(kind=kind, name=f"{kind.value}-{uuid.uuid4().hex[:6]}",
                                                         region_code=kw.pop("region_code", COUNTY), **kw))
    return str(row.organization_id)


async def new_person(p: Personnel, org_id: str, *roles: Role, **kw) -> str:
    kw.setdefault("region_codes", (COUNTY,))
    kw.setdefault("specialties", ("neighbours", "contract"))
    snap = await p.create_person(NewPerson(name="王" + uuid.uuid4().hex[:4], organization_id=org_id, roles=roles,
                                           **kw))
    return str(snap.row.person_id)


# ---- people ---------------------------------------------------------------------

async def test_a_lawyer_s_licence_is_stored_encrypted_and_shown_masked(personnel):
    firm = await new_org(personnel, OrgKind.LAW_FIRM)
    number = licence()
    pid = await new_person(personnel, firm, Role.LAWYER, lawyer_licence_number=number, phone="+86 138 0013 8000")
    snap = await personnel.get_person(pid)
    assert snap.row.licence_masked == number[:4] + "*" * 12 + number[-1]
    assert snap.row.phone_masked == "138****8000"
    async with personnel.pool.acquire() as conn:
        stored = await conn.fetchrow("select licence_enc, phone_enc from people where person_id = $1", uuid.UUID(pid))
    assert number.encode() not in stored["licence_enc"] and b"13800138000" not in stored["phone_enc"]
    assert store.PERSON_LICENCE.decrypt(PII, stored["licence_enc"], pid) == number
    [event] = await outbox(personnel, catalog.PERSON_CHANGED, pid)
    assert event.person.masked_lawyer_licence == snap.row.licence_masked
    assert event.organization_kind == personnel_pb2.ORGANIZATION_KIND_LAW_FIRM
    assert number not in str(event)


async def test_one_licence_belongs_to_one_person_and_nothing_else_is_stored(personnel):
    firm = await new_org(personnel, OrgKind.LAW_FIRM)
    number = licence()
    await new_person(personnel, firm, Role.LAWYER, lawyer_licence_number=number)
    with pytest.raises(RuleViolation, match="another person"):
        await new_person(personnel, firm, Role.LAWYER, lawyer_licence_number=number)
    async with personnel.pool.acquire() as conn:
        assert await conn.fetchval("select count(*) from people where organization_id = $1", uuid.UUID(firm)) == 1


async def test_bad_input_stores_neither_the_person_nor_an_event(personnel):
    office = await new_org(personnel, OrgKind.JUDICIAL_OFFICE)
    with pytest.raises(InvalidInput) as exc:
        await new_person(personnel, office, Role.LAWYER, phone="12345")
    assert {v.field for v in exc.value.violations} == {"roles[0]", "phone", "lawyer_licence_number"}
    async with personnel.pool.acquire() as conn:
        assert await conn.fetchval("select count(*) from people where organization_id = $1", uuid.UUID(office)) == 0


async def test_an_office_has_one_liaison_officer(personnel):
    station = await new_org(personnel, OrgKind.POLICE_STATION)
    first = await new_person(personnel, station, Role.POLICE_OFFICER, Role.LIAISON_OFFICER, region_codes=())
    second = await new_person(personnel, station, Role.POLICE_OFFICER, region_codes=())
    with pytest.raises(RuleViolation, match="already has a liaison officer"):
        await personnel.update_person(second, PersonUpdate(paths=("roles",), roles=(Role.POLICE_OFFICER,
                                                                                    Role.LIAISON_OFFICER)))
    await personnel.update_person(first, PersonUpdate(paths=("roles",), roles=(Role.POLICE_OFFICER,)))
    handed_over = await personnel.update_person(second, PersonUpdate(paths=("roles",), roles=(
        Role.POLICE_OFFICER, Role.LIAISON_OFFICER)))
    assert handed_over.row.roles == ["police_officer", "liaison_officer"]
    [*_, event] = await outbox(personnel, catalog.PERSON_CHANGED, second)
    assert personnel_pb2.ROLE_LIAISON_OFFICER in event.person.roles
    assert event.organization_kind == personnel_pb2.ORGANIZATION_KIND_POLICE_STATION


async def test_an_update_publishes_a_strictly_newer_snapshot(personnel):
    committee = await new_org(personnel, OrgKind.MEDIATION_COMMITTEE)
    pid = await new_person(personnel, committee, Role.MEDIATOR)
    first = await personnel.update_person(pid, PersonUpdate(paths=("on_duty", "languages"), on_duty=False,
                                                            languages=("zh", "mn")), now=NOW)
    # the same instant again (a clock that did not move): the snapshot still moves forward
    second = await personnel.update_person(pid, PersonUpdate(paths=("specialties",), specialties=("labour",)), now=NOW)
    assert second.row.updated_at > first.row.updated_at and second.row.version == 3
    events = await outbox(personnel, catalog.PERSON_CHANGED, pid)
    assert [e.person.on_duty for e in events] == [True, False, False]
    assert list(events[-1].person.languages) == ["zh", "mn"] and list(events[-1].person.specialties) == ["labour"]


async def test_a_person_who_stops_being_a_lawyer_keeps_no_licence(personnel):
    firm = await new_org(personnel, OrgKind.LAW_FIRM)
    pid = await new_person(personnel, firm, Role.LAWYER, Role.MEDIATOR, lawyer_licence_number=licence())
    snap = await personnel.update_person(pid, PersonUpdate(paths=("roles",), roles=(Role.MEDIATOR,)))
    assert (snap.row.licence_masked, snap.row.licence_enc, snap.row.licence_fp) == ("", None, None)


@pytest.mark.parametrize("region", ["11", "110000"])
async def test_a_province_level_body_is_kept_in_the_province_shard(personnel, region):
    row, _ = await personnel.create_organization(NewOrganization(kind=OrgKind.LAW_FIRM, name="北京市某律师事务所",
                                                                 region_code=region, credit_code=uscc("31")))
    assert (row.region_code, row.prefecture) == ("11", "00")


# ---- relations ------------------------------------------------------------------

async def test_a_declared_relation_keeps_the_fingerprint_intake_would_compute_and_no_plain_id(personnel):
    committee = await new_org(personnel, OrgKind.MEDIATION_COMMITTEE)
    pid = await new_person(personnel, committee, Role.MEDIATOR)
    snap = await personnel.declare_relation(pid, Declaration(RelationKind.NEAR_RELATIVE,
                                                             id_number="11010519491231002x", note="妻弟"), now=NOW)
    # intake: id_fp = pii.fingerprint(parse_resident_id(number).number)
    expected = PII.fingerprint("11010519491231002X")
    assert [(r.kind, r.id_fingerprint, r.note) for r in snap.relations] == [("near_relative", expected, "妻弟")]
    [*_, event] = await outbox(personnel, catalog.PERSON_CHANGED, pid)
    assert [(r.kind, r.id_fingerprint) for r in event.person.relations] == [
        (personnel_pb2.RELATION_KIND_NEAR_RELATIVE, expected)]
    async with personnel.pool.acquire() as conn:
        dump = await conn.fetchval("select string_agg(r::text, '') from relations r where person_id = $1",
                                   uuid.UUID(pid))
    assert "11010519491231002" not in dump
    again = await personnel.declare_relation(pid, Declaration(RelationKind.INTEREST,
                                                              id_number="11010519491231002X", note="债务"))
    assert [(r.kind, r.note) for r in again.relations] == [("interest", "债务")], "one entry per related person"


async def test_a_mediator_declares_only_for_themselves(personnel):
    committee = await new_org(personnel, OrgKind.MEDIATION_COMMITTEE)
    pid = await new_person(personnel, committee, Role.MEDIATOR)
    someone_else = Claims(subject=str(uuid.uuid4()), organization_id=committee, role=CallerRole.MEDIATOR)
    with pytest.raises(PermissionDenied):
        await personnel.declare_relation(pid, Declaration(RelationKind.OTHER, passport_number="E1234567"),
                                         someone_else)
    me = Claims(subject=pid, organization_id=committee, role=CallerRole.MEDIATOR, region_scope=(COUNTY,))
    snap = await personnel.declare_relation(pid, Declaration(RelationKind.OTHER, passport_number="e1234567"), me)
    assert snap.relations[0].id_fingerprint == PII.fingerprint("E1234567")


async def test_declared_relations_are_bounded_so_the_person_snapshot_stays_small(personnel):
    committee = await new_org(personnel, OrgKind.MEDIATION_COMMITTEE)
    pid = await new_person(personnel, committee, Role.MEDIATOR)
    async with personnel.pool.acquire() as conn:
        await conn.executemany(
            "insert into relations (person_id, id_fingerprint, kind, note, declared_at) values ($1, $2, $3, $4, $5)",
            [(uuid.UUID(pid), PII.fingerprint(f"E{i:08d}"), "other", "妻" * NOTE, NOW) for i in range(MAX_RELATIONS)])
    with pytest.raises(RuleViolation, match="relations.at-most"):
        await personnel.declare_relation(pid, Declaration(RelationKind.OTHER, passport_number="G99999999"))
    # One already declared may still be corrected: it takes no new place.
    snap = await personnel.declare_relation(pid, Declaration(RelationKind.INTEREST, passport_number="E00000007",
                                                             note="妻" * NOTE))
    assert len(snap.relations) == MAX_RELATIONS
    [*_, event] = await outbox(personnel, catalog.PERSON_CHANGED, pid)
    assert len(event.person.relations) == MAX_RELATIONS and event.ByteSize() < 200_000


# ---- rosters --------------------------------------------------------------------

async def test_a_tribunal_s_roster_includes_its_basic_court_s(personnel):
    court = await new_org(personnel, OrgKind.BASIC_COURT)
    tribunal = await new_org(personnel, OrgKind.PEOPLES_TRIBUNAL, parent_organization_id=court)
    committee = await new_org(personnel, OrgKind.MEDIATION_COMMITTEE)
    firm = await new_org(personnel, OrgKind.LAW_FIRM)
    mediator = await new_person(personnel, committee, Role.MEDIATOR, languages=("zh", "mn"),
                                phone="13800138000")
    await personnel.declare_relation(mediator, Declaration(RelationKind.OTHER, id_number="11010519491231002X"))
    own = await new_person(personnel, committee, Role.MEDIATOR)
    await personnel.add_to_roster(court, mediator, "", Listing(("neighbours",), False, ""))
    await personnel.add_to_roster(court, "", firm, Listing(("contract",), True, "每件500元"))
    await personnel.add_to_roster(tribunal, own, "", Listing(("neighbours",), False, ""))

    listing = await personnel.list_roster(tribunal, "", False, 50, 0)
    assert [str(c) for c in listing.chain] == [tribunal, court]
    seen = [(str(v.entry.person_id or v.entry.member_org_id), inherited) for v, inherited in listing.entries]
    assert seen[0] == (own, False), "the tribunal's own entries come first"
    assert sorted(seen[1:]) == sorted([(mediator, True), (firm, True)])
    at_court = await personnel.list_roster(court, "contract", False, 50, 0)
    assert [(str(v.entry.member_org_id), inherited, v.entry.fee_charging, v.entry.fee_standard)
            for v, inherited in at_court.entries] == [(firm, False, True, "每件500元")]
    mediator_view = next(v for v, _ in listing.entries if str(v.entry.person_id) == mediator)
    assert mediator_view.languages == ["zh", "mn"] and mediator_view.organization_kind == "mediation_committee"

    snap = await personnel.get_person(mediator)
    assert [str(c) for c in snap.roster_court_ids] == [court]
    [changed] = await outbox(personnel, catalog.ROSTER_CHANGED, mediator)
    assert changed.court_org_id == court and changed.previous_status == personnel_pb2.ROSTER_STATUS_REMOVED
    assert list(changed.person.roster_court_ids) == [court]


async def test_roster_rules_refuse_fees_for_people_s_mediation_and_double_listing(personnel):
    court = await new_org(personnel, OrgKind.BASIC_COURT)
    committee = await new_org(personnel, OrgKind.MEDIATION_COMMITTEE)
    mediator = await new_person(personnel, committee, Role.MEDIATOR)
    with pytest.raises(RuleViolation) as exc:
        await personnel.add_to_roster(court, mediator, "", Listing(("neighbours",), True, "每件100元"))
    assert exc.value.rule == "PML Art.4"
    await personnel.add_to_roster(court, mediator, "", Listing(("neighbours",), False, ""))
    with pytest.raises(RuleViolation, match="already on the roster"):
        await personnel.add_to_roster(court, mediator, "", Listing(("labour",), False, ""))
    office = await new_org(personnel, OrgKind.JUDICIAL_OFFICE)
    with pytest.raises(RuleViolation) as exc:
        await personnel.add_to_roster(office, mediator, "", Listing(("neighbours",), False, ""))
    assert exc.value.rule == "SPC-Online Art.5"


async def test_removal_from_one_roster_and_from_every_roster(personnel):
    court = await new_org(personnel, OrgKind.BASIC_COURT)
    other = await new_org(personnel, OrgKind.BASIC_COURT, region_code=OTHER_COUNTY)
    committee = await new_org(personnel, OrgKind.MEDIATION_COMMITTEE)
    mediator = await new_person(personnel, committee, Role.MEDIATOR)
    for c in (court, other):
        await personnel.add_to_roster(c, mediator, "", Listing(("neighbours",), False, ""))
    with pytest.raises(InvalidInput):
        await personnel.remove_roster_entry(court, mediator, "", " ")
    view = await personnel.remove_roster_entry(court, mediator, "", "长期拒绝调解任务")
    assert (view.entry.status, view.entry.removal_reason) == ("removed", "长期拒绝调解任务")
    assert [str(c) for c in (await personnel.get_person(mediator)).roster_court_ids] == [other]

    removed = await personnel.remove_from_roster(mediator, RemovalGround.BRIBERY, "收受当事人财物")
    assert removed.row.roster_status == "removed" and removed.roster_court_ids == []
    listing = await personnel.list_roster(other, "", True, 50, 0)
    assert [(v.entry.status, v.entry.removal_reason) for v, _ in listing.entries] == [("removed", "收受当事人财物")]
    with pytest.raises(RuleViolation) as exc:
        await personnel.add_to_roster(court, mediator, "", Listing(("neighbours",), False, ""))
    assert exc.value.rule == "SPC-Invited Art.28"
    *_, everywhere = await outbox(personnel, catalog.ROSTER_CHANGED, mediator)
    assert everywhere.court_org_id == "" and everywhere.person.roster_status == personnel_pb2.ROSTER_STATUS_REMOVED


# ---- performance file -----------------------------------------------------------

def _ts(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


def record(event, payload, dispute_id: str, offset: int) -> Record:
    env = Envelope(event_id=str(uuid.uuid4()), event_type=event.key, occurred_at=NOW, dispute_id=dispute_id,
                   region_code=COUNTY, traceparent="", correlation_id=dispute_id)
    return Record(topic=f"liandiao.{event.service}.{event.name}.v1.1101", partition=0, offset=offset, key=None,
                  value=payload.SerializeToString(), headers=[(k, v.encode()) for k, v in env.headers().items()])


async def test_the_performance_file_is_fed_by_routing_s_and_mediation_s_events(personnel):
    committee = await new_org(personnel, OrgKind.MEDIATION_COMMITTEE)
    mediator = await new_person(personnel, committee, Role.MEDIATOR)
    published = []

    async def publish(*args):
        published.append(args)

    consumer = Consumer(service="personnel", name=f"personnel.performance-{uuid.uuid4().hex[:6]}",
                        events=PERFORMANCE_EVENTS, handler=performance_handler(personnel), pool=personnel.pool,
                        publish=publish, ensure_topic=lambda _t: _noop(), max_attempts=1)
    agreed, failed, settled, lapsed = (str(uuid.uuid4()) for _ in range(4))
    assigned = [record(catalog.DISPUTE_ASSIGNED, routing_pb2.DisputeAssigned(
        dispute_id=d, mediator_id=mediator, dispute_type="neighbours", region_code=COUNTY,
        accepted_at=_ts(NOW + timedelta(hours=i))), d, i) for i, d in enumerate((agreed, failed, settled))]
    outcomes = [
        record(catalog.AGREEMENT_EFFECTIVE, mediation_pb2.AgreementEffective(dispute_id=agreed,
                                                                             effective_at=_ts(NOW + timedelta(days=9))),
               agreed, 10),
        record(catalog.MEDIATION_FAILED, mediation_pb2.MediationFailed(
            dispute_id=failed, ground=mediation_pb2.TERMINATION_GROUND_POSITIONS_TOO_FAR_APART, failure=True,
            terminated_at=_ts(NOW + timedelta(days=20))), failed, 11),
        # the parties settled themselves and withdrew: ended, but not the mediator's failure
        record(catalog.MEDIATION_FAILED, mediation_pb2.MediationFailed(
            dispute_id=settled, ground=mediation_pb2.TERMINATION_GROUND_SETTLED_WITHDRAWN, failure=False,
            terminated_at=_ts(NOW + timedelta(days=21))), settled, 12),
    ]
    expiries = [record(catalog.ASSIGNMENT_EXPIRED, routing_pb2.AssignmentExpired(
        dispute_id=lapsed, mediator_id=mediator, expired_at=_ts(NOW + timedelta(days=d))), lapsed, 20 + d)
        for d in range(3)]
    # an outcome before its assignment still lands on the right case
    for r in [outcomes[0], *assigned, *outcomes[1:], *expiries]:
        assert await consumer.process(r) == "processed"
    assert await consumer.process(assigned[0]) == "duplicate"
    assert published == []

    f = await personnel.performance_file(mediator)
    s = f.summary
    assert (s.cases_accepted, s.agreements, s.failures, s.settled, s.open_cases, s.offers_lapsed) == (3, 1, 1, 1, 0, 3)
    assert [(str(c.dispute_id), c.outcome, c.detail) for c in f.cases] == [
        (settled, "settled", "settled_withdrawn"), (failed, "failed", "positions_too_far_apart"),
        (agreed, "agreement", "")]
    assert any("SPC-Invited Art.28" in flag for flag in s.review_flags)
    # Paged: one page of each list, the summary over the whole file.
    first = await personnel.performance_file(mediator, limit=2)
    assert ([str(c.dispute_id) for c in first.cases], len(first.lapses), first.next_page_token) == (
        [settled, failed], 2, "2")
    assert first.summary == s
    rest = await personnel.performance_file(mediator, limit=2, offset=2)
    assert ([str(c.dispute_id) for c in rest.cases], len(rest.lapses), rest.next_page_token) == ([agreed], 1, "")
    assert rest.summary == s

    with pytest.raises(RuleViolation, match="not in their performance file"):
        await personnel.record_feedback(mediator, lapsed, 1, "从不接电话")
    await personnel.record_feedback(mediator, agreed, 5, "")
    await personnel.record_feedback(mediator, failed, 2, "调解员偏袒对方")
    await personnel.record_training(mediator, "人民调解员岗前培训", 16, "2026-01-10")
    await personnel.record_evaluation(mediator, "2025", EvaluationResult.COMPETENT, "")
    with pytest.raises(RuleViolation, match="already evaluated"):
        await personnel.record_evaluation(mediator, "2025", EvaluationResult.EXCELLENT, "")
    s = (await personnel.performance_file(mediator)).summary
    assert (s.feedback_count, s.feedback_average, s.complaints, s.training_hours) == (2, 3.5, 1, 16.0)


async def _noop() -> None:
    return None


async def test_a_mediator_reads_only_their_own_performance_file(personnel):
    committee = await new_org(personnel, OrgKind.MEDIATION_COMMITTEE)
    mediator = await new_person(personnel, committee, Role.MEDIATOR)
    other = Claims(subject=str(uuid.uuid4()), organization_id=committee, role=CallerRole.MEDIATOR,
                   region_scope=("11",))
    with pytest.raises(PermissionDenied):
        await personnel.performance_file(mediator, other)
    own = await personnel.performance_file(mediator, Claims(subject=mediator, organization_id=committee,
                                                            role=CallerRole.MEDIATOR, region_scope=("11",)))
    assert own.summary.cases_accepted == 0


# ---- duty rota ------------------------------------------------------------------

async def test_duty_coverage_lists_the_office_weeks_nobody_covers(personnel):
    # a county of its own, so other tests' offices do not show up
    county = "110109"   # 门头沟区
    office = await new_org(personnel, OrgKind.JUDICIAL_OFFICE, region_code=county)
    station = await new_org(personnel, OrgKind.POLICE_STATION, region_code=county)
    await new_org(personnel, OrgKind.BASIC_COURT, region_code=county)   # no duty at courts: never listed
    firm = await new_org(personnel, OrgKind.LAW_FIRM, region_code=county)
    lso = await new_org(personnel, OrgKind.LEGAL_SERVICE_OFFICE, region_code=county)
    lawyer = await new_person(personnel, firm, Role.LAWYER, lawyer_licence_number=licence())
    worker = await new_person(personnel, lso, Role.LEGAL_SERVICE_WORKER)

    snap = await personnel.set_duty(lawyer, office, ["2026-03-08", "2026-03-16"], False, now=NOW)   # W10 Sun, W12 Mon
    assert [(str(d.office_org_id), d.duty_date) for d in snap.duty_days] == [
        (office, date(2026, 3, 8)), (office, date(2026, 3, 16))]
    await personnel.set_duty(worker, station, ["2026-03-11"], False, now=NOW)                        # W11
    report = await personnel.duty_coverage(county, "2026-W10", "2026-W12")
    assert report.offices_checked == 2
    assert {(g.office.organization_id, tuple(str(w) for w in g.uncovered), g.covered) for g in report.gaps} == {
        (office, ("2026-W11",), 2), (station, ("2026-W10", "2026-W12"), 1)}

    await personnel.set_duty(lawyer, office, ["2026-03-08"], True, now=NOW)   # taken off the rota
    report = await personnel.duty_coverage(county, "2026-W10", "2026-W10")
    assert {g.office.organization_id for g in report.gaps} == {office, station}
    [*_, event] = await outbox(personnel, catalog.PERSON_CHANGED, lawyer)
    assert [d.date for d in event.person.duty_days] == ["2026-03-16"]


async def test_duty_is_refused_for_a_mediator_and_at_a_tribunal(personnel):
    court = await new_org(personnel, OrgKind.BASIC_COURT)
    tribunal = await new_org(personnel, OrgKind.PEOPLES_TRIBUNAL, parent_organization_id=court)
    committee = await new_org(personnel, OrgKind.MEDIATION_COMMITTEE)
    office = await new_org(personnel, OrgKind.JUDICIAL_OFFICE)
    firm = await new_org(personnel, OrgKind.LAW_FIRM)
    mediator = await new_person(personnel, committee, Role.MEDIATOR)
    lawyer = await new_person(personnel, firm, Role.LAWYER, lawyer_licence_number=licence())
    with pytest.raises(RuleViolation, match="lawyers and legal-service workers"):
        await personnel.set_duty(mediator, office, ["2026-03-09"], False)
    with pytest.raises(RuleViolation, match="not at a peoples_tribunal"):
        await personnel.set_duty(lawyer, tribunal, ["2026-03-09"], False)
    with pytest.raises(InvalidInput):
        await personnel.duty_coverage("159999", "2026-W10", "2026-W12")
