"""Mediation end to end (issue 8), with every service running: a dispute from registration to an
effective written agreement (both parties' signatures, the mediator's, the committee's SM2 seal),
the outcome at intake and in the mediator's performance file; a court-delegated dispute that fails
and goes back to its court; an oral agreement; and who may read and act."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.devtools import province
from liandiao.devtools.clients import token
from liandiao.intake.v1 import intake_pb2
from liandiao.legaltime import to_china_date
from liandiao.mediation.v1 import mediation_pb2 as pb
from liandiao.personnel.v1 import personnel_pb2
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc.convert import timestamp
from tests.e2e.support import CLERK, OPERATOR, accept, eventually, placed

pytestmark = pytest.mark.e2e


async def open_case(stubs, prov, seed: int, source):
    """A dispute registered, offered and accepted: its case, the registration request, and
    the mediator's token."""
    rng = random.Random(seed)
    for _ in range(8):
        req = province.dispute_request(rng, prov, source=source)
        d = (await stubs["intake"].RegisterDispute(req, metadata=CLERK)).dispute
        if source == common_pb2.CASE_SOURCE_COURT_DELEGATION:
            # The parties choose together (SPC-Online Art.10), as the routing flow test shows.
            eligible = await stubs["personnel"].FindEligibleMediators(personnel_pb2.FindEligibleMediatorsRequest(
                region_code=d.region_code, dispute_type=d.dispute_type), metadata=CLERK)
            court = token(Role.COURT, organization_id=req.court.court_org_id)

            async def chosen(d=d, eligible=eligible, court=court):
                try:
                    return await stubs["routing"].RecordPartiesChoice(routing_pb2.RecordPartiesChoiceRequest(
                        dispute_id=d.dispute_id, mediator_id=eligible.mediators[-1].person_id,
                        agreed_party_ids=[p.party_id for p in d.parties]), metadata=court)
                except grpc.aio.AioRpcError:
                    return None   # not placed yet

            offer = await eventually(chosen)
            break

        offer = await placed(stubs, d.dispute_id)
        if offer.status == routing_pb2.ASSIGNMENT_STATUS_OFFERED:
            break
    mediator = token(Role.MEDIATOR, subject=offer.mediator_id)
    case = await accept(stubs, d.dispute_id, offer)
    return case, req, mediator


def complete_content(case: pb.Case, req: intake_pb2.RegisterDisputeRequest) -> pb.AgreementContent:
    """PML Art.29 in full: each party's details (as registered), facts, issues, responsibilities,
    a money term with manner and deadline."""
    by_side = {p.side: p for p in case.parties}
    registered = {p.side: p for p in req.parties}
    deadline = (to_china_date(datetime.now(UTC)) + timedelta(days=30)).isoformat()
    parties = []
    for side in (common_pb2.PARTY_SIDE_APPLICANT, common_pb2.PARTY_SIDE_RESPONDENT):
        p, r = by_side[side], registered[side]
        parties.append(pb.AgreementParty(party_id=p.party_id, name=p.display_name, side=side,
                                         kind=common_pb2.PARTY_KIND_NATURAL_PERSON,
                                         id_number=r.id_document.number or "150502198001010011",
                                         address=r.address or "通辽市科尔沁区和平路1号", phone=r.phone))
    applicant, respondent = parties[0].party_id, parties[1].party_id
    return pb.AgreementContent(
        parties=parties, facts="双方就相邻损害发生争执。", issues=["赔偿数额"],
        responsibilities=[pb.Responsibility(party_id=applicant, text="无"),
                          pb.Responsibility(party_id=respondent, text="承担全部责任")],
        terms=[pb.Term(obligor_id=respondent, obligee_id=applicant, money=pb.Money(amount_fen=120000, currency="CNY"),
                       manner="一次性银行转账", deadline=deadline)],
        other_terms="双方就本纠纷再无其他争议")


