"""Fixtures of the fuzz tests: a harness on the six running services (the session
fixtures ``services`` and ``world`` of tests/conftest.py), a few disputes taken as
far as a case and its deliveries, and a few further (the chaos run's casework): a drafted
agreement, an effective one filed with its court, one accepted, one ruled. Generated ids,
callers and requests then hit real records and get past "not found" to the rules behind
it. And the outcome table printed at the end of the run.

LIANDIAO_FUZZ_EXAMPLES sets the generated requests per method (default 25, the
short form inside ``make test``); docs/operations.md has the long run."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import tomllib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import grpc
import jinja2
import jinja2.meta
import pytest
from hypothesis import strategies as st

from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.confirmation.v1 import confirmation_pb2, confirmation_pb2_grpc
from liandiao.devtools import province
from liandiao.devtools.chaos import casework
from liandiao.devtools.chaos.workload import Answers
from liandiao.devtools.mediate import content_for
from liandiao.intake.v1 import intake_pb2
from liandiao.mediation.v1 import mediation_pb2, mediation_pb2_grpc
from liandiao.notification.v1 import notification_pb2
from liandiao.personnel.v1 import personnel_pb2
from liandiao.reference import dispute_types
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc.convert import timestamp
from services.notification.domain.templates import SHIPPED, Catalog
from tests.fuzz import harness as h
from tests.fuzz.hints import Hints, world_facts

EXAMPLES = int(os.environ.get("LIANDIAO_FUZZ_EXAMPLES", "25"))


def _register(fz: h.Harness, req: intake_pb2.RegisterDisputeRequest) -> str:
    out = fz.channel("intake").unary_unary(
        "/liandiao.intake.v1.IntakeService/RegisterDispute", request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=intake_pb2.RegisterDisputeResponse.FromString)(
        req, metadata=h.Caller(Role.CLERK).metadata(), timeout=15)
    return out.dispute.dispute_id


def _assignment(fz: h.Harness, dispute_id: str) -> routing_pb2.Assignment | None:
    stub = fz.channel("routing").unary_unary(
        "/liandiao.routing.v1.RoutingService/GetAssignment", request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=routing_pb2.Assignment.FromString)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            return stub(routing_pb2.GetAssignmentRequest(dispute_id=dispute_id),
                        metadata=h.Caller(Role.CLERK).metadata(), timeout=5)
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.NOT_FOUND:
                raise
        time.sleep(0.2)
    return None


def _mediator(rng: random.Random, prov: province.Province) -> personnel_pb2.CreatePersonRequest:
    county = rng.choice(prov.counties)
    return personnel_pb2.CreatePersonRequest(
        name=province.person_name(rng), organization_id=rng.choice(county.committees or [county.judicial_office]),
        roles=[personnel_pb2.ROLE_MEDIATOR], specialties=rng.sample(sorted(dispute_types()), 3),
        languages=["zh"], region_codes=[county.division.code], phone=province.mobile(rng), on_duty=True)


def _organization(rng: random.Random, prov: province.Province) -> personnel_pb2.CreateOrganizationRequest:
    county = rng.choice(prov.counties)
    if rng.random() < 0.5:
        code = province.credit_code(rng, "31", county.division.code)
        return personnel_pb2.CreateOrganizationRequest(kind=personnel_pb2.ORGANIZATION_KIND_LAW_FIRM,
                                                       name=f"{county.division.name}律师事务所",
                                                       region_code=county.division.code, credit_code=code)
    return personnel_pb2.CreateOrganizationRequest(
        kind=personnel_pb2.ORGANIZATION_KIND_MEDIATION_COMMITTEE, name=f"{county.division.name}人民调解委员会",
        region_code=county.division.code, committee_level=personnel_pb2.COMMITTEE_LEVEL_TOWNSHIP,
        parent_organization_id=county.judicial_office)


def _accept(fz: h.Harness, dispute_id: str) -> str:
    """The offered mediator accepts; their id, or "" when routing placed nobody."""
    offered = _assignment(fz, dispute_id)
    if offered is None or not offered.mediator_id:
        return ""
    accept = fz.channel("routing").unary_unary(
        "/liandiao.routing.v1.RoutingService/AcceptAssignment", request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=routing_pb2.Assignment.FromString)
    accept(routing_pb2.AcceptAssignmentRequest(dispute_id=dispute_id, mediator_id=offered.mediator_id),
           metadata=h.Caller(Role.CLERK).metadata(), timeout=15)
    return offered.mediator_id


# How far each of the further disputes is taken (the last command of casework that landed).
CASEWORK_UNTIL = ("DraftAgreement", "Apply", "AcceptApplication", "")


async def _casework(fz: h.Harness, dsn: str, prov: province.Province, dispute_ids: list[str]) -> list:
    """The further disputes through mediation and confirmation, each as far as CASEWORK_UNTIL says
    (empty: to the end). Returns (dispute id, journey, case) for each."""
    courts = await casework.load_courts(dsn, prov)
    tls = fz.services.client_tls()

    def open_(svc: str) -> grpc.aio.Channel:
        address = fz.services.address(svc)
        return grpc.aio.secure_channel(address, tls.channel_credentials()) if tls else grpc.aio.insecure_channel(address)

    channels = [open_("mediation"), open_("confirmation")]
    stubs = SimpleNamespace(mediation=mediation_pb2_grpc.MediationServiceStub(channels[0]),
                            confirmation=confirmation_pb2_grpc.ConfirmationServiceStub(channels[1]))
    answers = Answers()
    out = []
    try:
        for n, (dispute_id, until) in enumerate(zip(dispute_ids, CASEWORK_UNTIL, strict=False)):
            j = casework.Journey(plan="written", seed=n)
            deadline = time.monotonic() + 40
            done = False
            while not done and (not until or j.last != until) and time.monotonic() < deadline:
                moved = j.progress
                try:
                    done = await casework.proceed(stubs, answers, dispute_id, j, courts)
                except grpc.aio.AioRpcError:
                    pass
                if j.progress == moved:
                    await asyncio.sleep(0.2)
            case = await stubs.mediation.GetCase(mediation_pb2.GetCaseRequest(dispute_id=dispute_id),
                                                 metadata=casework.OPERATOR, timeout=10)
            out.append((dispute_id, j, case))
    finally:
        for ch in channels:
            await ch.close()
    return out


def _preview_requests() -> list[notification_pb2.PreviewRequest]:
    """One request per shipped zh-CN template with every plain variable it names (a template
    that loops over a list cannot be previewed from a map of strings, and is refused)."""
    env = jinja2.Environment()
    catalog = Catalog.load()
    out = []
    shipped = tomllib.loads((SHIPPED / "zh-CN.toml").read_text("utf-8"))
    for name in sorted(catalog.names):
        text = shipped
        for part in name.split("/"):
            text = text[part]
        names = jinja2.meta.find_undeclared_variables(env.parse(str(text)))
        out.append(notification_pb2.PreviewRequest(template=name, values={v: "王建国" for v in sorted(names)}))
    return out


@pytest.fixture(scope="session")
def fuzz(services, world, stack_env):
    """The harness, and hints from a world with disputes in every state the API shows."""
    _, prov = world
    fz = h.Harness(services, stack_env["LIANDIAO_DATABASE_URL"])
    rng = random.Random(66)
    disputes = [_register(fz, province.dispute_request(rng, prov)) for _ in range(3)]
    risky = province.dispute_request(rng, prov)
    risky.risk_factors.threats_of_violence, risky.risk_factors.prior_incidents = True, 2
    disputes.append(_register(fz, risky))
    other_ids = []
    offered = _assignment(fz, disputes[0])
    if offered is not None and offered.mediator_id:
        _accept(fz, disputes[0])
        other_ids.append(offered.assignment_id)
    # Further disputes, taken on past the case's opening (a party's own application: no joint choice).
    further = [_register(fz, province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION))
               for _ in CASEWORK_UNTIL]
    taken = [d for d in further if _accept(fz, d)]
    # Longer than a request's settling: the tests before this one in a whole suite leave
    # deliveries in back-off (the default policy retries for about a minute) and events in
    # flight, on a CI machine slower than ours (it did not settle within 30 s there).
    fz.dirty = True
    fz.settle(timeout=150)
    worked = fz.run(_casework(fz, stack_env["LIANDIAO_DATABASE_URL"], prov, taken))
    fz.dirty = True
    fz.settle(timeout=150)
    other_ids += [str(r["case_id"]) for r in fz.run(fz.db.fetch("select case_id from mediation.cases limit 3"))]
    other_ids += [str(r["delivery_id"]) for r in fz.run(fz.db.fetch("select delivery_id from notification.deliveries "
                                                                    "limit 3"))]
    mediators, orgs = [], []
    for dispute_id, j, _ in worked:
        other_ids += [j.case_id, j.chosen_id(dispute_id, "session"), j.chosen_id(dispute_id, "agreement"),
                      *([j.application_id] if j.application_id else [])]
        mediators.append(j.mediator_id)
        orgs += [j.organization_id, *([j.court_id] if j.court_id else [])]
    rulings = fz.run(fz.db.fetch("select ruling_id::text, case_number from confirmation.rulings limit 3"))
    other_ids += [r["ruling_id"] for r in rulings]
    facts = world_facts(prov, disputes + taken, [i for i in other_ids if i])
    # The people and organizations of these cases first: the callers are drawn from the first few.
    facts.person_ids = list(dict.fromkeys(mediators + facts.person_ids))
    facts.org_ids = list(dict.fromkeys(orgs + facts.org_ids))
    facts.digests = [r["digest"] for r in fz.run(fz.db.fetch("select digest from mediation.agreements limit 6"))]
    facts.case_numbers = [r["case_number"] for r in rulings]
    fz.hints = Hints(facts)
    fz.province = prov
    fz.casework = worked
    # Requests too intricate for field hints alone: real ones, broken by the mutator.
    randoms = st.randoms(use_true_random=False)
    fz.bases = {"liandiao.intake.v1.RegisterDisputeRequest": randoms.map(lambda r: province.dispute_request(r, prov)),
                "liandiao.personnel.v1.CreatePersonRequest": randoms.map(lambda r: _mediator(r, prov)),
                "liandiao.personnel.v1.CreateOrganizationRequest": randoms.map(lambda r: _organization(r, prov)),
                "liandiao.notification.v1.PreviewRequest": st.sampled_from(_preview_requests())}
    fz.bases.update(_casework_bases(worked))
    yield fz
    fz.close()


def _casework_bases(worked: list) -> dict[str, st.SearchStrategy]:
    """Plausible mediation and confirmation requests on the worked cases."""
    if not worked:
        return {}
    out: dict[str, st.SearchStrategy] = {}
    cases = [case for _, _, case in worked]
    out["liandiao.mediation.v1.DraftAgreementRequest"] = st.sampled_from([mediation_pb2.DraftAgreementRequest(
        case_id=c.case_id, content=content_for(c, random.Random(n))) for n, c in enumerate(cases)])
    out["liandiao.mediation.v1.RecordOralAgreementRequest"] = st.sampled_from([mediation_pb2.RecordOralAgreementRequest(
        case_id=c.case_id, content=content_for(c, random.Random(n)), agreed_on=time.strftime("%Y-%m-%d"))
        for n, c in enumerate(cases)])
    people = [[mediation_pb2.Participant(person_id=p.party_id, role=mediation_pb2.PARTICIPANT_ROLE_PARTY)
               for p in c.parties] for c in cases]
    soon = timestamp(datetime.now(UTC) + timedelta(hours=2))
    out["liandiao.mediation.v1.ScheduleSessionRequest"] = st.sampled_from([mediation_pb2.ScheduleSessionRequest(
        case_id=c.case_id, scheduled_for=soon, place="调解室", participants=ps) for c, ps in zip(cases, people,
                                                                                               strict=True)])
    drafted = [c for c in cases if c.HasField("agreement") and c.agreement.state == mediation_pb2.AGREEMENT_STATE_DRAFT]
    if drafted:
        out["liandiao.mediation.v1.SignAgreementRequest"] = st.sampled_from([mediation_pb2.SignAgreementRequest(
            agreement_id=c.agreement.agreement_id, signer_id=p.party_id, role=mediation_pb2.SIGNER_ROLE_PARTY,
            method=mediation_pb2.SIGNATURE_METHOD_PAPER_IN_PERSON, digest=c.agreement.digest)
            for c in drafted for p in c.parties])
    filed = [j for _, j, _ in worked if j.agreement_id and j.court_id]
    if filed:
        out["liandiao.confirmation.v1.ApplyRequest"] = st.sampled_from([casework.apply_request(j) for j in filed])
    apps = [j.application_id for _, j, _ in worked if j.application_id]
    if apps:
        out["liandiao.confirmation.v1.AcceptApplicationRequest"] = st.sampled_from(
            [confirmation_pb2.AcceptApplicationRequest(application_id=a) for a in apps])
        out["liandiao.confirmation.v1.RuleRequest"] = st.sampled_from([confirmation_pb2.RuleRequest(
            application_id=a, outcome=confirmation_pb2.RULING_OUTCOME_VALID, reasons="协议系双方自愿达成。")
            for a in apps])
    return out


def pytest_terminal_summary(terminalreporter):
    if not h.TALLY:
        return
    codes = sorted({c for counts in h.TALLY.values() for c in counts})
    w = max(len(k) for k in h.TALLY) + 2
    tr = terminalreporter
    tr.section(f"fuzz outcomes ({EXAMPLES} generated requests per method, plus hand-written cases)")
    tr.write_line("method".ljust(w) + "  total  " + "  ".join(c.ljust(6) for c in codes))
    for key in sorted(h.TALLY):
        counts = h.TALLY[key]
        tr.write_line(key.ljust(w) + f"  {sum(counts.values()):5d}  " + "  ".join(
            str(counts.get(c, 0)).ljust(max(6, len(c))) for c in codes))
    out = h.REPORT_DIR / "outcomes.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({k: dict(v) for k, v in sorted(h.TALLY.items())}, indent=1))
    tr.write_line(f"(written to {out})")
