"""The authorization matrix (issue 7), generated from the method list of the proto
descriptors and the policy, so a method added to a contract without a rule fails here.

1. Every method of every service has a method-level rule, and the running services
   enforce it: every role (and every service identity) calls every method; one the
   rule refuses is answered PERMISSION_DENIED by the interceptor, one it admits gets
   past it (to validation, NOT_FOUND, UNIMPLEMENTED for what is not built yet ...).
2. Resource rules over one set of seeded disputes: own/other region × related/
   unrelated caller, for what intake and personnel hold. Cases, assignments,
   applications and deliveries: every method's relation rule in
   tests/security/test_relation_matrix.py (generated from its tables), and over the
   running services in tests/e2e/test_*access*.py."""

from __future__ import annotations

import random

import grpc
import pytest

from liandiao import audit, auth
from liandiao.auditlog.v1 import auditlog_pb2, auditlog_pb2_grpc
from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.devtools import province
from liandiao.devtools.clients import channel, service_token, token
from liandiao.intake.v1 import intake_pb2, intake_pb2_grpc
from liandiao.personnel.v1 import personnel_pb2
from tests.e2e.support import CLERK
from tests.security.methods import Method, all_methods, identity_channel, policies

REFUSED_BY_INTERCEPTOR = "may not call"


def rule_of(m: Method) -> frozenset[Role] | None:
    if m.service == "auditlog":
        return audit.POLICY.get(m.name)
    return policies()[m.service].get(m.name)


def test_every_method_of_the_contracts_has_a_rule():
    missing = [m.full_name for m in all_methods() if rule_of(m) is None]
    assert missing == [], f"methods without an access rule (add them to the service's POLICY): {missing}"


def test_no_method_admits_a_service_or_an_auditor_by_role():
    """A service identity is admitted by its own list only; an auditor by the audit trail only."""
    for m in all_methods():
        roles = rule_of(m) or frozenset()
        assert Role.SERVICE not in roles, m.full_name
        assert Role.AUDITOR not in roles, m.full_name


_STUB_NAMES = {"intake": "IntakeService", "personnel": "PersonnelService", "routing": "RoutingService",
               "mediation": "MediationService", "confirmation": "ConfirmationService",
               "notification": "NotificationService", "statistics": "StatisticsService"}


async def _call(ch: grpc.aio.Channel, m: Method, metadata) -> grpc.StatusCode | str:
    call = ch.unary_unary(f"/{m.full_name}", request_serializer=lambda r: r.SerializeToString(),
                          response_deserializer=lambda b: b)
    try:
        await call(m.input_type(), metadata=metadata, timeout=10)
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.PERMISSION_DENIED and REFUSED_BY_INTERCEPTOR in (exc.details() or ""):
            return "refused"
        return exc.code()
    return grpc.StatusCode.OK


@pytest.mark.e2e
async def test_every_role_and_service_identity_against_every_method(services):
    """About 700 calls with empty requests: each is refused by the interceptor exactly
    when the policy refuses it. An empty request never changes state (validation)."""
    callers = {str(r): token(r, subject=f"matrix-{r}", organization_id="matrix-org")
               for r in Role if r is not Role.SERVICE}
    callers |= {f"service:{s}": service_token(s) for s in auth.SERVICE_METHODS}
    wrong = []
    calls = 0
    for service in _STUB_NAMES:
        for who, metadata in callers.items():
            # A service calls over its own certificate (under mutual TLS), a person through the gateway.
            identity = who.removeprefix("service:") if who.startswith("service:") else "gateway"
            async with identity_channel(services, service, identity) as ch:
                for m in [m for m in all_methods() if m.service == service]:
                    roles = rule_of(m)
                    if who.startswith("service:"):
                        expected = m.full_name in auth.SERVICE_METHODS[identity]
                    else:
                        expected = roles is not None and Role(who) in roles
                    got = await _call(ch, m, metadata)
                    calls += 1
                    if (got != "refused") != expected:
                        wrong.append((m.full_name, who, "admitted" if expected else "refused", got))
    assert wrong == [], wrong
    assert calls > 500


@pytest.mark.e2e
async def test_every_service_serves_its_audit_trail_to_auditors_only(services):
    auditor = token(Role.AUDITOR, subject="auditor-m", organization_id="data-centre")
    for service in _STUB_NAMES:
        async with channel(services.address(service), retry=False) as ch:
            stub = auditlog_pb2_grpc.AuditServiceStub(ch)
            await stub.ListAuditEntries(auditlog_pb2.ListAuditEntriesRequest(), metadata=auditor)
            for r in Role:
                if r in (Role.AUDITOR, Role.SERVICE):   # a service's token: test_service_identity
                    continue
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await stub.ListAuditEntries(auditlog_pb2.ListAuditEntriesRequest(), metadata=token(r))
                assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED, (service, r)


async def _reads(stub, who, metadata, sees, disputes) -> dict[str, str]:
    out = {}
    for name, dispute in disputes.items():
        try:
            got = await stub.GetDispute(intake_pb2.GetDisputeRequest(dispute_id=dispute.dispute_id), metadata=metadata)
            assert got.dispute_id == dispute.dispute_id
            out[name] = "seen"
        except grpc.aio.AioRpcError as exc:
            out[name] = exc.code().name
    return out