async def hold_a_session(m, case, mediator):
    when = datetime.now(UTC) + timedelta(seconds=2)
    people = [pb.Participant(person_id=p.party_id, role=pb.PARTICIPANT_ROLE_PARTY) for p in case.parties]
    people.append(pb.Participant(person_id=case.mediator_id, role=pb.PARTICIPANT_ROLE_MEDIATOR))
    s = await m.ScheduleSession(pb.ScheduleSessionRequest(case_id=case.case_id, scheduled_for=timestamp(when),
                                                          place="嘎查调解室", participants=people), metadata=mediator)
    # It was held at once (a record is written after the session, never before it ends).
    held_at = datetime.now(UTC) - timedelta(minutes=40)
    held = await m.RecordSession(pb.RecordSessionRequest(session_id=s.session_id, record=pb.SessionRecord(
        started_at=timestamp(held_at), ended_at=timestamp(held_at + timedelta(minutes=30)), place="嘎查调解室",
        participants=people, statements=[pb.Statement(speaker_id=case.parties[0].party_id, text="要求赔偿")],
        undisputed_facts=["漏水发生于三月"], result=pb.SESSION_RESULT_AGREEMENT_REACHED)), metadata=mediator)
    assert held.state == pb.SESSION_STATE_HELD and held.record.undisputed_facts == ["漏水发生于三月"]
    return held


async def test_a_dispute_reaches_an_effective_written_agreement_and_its_outcome_flows_out(world):
    stubs, prov = world
    m = stubs["mediation"]
    case, req, mediator = await open_case(stubs, prov, 4101, common_pb2.CASE_SOURCE_PARTY_APPLICATION)
    await hold_a_session(m, case, mediator)
    drafted = await m.DraftAgreement(pb.DraftAgreementRequest(
        case_id=case.case_id, mode=pb.AGREEMENT_MODE_WRITTEN, content=complete_content(case, req)), metadata=mediator)
    assert drafted.state == pb.AGREEMENT_STATE_DRAFT and len(drafted.digest) == 64
    assert set(drafted.waiting_for) == {p.party_id for p in case.parties} | {case.mediator_id, "seal"}
    for p in case.parties:
        signed = await m.SignAgreement(pb.SignAgreementRequest(
            agreement_id=drafted.agreement_id, signer_id=p.party_id, role=pb.SIGNER_ROLE_PARTY,
            method=pb.SIGNATURE_METHOD_FINGERPRINT, digest=drafted.digest), metadata=mediator)
    signed = await m.SignAgreement(pb.SignAgreementRequest(
        agreement_id=drafted.agreement_id, signer_id=case.mediator_id, role=pb.SIGNER_ROLE_MEDIATOR,
        method=pb.SIGNATURE_METHOD_PAPER_IN_PERSON, digest=drafted.digest), metadata=mediator)
    assert list(signed.waiting_for) == ["seal"] and signed.state == pb.AGREEMENT_STATE_DRAFT
    sealed = await m.ApplySeal(pb.ApplySealRequest(agreement_id=drafted.agreement_id), metadata=mediator)
    assert sealed.state == pb.AGREEMENT_STATE_EFFECTIVE and sealed.seal.key_id and sealed.copies == 3
    got = await m.GetCase(pb.GetCaseRequest(case_id=case.case_id), metadata=mediator)
    assert got.status == pb.CASE_STATUS_AGREEMENT_EFFECTIVE
    timeline = await m.GetTimeline(pb.GetTimelineRequest(case_id=case.case_id), metadata=OPERATOR)
    assert [e.action for e in timeline.entries][:3] == ["open", "schedule_session", "record_session"]
    assert timeline.entries[-1].to_status == pb.CASE_STATUS_AGREEMENT_EFFECTIVE
    # An action the table does not allow: FAILED_PRECONDITION naming the state and the action.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await m.Terminate(pb.TerminateRequest(case_id=case.case_id, ground=pb.TERMINATION_GROUND_OTHER,
                                              details="x", routes_told=["诉讼"]), metadata=mediator)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "agreement_effective" in refused.value.details() and "terminate" in refused.value.details()
    # The outcome at intake (the dispute is closed) and in the mediator's performance file.
    dispute = await eventually(lambda: _closed(stubs, case.dispute_id))
    assert dispute.closed_at.seconds
    file = await eventually(lambda: _with_agreement(stubs, case.mediator_id))
    assert file.agreements >= 1
    exported = await m.ExportCaseFile(pb.ExportCaseFileRequest(case_id=case.case_id), metadata=OPERATOR)
    assert exported.pdf.startswith(b"%PDF-") and exported.retain_until


async def _closed(stubs, dispute_id):
    d = (await stubs["intake"].GetDispute(intake_pb2.GetDisputeRequest(dispute_id=dispute_id), metadata=CLERK))
    d = getattr(d, "dispute", d)
    return d if d.closed_at.seconds else None


