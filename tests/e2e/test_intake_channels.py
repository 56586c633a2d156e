"""Intake's channels end to end, against the six services as processes: an online
application, a court delegation, a department referral, the same dispute coming
in from a second channel (linked, one dispute), and an early warning acknowledged
by the liaison officers of the county's police station, tribunal and judicial office."""

from __future__ import annotations

import random
import uuid
from datetime import date

import asyncpg
import grpc
import pytest

from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.devtools import metrics, province
from liandiao.devtools.clients import token
from liandiao.intake.v1 import intake_pb2
from liandiao.personnel.v1 import personnel_pb2 as pe
from liandiao.rpc.errors import field_violations
from tests.e2e.support import CLERK, OPERATOR, eventually

pytestmark = pytest.mark.e2e


async def outbox(stack_env, dispute_id: str, event_type: str) -> list[bytes]:
    conn = await asyncpg.connect(stack_env["LIANDIAO_DATABASE_URL"])
    try:
        rows = await conn.fetch("select payload from intake.outbox where headers->>'dispute-id' = $1 "
                                "and event_type = $2 order by id", dispute_id, event_type)
    finally:
        await conn.close()
    return [bytes(r["payload"]) for r in rows]


async def stored_requests(stack_env, request_id: str) -> int:
    conn = await asyncpg.connect(stack_env["LIANDIAO_DATABASE_URL"])
    try:
        return await conn.fetchval("select count(*) from intake.registrations where request_id = $1", request_id)
    finally:
        await conn.close()


async def test_an_online_application_keeps_the_confirmed_service_address_masked(world, stack_env):
    stubs, prov = world
    req = province.dispute_request(random.Random(301), prov, source=common_pb2.CASE_SOURCE_ONLINE)
    reply = await stubs["intake"].RegisterDispute(req, metadata=CLERK)
    got = await stubs["intake"].GetDispute(intake_pb2.GetDisputeRequest(dispute_id=reply.dispute.dispute_id),
                                           metadata=CLERK)
    assert got.source == common_pb2.CASE_SOURCE_ONLINE
    for sent, shown in zip(req.parties, got.parties, strict=True):
        local, domain = sent.service_address.split("@")
        assert shown.masked_service_address == f"{local[:2]}***@{domain}"
        assert shown.service_address_confirmed
        assert sent.service_address not in str(got) and sent.phone not in str(got)
    assert [r.source for r in got.registrations] == [common_pb2.CASE_SOURCE_ONLINE]

    unconfirmed = province.dispute_request(random.Random(302), prov, source=common_pb2.CASE_SOURCE_ONLINE)
    unconfirmed.parties[0].service_address_confirmed = False
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stubs["intake"].RegisterDispute(unconfirmed, metadata=CLERK)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "送达地址确认书" in field_violations(raised.value)["parties[0].service_address_confirmed"]
    assert await stored_requests(stack_env, unconfirmed.request_id) == 0


async def test_a_court_delegation_is_returned_with_its_court_and_seen_by_that_court_only(world):
    stubs, prov = world
    req = province.dispute_request(random.Random(303), prov, source=common_pb2.CASE_SOURCE_COURT_DELEGATION)
    tribunal = req.court.court_org_id
    d = (await stubs["intake"].RegisterDispute(req, metadata=CLERK)).dispute
    assert d.WhichOneof("referral") == "court"
    assert (d.court.court_org_id, d.court.court_case_reference) == (tribunal, req.court.court_case_reference)

    court = token(Role.COURT, subject="judge-1", organization_id=tribunal, region_scope=("15",))
    got = await stubs["intake"].GetDispute(intake_pb2.GetDisputeRequest(dispute_id=d.dispute_id), metadata=court)
    assert got.court.court_case_reference == req.court.court_case_reference
    listed = await stubs["intake"].ListDisputes(intake_pb2.ListDisputesRequest(), metadata=court)
    assert d.dispute_id in {x.dispute_id for x in listed.disputes}
    assert all(tribunal in {r.court.court_org_id for r in x.registrations} for x in listed.disputes)

    other = next(c.tribunal for c in prov.counties if c.tribunal != tribunal)
    stranger = token(Role.COURT, subject="judge-2", organization_id=other, region_scope=("15",))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stubs["intake"].GetDispute(intake_pb2.GetDisputeRequest(dispute_id=d.dispute_id), metadata=stranger)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_department_referral_is_recorded_and_found_by_search(world, stack_env):
    stubs, prov = world
    req = province.dispute_request(random.Random(304), prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION)
    req.source = common_pb2.CASE_SOURCE_DEPARTMENT_REFERRAL
    marker = f"信转〔2026〕{random.Random(304).randint(100, 999)}号"
    req.department.CopyFrom(intake_pb2.DepartmentReferral(department_name="通辽市信访局", reference=marker))
    req.facts = f"信访局转办：{req.facts}"
    d = (await stubs["intake"].RegisterDispute(req, metadata=CLERK)).dispute
    got = await stubs["intake"].GetDispute(intake_pb2.GetDisputeRequest(dispute_id=d.dispute_id), metadata=CLERK)
    assert got.source == common_pb2.CASE_SOURCE_DEPARTMENT_REFERRAL
    assert (got.department.department_name, got.department.reference) == ("通辽市信访局", marker)

    search = intake_pb2.ListDisputesRequest(source=common_pb2.CASE_SOURCE_DEPARTMENT_REFERRAL, text="信访局转办",
                                            region_prefix=req.region_code[:6], registered_from=got.registered_at)
    found = await stubs["intake"].ListDisputes(search, metadata=CLERK)
    assert d.dispute_id in [x.dispute_id for x in found.disputes]
    by_name = await stubs["intake"].ListDisputes(intake_pb2.ListDisputesRequest(text=req.parties[1].name[1:],
                                                                                region_prefix=req.region_code[:6]),
                                                 metadata=CLERK)
    assert d.dispute_id in [x.dispute_id for x in by_name.disputes]
    assert all(req.parties[1].name[1:] in x.facts or any(req.parties[1].name[1:] in p.name for p in x.parties)
               for x in by_name.disputes)

    nameless = province.dispute_request(random.Random(305), prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION)
    nameless.source = common_pb2.CASE_SOURCE_DEPARTMENT_REFERRAL
    nameless.department.CopyFrom(intake_pb2.DepartmentReferral(reference="信转1号"))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stubs["intake"].RegisterDispute(nameless, metadata=CLERK)
    assert "department.department_name" in field_violations(raised.value)
    assert await stored_requests(stack_env, nameless.request_id) == 0


