"""The lawyer on duty (issue 7): a lawyer or legal-service worker sees the disputes of the
offices whose duty rota (personnel's SetDuty, projected by intake, routing and mediation
from person-changed: liandiao.dutyrota) lists them within the duty window
(liandiao.access.DUTY_WINDOW_DAYS, today included): the dispute in intake, its assignment in
routing and its case in mediation, in single reads and in lists, which filter in SQL; they
act on none of them. A lawyer on another office's rota, or booked at the office only for a
day ahead, is told NOT_FOUND and lists nothing of it; taken off the rota, the lawyer loses
all three."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from liandiao import access
from liandiao.auth import Claims, Role
from liandiao.common.v1 import common_pb2
from liandiao.devtools import province
from liandiao.devtools.clients import token
from liandiao.intake.v1 import intake_pb2
from liandiao.legaltime import to_china_date
from liandiao.mediation.v1 import mediation_pb2
from liandiao.personnel.v1 import personnel_pb2
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc.convert import timestamp
from services.intake import access as intake_access
from tests.e2e.support import CLERK, OPERATOR, accept, eventually, register_until_offered


def test_the_duty_window_is_the_last_seven_china_days():
    today = to_china_date(datetime(2026, 3, 10, 17, 0, tzinfo=UTC))      # 01:00 on 11 March in Beijing
    assert access.duty_window(today) == (today - timedelta(days=6), today)
    assert today.isoformat() == "2026-03-11"


def test_lawyers_reach_disputes_only_through_the_rota_also_in_sql():
    lawyer = Claims("lawyer-1", "firm-1", Role.LAWYER, ("1505",))
    rule = intake_access.DISPUTE
    assert not rule.may_see(lawyer, intake_access.facts("150502", set()))
    assert rule.may_see(lawyer, intake_access.facts("150502", set(), frozenset({"lawyer-1"})))
    # Not across a region scope, whatever the rota says.
    assert not rule.may_see(lawyer, intake_access.facts("150102", set(), frozenset({"lawyer-1"})))
    where, params = access.visible_sql(rule, lawyer, intake_access.COLUMNS, 1)
    assert "duty_rota" in where and params == [["1505%"], "lawyer-1"]


def _licence() -> str:
    return "1505" + f"{uuid.uuid4().int % 10**13:013d}"


@pytest.mark.e2e
async def test_a_lawyer_sees_the_disputes_of_the_offices_on_their_rota_only(world):
    stubs, prov = world
    rng = random.Random(uuid.uuid4().int)
    # Registered first, until routing offers it to a mediator (a random type may have nobody on duty).
    req, dispute, offer = await register_until_offered(
        stubs, lambda: province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION))
    home = next(c for c in prov.counties if c.judicial_office == req.registering_org_id)
    other = next(c for c in prov.counties if c.judicial_office != home.judicial_office)
    today = to_china_date(datetime.now(UTC))

    async def lawyer(firm: str, office: str, day) -> str:
        person = await stubs["personnel"].CreatePerson(personnel_pb2.CreatePersonRequest(
            name="值班律师", organization_id=firm, roles=[personnel_pb2.ROLE_LAWYER],
            lawyer_licence_number=_licence(), languages=["zh"]), metadata=CLERK)
        await stubs["personnel"].SetDuty(personnel_pb2.SetDutyRequest(
            person_id=person.person_id, office_org_id=office, dates=[day.isoformat()]), metadata=CLERK)
        return person.person_id

    on_duty = await lawyer(home.law_firm, home.judicial_office, today)
    elsewhere = await lawyer(other.law_firm, other.judicial_office, today)
    ahead = await lawyer(home.law_firm, home.judicial_office, today + timedelta(days=30))
    ask = intake_pb2.GetDisputeRequest(dispute_id=dispute.dispute_id)

    def as_lawyer(person_id: str, firm: str):
        return token(Role.LAWYER, subject=person_id, organization_id=firm, region_scope=("1505",))

    # The rota reaches intake through person-changed; the lawyer on duty sees the dispute then.
    seen = await eventually(lambda: stubs["intake"].GetDispute(ask, metadata=as_lawyer(on_duty, home.law_firm)))
    assert seen.dispute_id == dispute.dispute_id and seen.parties
    page = common_pb2.PageRequest(page_size=200)
    listed = await stubs["intake"].ListDisputes(intake_pb2.ListDisputesRequest(page=page),
                                                metadata=as_lawyer(on_duty, home.law_firm))
    assert dispute.dispute_id in {d.dispute_id for d in listed.disputes}
    # Every dispute listed is one of that office's.
    assert {d.registering_org_id for d in listed.disputes} <= {home.judicial_office, home.police_station}
    for person, firm in ((elsewhere, other.law_firm), (ahead, home.law_firm)):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stubs["intake"].GetDispute(ask, metadata=as_lawyer(person, firm))
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND
        assert dispute.parties[0].name not in (refused.value.details() or "")
        listed = await stubs["intake"].ListDisputes(intake_pb2.ListDisputesRequest(page=page),
                                                    metadata=as_lawyer(person, firm))
        assert dispute.dispute_id not in {d.dispute_id for d in listed.disputes}

    # The same office's dispute in routing and, once its mediator accepts, in mediation.
    case = await accept(stubs, dispute.dispute_id, offer)
    reads = {"routing": lambda md: stubs["routing"].GetAssignment(
                 routing_pb2.GetAssignmentRequest(dispute_id=dispute.dispute_id), metadata=md),
             "mediation": lambda md: stubs["mediation"].GetCase(
                 mediation_pb2.GetCaseRequest(case_id=case.case_id), metadata=md)}
    for service, read in reads.items():
        got = await eventually(lambda read=read: read(as_lawyer(on_duty, home.law_firm)))
        assert got.dispute_id == dispute.dispute_id, service
    cases = await stubs["mediation"].ListCases(mediation_pb2.ListCasesRequest(page=page),
                                               metadata=as_lawyer(on_duty, home.law_firm))
    assert case.case_id in {c.case_id for c in cases.cases}
    for listed_case in cases.cases[:10]:     # every case listed is a dispute of that office
        d = await stubs["intake"].GetDispute(intake_pb2.GetDisputeRequest(dispute_id=listed_case.dispute_id),
                                             metadata=OPERATOR)
        assert {home.judicial_office, home.police_station} & {d.registering_org_id, d.referring_org_id}
    # Seeing is not acting: the lawyer on duty cannot schedule a session of the case.
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        people = [mediation_pb2.Participant(person_id=p.party_id, role=mediation_pb2.PARTICIPANT_ROLE_PARTY)
                  for p in case.parties]
        await stubs["mediation"].ScheduleSession(mediation_pb2.ScheduleSessionRequest(
            case_id=case.case_id, scheduled_for=timestamp(datetime.now(UTC) + timedelta(days=2)), place="司法所调解室",
            participants=people), metadata=as_lawyer(on_duty, home.law_firm))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    for person, firm in ((elsewhere, other.law_firm), (ahead, home.law_firm)):
        for service, read in reads.items():
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await read(as_lawyer(person, firm))
            assert refused.value.code() == grpc.StatusCode.NOT_FOUND, service
        cases = await stubs["mediation"].ListCases(mediation_pb2.ListCasesRequest(page=page),
                                                   metadata=as_lawyer(person, firm))
        assert case.case_id not in {c.case_id for c in cases.cases}

    # Taken off the rota: the dispute, its assignment and its case are out of sight again.
    await stubs["personnel"].SetDuty(personnel_pb2.SetDutyRequest(
        person_id=on_duty, office_org_id=home.judicial_office, dates=[today.isoformat()], cancel=True), metadata=CLERK)

    def gone(read):
        async def probe():
            try:
                await read(as_lawyer(on_duty, home.law_firm))
            except grpc.aio.AioRpcError as exc:
                return exc.code() == grpc.StatusCode.NOT_FOUND
            return False
        return probe
    assert await eventually(gone(lambda md: stubs["intake"].GetDispute(ask, metadata=md)))
    for read in reads.values():
        assert await eventually(gone(read))

