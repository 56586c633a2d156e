"""Personnel end to end, with the six services running as processes: the seeded
province (offices, liaison officers, rosters, duty rota), a declared relation that
makes routing pass a mediator over, the duty coverage report, and a performance
file that counts a case once a mediator accepts it."""

from __future__ import annotations

import random
import re
from datetime import date

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.devtools import metrics, province
from liandiao.devtools.clients import token
from liandiao.ids import check_character, parse_credit_code
from liandiao.personnel.v1 import personnel_pb2 as p
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc.errors import field_violations
from tests.e2e.support import CLERK, OPERATOR, eventually

pytestmark = pytest.mark.e2e

COURT = token(Role.COURT, region_scope=("1505",))   # reads rosters


def court_of(org_id: str):
    """A judge or clerk of that court: changes its own roster only."""
    return token(Role.COURT, organization_id=org_id, region_scope=("1505",))
# Only the mediators made here carry this specialty, and the seeded disputes never
# have it, so what these tests add cannot change other tests' routing.
TEST_TYPE = "pollution"


async def _projected_by_routing(services, at_least: float) -> float:
    port = services.metrics_port("routing")

    async def enough():
        seen = metrics.total(port, "liandiao_events_consumed_total", consumer="routing.roster", outcome="processed")
        return seen if seen >= at_least else None

    return await eventually(enough, timeout=60)


async def test_the_seeded_prefecture_has_its_offices_liaison_officers_and_rosters(world):
    stubs, prov = world
    personnel = stubs["personnel"]
    firms = await personnel.ListOrganizations(p.ListOrganizationsRequest(
        region_prefix="1505", kind=p.ORGANIZATION_KIND_LAW_FIRM), metadata=CLERK)
    seeded = {c.law_firm for c in prov.counties}
    codes = [o.credit_code for o in firms.organizations if o.organization_id in seeded]
    assert len(codes) == len(prov.counties)
    assert all(code.startswith("31") and parse_credit_code(code).warnings == () for code in codes)

    county = prov.counties[0]
    for office in (county.judicial_office, county.police_station, county.tribunal):
        listed = await personnel.ListPeople(p.ListPeopleRequest(organization_id=office, role=p.ROLE_LIAISON_OFFICER),
                                            metadata=CLERK)
        assert [x.person_id for x in listed.people] == [county.liaison_officers[office]]

    roster = await personnel.ListRoster(p.ListRosterRequest(court_org_id=county.tribunal), metadata=COURT)
    assert list(roster.court_chain) == [county.tribunal, county.basic_court]
    firm = next(e for e in roster.entries if e.organization_id == county.law_firm)
    assert firm.inherited and firm.court_org_id == county.basic_court and firm.court_name.endswith("人民法院")
    assert firm.fee_charging and "元" in firm.fee_standard
    invited = [e for e in roster.entries if e.person_id]
    assert invited and all(e.dispute_scope and not e.fee_charging for e in invited)

    mediators = await personnel.ListPeople(p.ListPeopleRequest(region_prefix="1505", role=p.ROLE_MEDIATOR,
                                                               page=common_pb2.PageRequest(page_size=200)),
                                           metadata=CLERK)
    assert any("mn" in m.languages for m in mediators.people), "some mediators speak Mongolian"


@pytest.mark.parametrize("request_, field", [
    (p.CreateOrganizationRequest(kind=p.ORGANIZATION_KIND_LAW_FIRM, name="某律师事务所", region_code="150502",
                                 credit_code="91310110666007217T"), "credit_code"),
    (p.CreateOrganizationRequest(kind=p.ORGANIZATION_KIND_MEDIATION_COMMITTEE, name="某调委会", region_code="150502",
                                 committee_level=p.COMMITTEE_LEVEL_SECTOR), "sector"),
], ids=["law-firm-with-an-enterprise-code", "sector-committee-without-sector"])
async def test_organizations_breaking_the_rules_are_refused_with_the_field(world, request_, field):
    stubs, _ = world
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stubs["personnel"].CreateOrganization(request_, metadata=OPERATOR)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(raised.value)


async def test_a_tribunal_must_name_its_basic_court(world):
    stubs, prov = world
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stubs["personnel"].CreateOrganization(p.CreateOrganizationRequest(
            kind=p.ORGANIZATION_KIND_PEOPLES_TRIBUNAL, name="某人民法庭", region_code="150502",
            parent_organization_id=prov.counties[0].judicial_office), metadata=OPERATOR)
    assert "basic court" in field_violations(raised.value)["parent_organization_id"]