async def test_the_same_dispute_from_a_second_channel_is_linked_and_the_caller_told(world, stack_env):
    stubs, prov = world
    counter = province.dispute_request(random.Random(306), prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION)
    agent_id = province.resident_id(random.Random(307), counter.region_code, date(1980, 5, 6), True)
    counter.parties[0].agents.append(intake_pb2.AgentInput(
        name="赵律师", id_document=intake_pb2.IdDocument(type=intake_pb2.ID_DOCUMENT_TYPE_RESIDENT_ID, number=agent_id),
        phone="13900139000", authority=intake_pb2.AGENT_AUTHORITY_SPECIAL, scope="代为承认、变更请求，进行和解"))
    first = await stubs["intake"].RegisterDispute(counter, metadata=CLERK)
    assert not first.linked_to_existing
    (agent,) = first.dispute.parties[0].agents
    assert agent.masked_id_number == agent_id[:6] + "********" + agent_id[-4:]
    assert agent.authority == intake_pb2.AGENT_AUTHORITY_SPECIAL

    # The police bring the same two people in for the same kind of dispute.
    county = next(c for c in prov.counties if counter.region_code.startswith(c.division.code))
    referral = intake_pb2.RegisterDisputeRequest()
    referral.CopyFrom(counter)
    referral.request_id = str(uuid.UUID(int=random.Random(308).getrandbits(128)))
    referral.source = common_pb2.CASE_SOURCE_POLICE_REFERRAL
    referral.police.CopyFrom(intake_pb2.PoliceReferral(station_org_id=county.police_station,
                                                       officer_person_id="officer-9", incident_reference="JQ77770001"))
    second = await stubs["intake"].RegisterDispute(referral, metadata=CLERK)
    assert second.linked_to_existing
    assert second.dispute.dispute_id == first.dispute.dispute_id
    assert any("linked to open dispute" in w for w in second.warnings)
    assert [(r.source, r.linked) for r in second.dispute.registrations] == [
        (common_pb2.CASE_SOURCE_PARTY_APPLICATION, False), (common_pb2.CASE_SOURCE_POLICE_REFERRAL, True)]
    assert second.dispute.registrations[1].police.incident_reference == "JQ77770001"

    retried = await stubs["intake"].RegisterDispute(referral, metadata=CLERK)
    assert (retried.linked_to_existing, retried.dispute.dispute_id) == (True, first.dispute.dispute_id)

    # The station now sees the dispute it referred; one dispute-registered went out, with the agent's fingerprint.
    station = token(Role.POLICE, subject="officer-9", organization_id=county.police_station, region_scope=("15",))
    seen = await stubs["intake"].GetDispute(intake_pb2.GetDisputeRequest(dispute_id=first.dispute.dispute_id),
                                            metadata=station)
    assert len(seen.registrations) == 2
    (payload,) = await outbox(stack_env, first.dispute.dispute_id, "intake.dispute-registered.v1")
    event = intake_pb2.DisputeRegistered.FromString(payload)
    assert len(event.parties[0].agent_fingerprints) == 1
    assert agent_id.encode() not in payload


