"""Fixtures of the fuzz tests: a harness on the six running services (the session
fixtures ``services`` and ``world`` of tests/conftest.py), a few disputes taken as
far as a case and its deliveries so generated ids can hit real records, and the
outcome table printed at the end of the run.

LIANDIAO_FUZZ_EXAMPLES sets the generated requests per method (default 25, the
short form inside ``make test``); docs/operations.md has the long run."""

from __future__ import annotations

import json
import os
import random
import time

import grpc
import pytest
from hypothesis import strategies as st

from liandiao.auth import Role
from liandiao.devtools import province
from liandiao.intake.v1 import intake_pb2
from liandiao.personnel.v1 import personnel_pb2
from liandiao.reference import dispute_types
from liandiao.routing.v1 import routing_pb2
from tests.fuzz import harness as h
from tests.fuzz.hints import Hints, world_facts

EXAMPLES = int(os.environ.get("LIANDIAO_FUZZ_EXAMPLES", "25"))


def _register(fz: h.Harness, req: intake_pb2.RegisterDisputeRequest) -> str:
    out = fz.channels["intake"].unary_unary(
        "/liandiao.intake.v1.IntakeService/RegisterDispute", request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=intake_pb2.RegisterDisputeResponse.FromString)(
        req, metadata=h.Caller(Role.CLERK).metadata(), timeout=15)
    return out.dispute.dispute_id


def _assignment(fz: h.Harness, dispute_id: str) -> routing_pb2.Assignment | None:
    stub = fz.channels["routing"].unary_unary(
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
        accept = fz.channels["routing"].unary_unary(
            "/liandiao.routing.v1.RoutingService/AcceptAssignment", request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=routing_pb2.Assignment.FromString)
        accept(routing_pb2.AcceptAssignmentRequest(dispute_id=disputes[0], mediator_id=offered.mediator_id),
               metadata=h.Caller(Role.CLERK).metadata(), timeout=15)
        other_ids.append(offered.assignment_id)
    fz.dirty = True
    fz.settle()
    other_ids += [str(r["case_id"]) for r in fz.run(fz.db.fetch("select case_id from mediation.cases limit 3"))]
    other_ids += [str(r["delivery_id"]) for r in fz.run(fz.db.fetch("select delivery_id from notification.deliveries "
                                                                    "limit 3"))]
    fz.hints = Hints(world_facts(prov, disputes, other_ids))
    fz.province = prov
    # Requests too intricate for field hints alone: real ones, broken by the mutator.
    randoms = st.randoms(use_true_random=False)
    fz.bases = {"liandiao.intake.v1.RegisterDisputeRequest": randoms.map(lambda r: province.dispute_request(r, prov)),
                "liandiao.personnel.v1.CreatePersonRequest": randoms.map(lambda r: _mediator(r, prov)),
                "liandiao.personnel.v1.CreateOrganizationRequest": randoms.map(lambda r: _organization(r, prov))}
    yield fz
    fz.close()


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