async def _with_agreement(stubs, mediator_id):
    f = await stubs["personnel"].GetPerformanceFile(personnel_pb2.GetPerformanceFileRequest(person_id=mediator_id),
                                                    metadata=OPERATOR)
    return f if f.agreements else None


async def test_a_court_delegated_dispute_fails_and_returns_to_its_court(world):
    stubs, prov = world
    m = stubs["mediation"]
    case, req, mediator = await open_case(stubs, prov, 4202, common_pb2.CASE_SOURCE_COURT_DELEGATION)
    court = req.court.court_org_id
    assert case.referring_org_id == court and case.deadline.source.startswith("SPC-Invited Art.27")
    ended = await m.Terminate(pb.TerminateRequest(
        case_id=case.case_id, ground=pb.TERMINATION_GROUND_POSITIONS_TOO_FAR_APART, details="双方分歧过大",
        routes_told=["向人民法院起诉"]), metadata=mediator)
    assert ended.status == pb.CASE_STATUS_RETURNED_TO_COURT
    assert ended.termination.returned_to_court_id == court
    assert ended.termination.court_next_step == pb.COURT_NEXT_STEP_REGISTER_IF_PARTY_INSISTS
    # The delegating court reads its own case; another court does not.
    mine = await m.GetCase(pb.GetCaseRequest(case_id=case.case_id), metadata=token(Role.COURT, organization_id=court))
    assert mine.status == pb.CASE_STATUS_RETURNED_TO_COURT
    with pytest.raises(grpc.aio.AioRpcError) as other:
        await m.GetCase(pb.GetCaseRequest(case_id=case.case_id),
                        metadata=token(Role.COURT, organization_id="court-elsewhere"))
    assert other.value.code() == grpc.StatusCode.NOT_FOUND
    dispute = await eventually(lambda: _closed(stubs, case.dispute_id))
    assert dispute.closed_at.seconds


async def test_an_oral_agreement_takes_effect_on_the_date_the_parties_state(world):
    stubs, prov = world
    m = stubs["mediation"]
    case, req, mediator = await open_case(stubs, prov, 4303, common_pb2.CASE_SOURCE_PARTY_APPLICATION)
    content = complete_content(case, req)
    for p in content.parties:   # an oral agreement names the parties only
        p.id_number, p.address = "", ""
    today = to_china_date(datetime.now(UTC)).isoformat()
    oral = await m.RecordOralAgreement(pb.RecordOralAgreementRequest(case_id=case.case_id, content=content,
                                                                     agreed_on=today), metadata=mediator)
    assert oral.oral and oral.state == pb.AGREEMENT_STATE_EFFECTIVE and oral.effective_on == today


async def test_only_the_cases_mediator_acts_and_strangers_see_nothing(world):
    stubs, prov = world
    m = stubs["mediation"]
    case, _, mediator = await open_case(stubs, prov, 4404, common_pb2.CASE_SOURCE_PARTY_APPLICATION)
    terminate = pb.TerminateRequest(case_id=case.case_id, ground=pb.TERMINATION_GROUND_PARTY_UNREACHABLE,
                                    details="联系不上", routes_told=["诉讼"])
    strangers = {
        "a mediator of another case": token(Role.MEDIATOR, subject="00000000-0000-7000-8000-00000000beef"),
        "the case's mediator with another prefecture's token": token(
            Role.MEDIATOR, subject=case.mediator_id, region_scope=("1504",)),
        "a clerk of another organization": token(Role.CLERK, organization_id="office-elsewhere"),
    }
    for who, meta in strangers.items():
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await m.GetTimeline(pb.GetTimelineRequest(case_id=case.case_id), metadata=meta)
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND, who
    for who, meta in {"the holding committee's clerk": token(Role.CLERK, organization_id=case.organization_id),
                      "the operator": OPERATOR, "another mediator": strangers["a mediator of another case"]}.items():
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await m.Terminate(terminate, metadata=meta)
        assert raised.value.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND), who
    assert (await m.GetCase(pb.GetCaseRequest(case_id=case.case_id), metadata=OPERATOR)).status == pb.CASE_STATUS_OPEN
    # Bad input names the field; nothing is stored.
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await m.Terminate(pb.TerminateRequest(case_id=case.case_id), metadata=mediator)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "ground" in bad.value.details()
    ended = await m.Terminate(terminate, metadata=mediator)
    assert ended.status == pb.CASE_STATUS_TERMINATED and ended.termination.routes_told == ["诉讼"]