@pytest.mark.e2e
async def test_dispute_reads_by_region_and_relation(world, services):
    """own/other region × related/unrelated, on disputes seeded once (prefecture 1505)."""
    stubs, prov = world
    rng = random.Random(901)
    referred = province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_POLICE_REFERRAL)
    delegated = province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_COURT_DELEGATION)
    plain = province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION)
    d = {name: (await stubs["intake"].RegisterDispute(r, metadata=CLERK)).dispute
         for name, r in (("referred", referred), ("delegated", delegated), ("plain", plain))}
    station, court = referred.police.station_org_id, delegated.court.court_org_id
    callers = {
        # (role, organization, region scope) -> which of the three it sees
        "station, own region": (token(Role.POLICE, organization_id=station, region_scope=("1505",)), {"referred"}),
        "station, other region": (token(Role.POLICE, organization_id=station, region_scope=("1504",)), set()),
        "other station": (token(Role.POLICE, organization_id="station-elsewhere", region_scope=("1505",)), set()),
        "tribunal, own region": (token(Role.COURT, organization_id=court, region_scope=("1505",)), {"delegated"}),
        "other court": (token(Role.COURT, organization_id="court-elsewhere", region_scope=("15",)), set()),
        "clerk, own region": (token(Role.CLERK, region_scope=("1505",)), {"referred", "delegated", "plain"}),
        "clerk, other region": (token(Role.CLERK, region_scope=("1504",)), set()),
        "operator": (token(Role.OPERATOR, region_scope=("15",)), {"referred", "delegated", "plain"}),
        "service routing": (service_token("routing"), set()),      # GetDispute is not on its list
        "service confirmation": (service_token("confirmation"), {"referred", "delegated", "plain"}),
    }
    for who, (metadata, sees) in callers.items():
        identity = who.removeprefix("service ") if who.startswith("service ") else "gateway"
        async with identity_channel(services, "intake", identity) as ch:
            seen = await _reads(intake_pb2_grpc.IntakeServiceStub(ch), who, metadata, sees, d)
        assert seen == {n: ("seen" if n in sees else ("PERMISSION_DENIED" if who == "service routing" else "NOT_FOUND"))
                        for n in d}, who
    # The receipt with the parties' case code (issue 11) follows the same rule; no service prints it.
    for who, (metadata, sees) in callers.items():
        identity = who.removeprefix("service ") if who.startswith("service ") else "gateway"
        async with identity_channel(services, "intake", identity) as ch:
            stub = intake_pb2_grpc.IntakeServiceStub(ch)
            for name, dispute in d.items():
                try:
                    got = await stub.GetReceipt(intake_pb2.GetReceiptRequest(dispute_id=dispute.dispute_id),
                                                metadata=metadata)
                    outcome = "seen" if got.case_code else "empty"
                except grpc.aio.AioRpcError as exc:
                    outcome = exc.code().name
                expected = "seen" if name in sees and not who.startswith("service") else \
                    ("PERMISSION_DENIED" if who.startswith("service") else "NOT_FOUND")
                assert outcome == expected, ("receipt", who, name, outcome)
    # Lists filter in the query by the same rule.
    for who in ("station, own region", "tribunal, own region", "clerk, other region"):
        metadata, sees = callers[who]
        listed = await stubs["intake"].ListDisputes(intake_pb2.ListDisputesRequest(
            page=common_pb2.PageRequest(page_size=200)), metadata=metadata)
        ids = {x.dispute_id for x in listed.disputes}
        assert {n for n, x in d.items() if x.dispute_id in ids} == sees, who


@pytest.mark.e2e
async def test_people_are_read_by_region_and_removed_only_by_their_own_office(world):
    stubs, prov = world
    person = prov.mediators[0]
    ask = personnel_pb2.GetPersonRequest(person_id=person)
    shown = await stubs["personnel"].GetPerson(ask, metadata=token(Role.CLERK, region_scope=("1505",)))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stubs["personnel"].GetPerson(ask, metadata=token(Role.CLERK, region_scope=("1504",)))
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    remove = personnel_pb2.RemoveFromRosterRequest(person_id=person, reason="收受当事人财物",
                                                    ground=personnel_pb2.REMOVAL_GROUND_BRIBERY)
    for metadata, code in [(token(Role.CLERK, organization_id="another-office", region_scope=("1505",)),
                            grpc.StatusCode.PERMISSION_DENIED),
                           (token(Role.CLERK, organization_id=shown.organization_id, region_scope=("1504",)),
                            grpc.StatusCode.NOT_FOUND),
                           (token(Role.OPERATOR), grpc.StatusCode.PERMISSION_DENIED)]:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stubs["personnel"].RemoveFromRoster(remove, metadata=metadata)
        assert refused.value.code() == code
    file = personnel_pb2.GetPerformanceFileRequest(person_id=person)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stubs["personnel"].GetPerformanceFile(file, metadata=token(Role.CLERK, organization_id="another-office",
                                                                         region_scope=("1505",)))
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    await stubs["personnel"].GetPerformanceFile(file, metadata=token(Role.CLERK, organization_id=shown.organization_id,
                                                                     region_scope=("1505",)))