def _id_ending_in_x(region: str) -> str:
    """A valid resident ID whose check character is X: declared in lower case, it
    must still match the party's ID as intake normalises it."""
    for seq in range(1, 999, 2):
        first17 = f"{region[:6]}19680517{seq:03d}"
        if check_character(first17) == "X":
            return first17 + "X"
    raise AssertionError("no such ID")


def _dispute(rng: random.Random, prov, town: str, related_id: str = ""):
    req = province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION)
    req.region_code, req.dispute_type = town, TEST_TYPE
    for party in req.parties:
        party.language = "zh"
    if related_id:
        req.parties[1].id_document.number = related_id
    return req


async def _offer(stubs, dispute_id: str) -> routing_pb2.Assignment:
    async def offered():
        a = await stubs["routing"].GetAssignment(routing_pb2.GetAssignmentRequest(dispute_id=dispute_id),
                                                 metadata=CLERK)
        return a if a.status == routing_pb2.ASSIGNMENT_STATUS_OFFERED else None
    return await eventually(offered)


async def test_a_declared_relation_makes_routing_pass_the_mediator_over(world, services):
    stubs, prov = world
    personnel = stubs["personnel"]
    rng = random.Random(2026)
    county = prov.counties[0]
    town = county.townships[0]
    await _projected_by_routing(services, prov.person_events)   # the seed is fully projected
    before = await _projected_by_routing(services, 0)

    committee = await personnel.CreateOrganization(p.CreateOrganizationRequest(
        kind=p.ORGANIZATION_KIND_MEDIATION_COMMITTEE, name=f"{town.name}环境纠纷人民调解工作室",
        region_code=town.code, committee_level=p.COMMITTEE_LEVEL_TOWNSHIP,
        parent_organization_id=county.judicial_office), metadata=OPERATOR)
    near = await personnel.CreatePerson(p.CreatePersonRequest(
        name="包乌云", organization_id=committee.organization_id, roles=[p.ROLE_MEDIATOR], region_codes=[town.code],
        phone="13904750001", on_duty=True), metadata=CLERK)
    far = await personnel.CreatePerson(p.CreatePersonRequest(
        name="白敖登", organization_id=committee.organization_id, roles=[p.ROLE_MEDIATOR],
        region_codes=[county.division.code], specialties=[TEST_TYPE], on_duty=True), metadata=CLERK)

    related = _id_ending_in_x(town.code)
    declared = await personnel.DeclareRelation(p.DeclareRelationRequest(
        person_id=near.person_id, kind=p.RELATION_KIND_NEAR_RELATIVE, related_id_number=related.lower(),
        note="妻兄"), metadata=token(Role.MEDIATOR, subject=near.person_id))
    [relation] = declared.relations
    assert relation.kind == p.RELATION_KIND_NEAR_RELATIVE and relation.note == "妻兄"
    assert re.fullmatch(r"[0-9a-f]{64}", relation.id_fingerprint)
    shown = await personnel.GetPerson(p.GetPersonRequest(person_id=near.person_id), metadata=CLERK)
    assert list(shown.relations) == [relation]
    assert related not in str(shown) and related[:-1] not in str(shown)

    # The specialty comes last: once routing offers this mediator anything, it has the relation too
    # (one person's events stay in order).
    await personnel.UpdatePerson(p.UpdatePersonRequest(person_id=near.person_id, specialties=[TEST_TYPE],
                                                       update_mask=FieldMask(paths=["specialties"])), metadata=OPERATOR)
    await _projected_by_routing(services, before + 4)

    unrelated = await stubs["intake"].RegisterDispute(_dispute(rng, prov, town.code), metadata=CLERK)
    offer = await _offer(stubs, unrelated.dispute.dispute_id)
    assert offer.mediator_id == near.person_id, offer.reason
    assert offer.reason.startswith("covers township")

    with_relative = await stubs["intake"].RegisterDispute(_dispute(rng, prov, town.code, related), metadata=CLERK)
    offer = await _offer(stubs, with_relative.dispute.dispute_id)
    assert offer.mediator_id == far.person_id, "the related mediator must step aside (SPC-Invited Art.15)"
    assert "widened" in offer.reason

    # The published roster (SPC-Online Art.5) shows neither the relation nor the phone.
    add = p.AddToRosterRequest(court_org_id=county.basic_court, person_id=near.person_id, dispute_scope=[TEST_TYPE])
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await personnel.AddToRoster(add, metadata=court_of(county.tribunal))
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED, "another court's roster"
    await personnel.AddToRoster(add, metadata=court_of(county.basic_court))
    roster = await personnel.ListRoster(p.ListRosterRequest(court_org_id=county.tribunal, dispute_type=TEST_TYPE),
                                        metadata=token(Role.LIAISON))
    [entry] = [e for e in roster.entries if e.person_id == near.person_id]
    assert entry.inherited and entry.name == "包乌云" and list(entry.dispute_scope) == [TEST_TYPE]
    published = entry.SerializeToString()
    assert relation.id_fingerprint.encode() not in published
    assert b"13904750001" not in published and b"139****0001" not in published   # not even masked


