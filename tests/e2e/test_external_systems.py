"""Court and police systems end to end (issue 10): a fake police system and a fake court system
(liandiao.devtools.fake_systems, real HTTP servers on loopback) send referrals in through the
external-systems adapter (its own process, services/intake/external) and hear back by
notification's signed webhooks. Every answer the adapter gives and every webhook the systems
receive is checked against docs/api/external-systems.yaml, which is itself validated."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from liandiao.common.v1 import common_pb2
from liandiao.devtools import province
from liandiao.devtools.fake_systems import FakeSystem, LocalSystems, referral_body
from liandiao.devtools.localrun import PORT_OFFSET, REPO
from liandiao.intake.v1 import intake_pb2
from liandiao.mediation.v1 import mediation_pb2 as pb
from liandiao.routing.v1 import routing_pb2
from tests.e2e.support import OPERATOR, eventually, placed
from tests.e2e.test_mediation_flow import complete_content, hold_a_session

pytestmark = pytest.mark.e2e
SPEC = REPO / "docs" / "api" / "external-systems.yaml"
ADAPTER_PORT = PORT_OFFSET + 21079
POLICE, COURT = "police-test-1505", "court-test-1505"


def test_the_openapi_file_is_valid_openapi_3_1():
    spec = yaml.safe_load(SPEC.read_text("utf-8"))
    validate_spec(spec)
    assert spec["openapi"].startswith("3.1") and "result" in spec["webhooks"]


def schema(name: str) -> Draft202012Validator:
    spec = yaml.safe_load(SPEC.read_text("utf-8"))
    registry = Registry().with_resource("urn:spec", Resource.from_contents(spec, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"urn:spec#/components/schemas/{name}"}, registry=registry)


def conforms(name: str, value: object) -> None:
    errors = [e.message for e in schema(name).iter_errors(value)]
    assert errors == [], (name, errors)


class Stack:
    def __init__(self, police: FakeSystem, court: FakeSystem, prov: province.Province, stubs: dict):
        self.police, self.court, self.prov, self.stubs = police, court, prov, stubs

    def police_body(self, seed: int, **changes) -> tuple[dict, intake_pb2.RegisterDisputeRequest]:
        req = province.dispute_request(random.Random(seed), self.prov, source=common_pb2.CASE_SOURCE_POLICE_REFERRAL)
        body = referral_body(req, reference=f"JQ-{uuid.uuid4().hex[:12]}")
        return body | changes, req


@pytest.fixture(scope="module")
async def stack(services, world, tmp_path_factory):
    stubs, prov = world
    external = LocalSystems(tmp_path_factory.mktemp("external"), ADAPTER_PORT, POLICE, COURT).prepare()
    try:
        # Notification learns where the two systems hear back (its webhook receivers) on a restart.
        services.stop("notification")
        services.env["LIANDIAO_WEBHOOKS_FILE"] = str(external.webhooks_file)
        services.start("notification")
        await services.wait_serving(timeout=120)
        external.start(services, [c.police_station for c in prov.counties],
                       [org for c in prov.counties for org in (c.tribunal, c.basic_court)], ["1505"])
        await asyncio.to_thread(external.wait_ready)
        yield Stack(external.police, external.court, prov, stubs)
    finally:
        external.stop()


async def test_a_police_systems_retried_referral_makes_one_dispute(stack):
    body, _ = stack.police_body(7001)
    first = await asyncio.to_thread(stack.police.refer, body)
    assert first.status_code == 200, first.text
    conforms("Registration", first.json())
    assert first.json()["reference"] == body["reference"] and first.json()["status"] == "registered"
    # The answer was lost; the system sends the same referral again, signed afresh (a timestamp of its
    # own, so a signature of its own), from two workers at once.
    now = int(time.time())
    again = await asyncio.gather(*(asyncio.to_thread(stack.police.refer, body, timestamp=now + lag) for lag in (1, 2)))
    assert [r.status_code for r in again] == [200, 200]
    assert {r.json()["dispute_id"] for r in again} == {first.json()["dispute_id"]}
    dispute = await stack.stubs["intake"].GetDispute(intake_pb2.GetDisputeRequest(
        dispute_id=first.json()["dispute_id"]), metadata=OPERATOR)
    assert len(dispute.registrations) == 1 and dispute.referring_system_id == POLICE
    assert dispute.police.incident_reference == body["reference"] and dispute.referring_org_id == body["station_org_id"]
    assert dispute.source == common_pb2.CASE_SOURCE_POLICE_REFERRAL


async def test_a_forged_signature_an_unknown_system_and_an_old_request_are_refused(stack):
    body, _ = stack.police_body(7002)
    forged = await asyncio.to_thread(stack.police.refer, body, secret=b"not-the-secret-of-this-system-000")
    assert forged.status_code == 401 and "does not match" in forged.json()["detail"]
    conforms("Problem", forged.json())
    stranger = FakeSystem("police-nobody", "police", stack.police.adapter_url)
    try:
        unknown = await asyncio.to_thread(stranger.refer, body)
    finally:
        stranger.stop()
    assert unknown.status_code == 401 and unknown.json()["title"] == "unknown system"
    old = await asyncio.to_thread(stack.police.refer, body, timestamp=int(time.time()) - 3600)
    assert old.status_code == 401 and "window" in old.json()["detail"]
    # None of them registered anything: the genuine referral is the first registration.
    genuine = await asyncio.to_thread(stack.police.refer, body)
    assert genuine.status_code == 200
    dispute = await stack.stubs["intake"].GetDispute(intake_pb2.GetDisputeRequest(
        dispute_id=genuine.json()["dispute_id"]), metadata=OPERATOR)
    assert len(dispute.registrations) == 1


async def test_a_replayed_request_is_refused(stack):
    body, _ = stack.police_body(7003)
    raw = __import__("json").dumps(body, ensure_ascii=False).encode()
    headers = stack.police.signed_headers(raw)
    first = await asyncio.to_thread(stack.police.post, "police", raw, headers)
    replayed = await asyncio.to_thread(stack.police.post, "police", raw, headers)
    assert first.status_code == 200
    assert replayed.status_code == 401 and replayed.json()["title"] == "replayed request"


async def test_bad_input_is_refused_naming_the_field(stack):
    body, _ = stack.police_body(7004)
    # The schema's own checks (the adapter reads the OpenAPI file): a wrong type, a missing field.
    wrong = dict(body, parties=[dict(body["parties"][0], age="forty"), body["parties"][1]])
    del wrong["officer_person_id"]
    reply = await asyncio.to_thread(stack.police.refer, wrong)
    assert reply.status_code == 422
    conforms("Problem", reply.json())
    pointers = {e["pointer"]: e["reason"] for e in reply.json()["errors"]}
    assert "/parties/0/age" in pointers and "/officer_person_id" in pointers
    # intake's rules: a resident ID with a wrong check character, a region that does not exist.
    party = dict(body["parties"][0])
    number = party["id_document"]["number"]
    party["id_document"] = {"type": "resident_id", "number": number[:-1] + ("0" if number[-1] != "0" else "1")}
    intake_says = await asyncio.to_thread(stack.police.refer, dict(body, parties=[party, body["parties"][1]],
                                                                   region_code="150599"))
    assert intake_says.status_code == 422, intake_says.text
    errors = {e["pointer"]: e for e in intake_says.json()["errors"]}
    assert errors["/parties/0/id_document/number"]["field"] == "parties[0].id_document.number"
    assert "/region_code" in errors
    # Not JSON at all.
    raw = b"{not json"
    broken = await asyncio.to_thread(stack.police.post, "police", raw, stack.police.signed_headers(raw))
    assert broken.status_code == 400


async def test_a_station_the_system_may_not_speak_for_is_refused(stack):
    body, _ = stack.police_body(7005, station_org_id="station-of-another-city")
    reply = await asyncio.to_thread(stack.police.refer, body)
    assert reply.status_code == 403 and reply.json()["errors"][0]["pointer"] == "/station_org_id"
    outside, _ = stack.police_body(7006, region_code="150102")   # Hohhot: not this system's region
    assert (await asyncio.to_thread(stack.police.refer, outside)).status_code == 403
    # A court system cannot send a police referral, nor a police system a court delegation.
    assert (await asyncio.to_thread(stack.court.refer, body, "police")).status_code == 403
    # (signed a second later: the same body in the same second is the first request's replay)
    assert (await asyncio.to_thread(stack.police.refer, body, "delegation", timestamp=int(time.time()) + 1)
            ).status_code == 403


async def _offered(stack: Stack, dispute_id: str):
    return await placed(stack.stubs, dispute_id, metadata=OPERATOR, timeout=60)

async def _referred_and_offered(stack: Stack, seeds: range):
    """Police referrals over HTTP, one seed after another, until routing offers one to a
    mediator: (body, request, dispute id, offer, seed)."""
    for seed in seeds:
        body, req = stack.police_body(seed)
        reply = await asyncio.to_thread(stack.police.refer, body)
        assert reply.status_code == 200, reply.text
        dispute_id = reply.json()["dispute_id"]
        offer = await _offered(stack, dispute_id)
        if offer.status == routing_pb2.ASSIGNMENT_STATUS_OFFERED:
            break
    return body, req, dispute_id, offer, seed


async def test_a_police_referral_in_over_http_hears_back_that_the_agreement_took_effect(stack):
    from liandiao.auth import Role
    from liandiao.devtools.clients import token

    body, req, dispute_id, offer, _ = await _referred_and_offered(stack, range(7100, 7110))
    mediator = token(Role.MEDIATOR, subject=offer.mediator_id)
    await stack.stubs["routing"].AcceptAssignment(routing_pb2.AcceptAssignmentRequest(
        dispute_id=dispute_id, mediator_id=offer.mediator_id), metadata=mediator)
    assigned = await asyncio.to_thread(stack.police.wait_for, "assigned", dispute_id)
    conforms("ResultNotification", assigned)
    assert assigned["result"]["reference"] == body["reference"]
    assert assigned["result"]["organization_id"] == body["station_org_id"]

    m = stack.stubs["mediation"]
    case = await eventually(lambda: m.GetCase(pb.GetCaseRequest(dispute_id=dispute_id), metadata=OPERATOR))
    await hold_a_session(m, case, mediator)
    drafted = await m.DraftAgreement(pb.DraftAgreementRequest(
        case_id=case.case_id, mode=pb.AGREEMENT_MODE_WRITTEN, content=complete_content(case, req)), metadata=mediator)
    for p in case.parties:
        await m.SignAgreement(pb.SignAgreementRequest(
            agreement_id=drafted.agreement_id, signer_id=p.party_id, role=pb.SIGNER_ROLE_PARTY,
            method=pb.SIGNATURE_METHOD_FINGERPRINT, digest=drafted.digest), metadata=mediator)
    await m.SignAgreement(pb.SignAgreementRequest(
        agreement_id=drafted.agreement_id, signer_id=case.mediator_id, role=pb.SIGNER_ROLE_MEDIATOR,
        method=pb.SIGNATURE_METHOD_PAPER_IN_PERSON, digest=drafted.digest), metadata=mediator)
    sealed = await m.ApplySeal(pb.ApplySealRequest(agreement_id=drafted.agreement_id), metadata=mediator)
    assert sealed.state == pb.AGREEMENT_STATE_EFFECTIVE

    heard = await asyncio.to_thread(stack.police.wait_for, "agreement_effective", dispute_id)
    conforms("ResultNotification", heard)
    result = heard["result"]
    assert result["system_id"] == POLICE and result["reference"] == body["reference"]
    assert result["agreement_id"] == drafted.agreement_id and result["event"] == "mediation.agreement-effective"
    assert "达成调解协议" in heard["text"]
    # Routed to the referring system only, and once per delivery.
    assert stack.court.results(dispute_id=dispute_id) == []
    assert len(stack.police.results("agreement_effective", dispute_id)) == 1 and stack.police.heard.refused == 0


async def test_a_court_delegation_hears_back_that_the_case_returned_to_the_court(stack):
    from liandiao.auth import Role
    from liandiao.devtools.clients import token
    from liandiao.personnel.v1 import personnel_pb2

    rng = random.Random(7201)
    req = province.dispute_request(rng, stack.prov, source=common_pb2.CASE_SOURCE_COURT_DELEGATION)
    body = referral_body(req, reference=f"（2026）蒙0502民诉前调{rng.randint(1000, 9999)}号-{uuid.uuid4().hex[:6]}")
    reply = await asyncio.to_thread(stack.court.refer, body, "delegation")
    assert reply.status_code == 200, reply.text
    dispute_id = reply.json()["dispute_id"]
    d = await stack.stubs["intake"].GetDispute(intake_pb2.GetDisputeRequest(dispute_id=dispute_id), metadata=OPERATOR)
    assert d.source == common_pb2.CASE_SOURCE_COURT_DELEGATION and d.court.court_case_reference == body["reference"]
    # The parties choose together (SPC-Online Art.10), as the routing flow test shows.
    eligible = await stack.stubs["personnel"].FindEligibleMediators(personnel_pb2.FindEligibleMediatorsRequest(
        region_code=d.region_code, dispute_type=d.dispute_type), metadata=OPERATOR)
    court_token = token(Role.COURT, organization_id=body["court_org_id"])

    async def chosen():
        try:
            return await stack.stubs["routing"].RecordPartiesChoice(routing_pb2.RecordPartiesChoiceRequest(
                dispute_id=dispute_id, mediator_id=eligible.mediators[-1].person_id,
                agreed_party_ids=[p.party_id for p in d.parties]), metadata=court_token)
        except Exception:   # noqa: BLE001 - not placed yet
            return None

    offer = await eventually(chosen, timeout=60)
    mediator = token(Role.MEDIATOR, subject=offer.mediator_id)
    await stack.stubs["routing"].AcceptAssignment(routing_pb2.AcceptAssignmentRequest(
        dispute_id=dispute_id, mediator_id=offer.mediator_id), metadata=mediator)
    m = stack.stubs["mediation"]
    case = await eventually(lambda: m.GetCase(pb.GetCaseRequest(dispute_id=dispute_id), metadata=OPERATOR))
    await m.Terminate(pb.TerminateRequest(case_id=case.case_id, ground=pb.TERMINATION_GROUND_POSITIONS_TOO_FAR_APART,
                                          details="双方分歧过大", routes_told=["向人民法院起诉"]), metadata=mediator)
    returned = await asyncio.to_thread(stack.court.wait_for, "returned_to_court", dispute_id)
    conforms("ResultNotification", returned)
    assert returned["result"]["reference"] == body["reference"]
    assert returned["result"]["ground"] == "positions_too_far_apart"
    assert returned["result"]["organization_id"] == body["court_org_id"] and returned["result"]["system_id"] == COURT
    assert stack.police.results(dispute_id=dispute_id) == []


async def test_a_dispute_two_systems_referred_is_answered_to_both_each_with_its_reference(stack):
    """The police refer it; the court's system delegates the same parties' same dispute, which
    intake links to the open one (no second dispute): both systems hear it was assigned."""
    from liandiao.auth import Role
    from liandiao.devtools.clients import token

    body, req, dispute_id, offer, seed = await _referred_and_offered(stack, range(7300, 7310))
    county = next(c for c in stack.prov.counties if req.region_code.startswith(c.division.code))
    delegation = {k: v for k, v in body.items() if k not in ("station_org_id", "officer_person_id")}
    delegation |= {"reference": f"（2026）蒙0502民诉前调{seed}号", "court_org_id": county.basic_court}
    linked = await asyncio.to_thread(stack.court.refer, delegation, "delegation")
    assert linked.status_code == 200, linked.text
    assert linked.json()["linked_to_existing"] and linked.json()["dispute_id"] == dispute_id

    await stack.stubs["routing"].AcceptAssignment(routing_pb2.AcceptAssignmentRequest(
        dispute_id=dispute_id, mediator_id=offer.mediator_id), metadata=token(Role.MEDIATOR, subject=offer.mediator_id))
    to_police = await asyncio.to_thread(stack.police.wait_for, "assigned", dispute_id)
    to_court = await asyncio.to_thread(stack.court.wait_for, "assigned", dispute_id)
    for heard in (to_police, to_court):
        conforms("ResultNotification", heard)
    assert (to_police["result"]["system_id"], to_police["result"]["reference"]) == (POLICE, body["reference"])
    assert (to_court["result"]["system_id"], to_court["result"]["reference"]) == (COURT, delegation["reference"])
    assert to_court["result"]["organization_id"] == county.basic_court
    assert len(stack.police.results("assigned", dispute_id)) == 1 and len(stack.court.results("assigned", dispute_id)) == 1


async def test_a_referral_is_one_trace_from_the_adapter_into_intake(stack, otlp):
    """The adapter's request span continues the calling system's traceparent, and intake's
    RegisterDispute joins it through the call's metadata (OpenTelemetry, OTLP sink)."""
    body, _ = stack.police_body(7401)
    raw = __import__("json").dumps(body, ensure_ascii=False).encode()
    trace_id = uuid.uuid4().hex
    headers = stack.police.signed_headers(raw) | {"traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"}
    reply = await asyncio.to_thread(stack.police.post, "police", raw, headers)
    assert reply.status_code == 200, reply.text

    async def joined():
        services = otlp.services_by_trace().get(trace_id, set())
        return services if {"liandiao-external-systems", "liandiao-intake"} <= services else None

    assert await eventually(joined, timeout=30)
    assert trace_id in otlp.traces_of_dispute(reply.json()["dispute_id"])