async def create_office(personnel, kind: int, name: str, region: str, parent: str = "") -> str:
    return (await personnel.CreateOrganization(pe.CreateOrganizationRequest(
        kind=kind, name=name, region_code=region, parent_organization_id=parent), metadata=OPERATOR)).organization_id


async def create_liaison(personnel, org: str, region: str, name: str) -> str:
    return (await personnel.CreatePerson(pe.CreatePersonRequest(
        name=name, organization_id=org, roles=[pe.ROLE_LIAISON_OFFICER], region_codes=[region],
        phone="13700137000"), metadata=OPERATOR)).person_id


async def test_a_risk_warning_is_acknowledged_by_the_liaison_officers_of_the_county(world, services, stack_env):
    stubs, prov = world
    # Offices of their own (one liaison officer per office), in the last county and a neighbour.
    county, neighbour = prov.counties[-1], prov.counties[-2]
    here, there = county.division.code, neighbour.division.code
    court = await create_office(stubs["personnel"], pe.ORGANIZATION_KIND_BASIC_COURT, "测试基层法院", here)
    offices = {
        intake_pb2.LIAISON_OFFICE_POLICE_STATION: await create_office(
            stubs["personnel"], pe.ORGANIZATION_KIND_POLICE_STATION, "测试派出所", here),
        intake_pb2.LIAISON_OFFICE_PEOPLES_TRIBUNAL: await create_office(
            stubs["personnel"], pe.ORGANIZATION_KIND_PEOPLES_TRIBUNAL, "测试人民法庭", here, parent=court),
        intake_pb2.LIAISON_OFFICE_JUDICIAL_OFFICE: await create_office(
            stubs["personnel"], pe.ORGANIZATION_KIND_JUDICIAL_OFFICE, "测试司法所", here),
    }
    liaisons = {kind: await create_liaison(stubs["personnel"], org, here, f"联络人{kind}") for kind, org in
                offices.items()}
    far_station = await create_office(stubs["personnel"], pe.ORGANIZATION_KIND_POLICE_STATION, "邻旗派出所", there)
    far_liaison = await create_liaison(stubs["personnel"], far_station, there, "邻旗联络人")

    intake_metrics = services.metrics_port("intake")

    async def projected():
        return metrics.total(intake_metrics, "liandiao_events_consumed_total", consumer="intake.liaison",
                             outcome="processed") >= len(prov.mediators) + 4

    await eventually(projected, timeout=60)

    req = province.dispute_request(random.Random(309), prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION)
    req.region_code = county.townships[0].code if county.townships else here
    req.risk_factors.CopyFrom(intake_pb2.RiskFactors(threats_of_violence=True, prior_incidents=1, people_involved=2))
    d = (await stubs["intake"].RegisterDispute(req, metadata=CLERK)).dispute
    assert d.risk_score == 50 and d.HasField("warning")
    assert list(d.warning.unacknowledged) == list(offices)
    assert (d.warning.escalation_level, d.warning.acknowledged) == (0, False)
    (raised,) = await outbox(stack_env, d.dispute_id, "intake.risk-flagged.v1")
    assert list(intake_pb2.RiskFlagged.FromString(raised).unacknowledged_offices) == [
        "police_station", "peoples_tribunal", "judicial_office"]

    def liaison_token(person_id: str) -> tuple:
        return token(Role.LIAISON, subject=person_id, organization_id="", region_scope=("15",))

    def ack(person_id: str):
        return stubs["intake"].AcknowledgeWarning(intake_pb2.AcknowledgeWarningRequest(
            dispute_id=d.dispute_id, liaison_person_id=person_id), metadata=liaison_token(person_id))

    # The neighbouring banner's liaison officer is not concerned (asked until intake has projected them).
    async def refused_for_region():
        try:
            await ack(far_liaison)
        except grpc.aio.AioRpcError as exc:
            return exc if "does not cover" in (exc.details() or "") else None
        pytest.fail("a liaison officer of another county acknowledged the warning")

    refused = await eventually(refused_for_region)
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "early-warning.concerned-office" in refused.details()

    answers = [await eventually(lambda pid=pid: ack(pid)) for pid in liaisons.values()]
    assert not answers[0].warning.acknowledged and answers[-1].warning.acknowledged
    got = await stubs["intake"].GetDispute(intake_pb2.GetDisputeRequest(dispute_id=d.dispute_id), metadata=CLERK)
    assert {(a.office, a.liaison_person_id, a.organization_id) for a in got.warning.acknowledgements} == {
        (kind, liaisons[kind], offices[kind]) for kind in offices}
    assert list(got.warning.unacknowledged) == [] and got.warning.acknowledged
    assert not got.warning.escalated and not got.warning.HasField("next_escalation_at")