async def test_duty_coverage_lists_the_office_weeks_the_rota_leaves_open(world):
    stubs, prov = world
    personnel = stubs["personnel"]
    report = await personnel.DutyCoverageReport(p.DutyCoverageReportRequest(
        region_prefix="1505", from_week=prov.rota_weeks[0], to_week=prov.rota_weeks[-1]), metadata=CLERK)
    seeded = {o for c in prov.counties for o in (c.judicial_office, c.police_station)}
    assert list(report.weeks) == prov.rota_weeks
    listed = {(o.organization_id, w) for o in report.offices if o.organization_id in seeded for w in o.uncovered_weeks}
    assert listed == set(prov.uncovered)
    assert prov.uncovered, "the seed leaves some office-weeks open"

    office, week = prov.uncovered[0]
    county = next(c for c in prov.counties if office in (c.judicial_office, c.police_station))
    year, number = week.split("-W")
    wednesday = date.fromisocalendar(int(year), int(number), 3).isoformat()
    on_duty = await personnel.SetDuty(p.SetDutyRequest(person_id=county.lawyers[0], office_org_id=office,
                                                       dates=[wednesday]), metadata=CLERK)
    assert p.DutyDay(office_org_id=office, date=wednesday) in on_duty.duty_days
    after = await personnel.DutyCoverageReport(p.DutyCoverageReportRequest(
        region_prefix=county.division.code, from_week=week, to_week=week), metadata=CLERK)
    assert office not in {o.organization_id for o in after.offices}, "one day covers the week"

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await personnel.DutyCoverageReport(p.DutyCoverageReportRequest(
            region_prefix="1505", from_week=prov.rota_weeks[-1], to_week=prov.rota_weeks[0]), metadata=CLERK)
    assert "to_week" in field_violations(raised.value)


async def test_the_performance_file_counts_a_case_once_the_mediator_accepts_it(world):
    stubs, prov = world
    personnel = stubs["personnel"]
    rng = random.Random(77)
    req = province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION)
    reply = await stubs["intake"].RegisterDispute(req, metadata=CLERK)
    dispute_id = reply.dispute.dispute_id
    offer = await _offer(stubs, dispute_id)
    ask = p.GetPerformanceFileRequest(person_id=offer.mediator_id, page={"page_size": 200})
    before = await personnel.GetPerformanceFile(ask, metadata=OPERATOR)
    assert dispute_id not in {c.dispute_id for c in before.cases}

    mediator = token(Role.MEDIATOR, subject=offer.mediator_id)
    await stubs["routing"].AcceptAssignment(routing_pb2.AcceptAssignmentRequest(
        dispute_id=dispute_id, mediator_id=offer.mediator_id), metadata=mediator)

    async def counted():
        f = await personnel.GetPerformanceFile(ask, metadata=mediator)   # a mediator reads their own file
        return f if dispute_id in {c.dispute_id for c in f.cases} else None

    after = await eventually(counted)
    # Cases of this mediator accepted by earlier tests may still be arriving: every count
    # moves by exactly the cases that are new in the file, this one counted once.
    assert [c.dispute_id for c in after.cases].count(dispute_id) == 1
    new = {c.dispute_id for c in after.cases} - {c.dispute_id for c in before.cases}
    assert after.cases_accepted - before.cases_accepted == len(new)
    case = next(c for c in after.cases if c.dispute_id == dispute_id)
    assert case.outcome == p.CASE_OUTCOME_OPEN and case.dispute_type == req.dispute_type
    assert len(after.cases) == after.cases_accepted                   # the whole file on one page
    assert after.open_cases == sum(c.outcome == p.CASE_OUTCOME_OPEN for c in after.cases)

    await personnel.RecordFeedback(p.RecordFeedbackRequest(person_id=offer.mediator_id, dispute_id=dispute_id,
                                                           score=4), metadata=CLERK)
    with_feedback = await personnel.GetPerformanceFile(ask, metadata=OPERATOR)
    assert with_feedback.feedback_count == before.feedback_count + 1 and with_feedback.feedback_average > 0

    other = next(m for m in prov.mediators if m != offer.mediator_id)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await personnel.GetPerformanceFile(p.GetPerformanceFileRequest(person_id=other), metadata=mediator)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
