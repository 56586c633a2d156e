"""The parties' case code (一案一码, issue 11) with every service running: a clerk registers
a dispute and gets the code and the receipt; the party opens the console's status page
(Starlette's TestClient over the real intake, as the console's service identity) with the
code from the QR link and the last four digits of their phone, and follows the dispute:
waiting for a mediator, the mediator and their office once one accepts, the next session,
what to do once the agreement takes effect (apply jointly within 30 days), and the court's
ruling. Nothing of the other party ever shows; a wrong code and wrong digits answer alike;
people cannot call GetCaseStatus at all; guessing locks the code."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import grpc
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from liandiao import db
from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.confirmation.v1 import confirmation_pb2 as cpb
from liandiao.confirmation.v1 import confirmation_pb2_grpc
from liandiao.devtools import province
from liandiao.devtools.clients import channel, service_token, token
from liandiao.ids import mask_phone
from liandiao.intake.v1 import intake_pb2, intake_pb2_grpc
from liandiao.mediation.v1 import mediation_pb2 as mpb
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc.channel import open_channel
from liandiao.rpc.convert import timestamp
from services.confirmation.tests.stack_builders import seed_courts
from services.console import party
from services.intake.domain import casecode
from tests.e2e.support import CLERK, OPERATOR, eventually
from tests.e2e.test_mediation_flow import complete_content, hold_a_session

pytestmark = pytest.mark.e2e
CONSOLE = service_token("console")
APPLICANT_PHONE, RESPONDENT_PHONE = "13800131234", "13900135678"


@pytest.fixture(scope="module")
async def courts(services, stack_env):
    pool = await db.create_pool(stack_env["LIANDIAO_DATABASE_URL"], "confirmation")

    async def migrated():
        return await pool.fetchval("select to_regclass('courts') is not null")

    await eventually(migrated)
    async with pool.acquire() as conn:
        await seed_courts(conn)
    ch = channel(services.address("confirmation"))
    yield confirmation_pb2_grpc.ConfirmationServiceStub(ch)
    await ch.close()
    await pool.close()


def _console(services, target: str):
    """A channel presenting the console's own certificate under mutual TLS (a service token
    is refused on a connection certified as another), plain text otherwise."""
    return open_channel(services.address(target), services.client_tls("console"), retry=False)


def _page(services) -> tuple[TestClient, party.GrpcStatusSource]:
    source = party.GrpcStatusSource(intake=lambda: _console(services, "intake"),
                                    personnel=lambda: _console(services, "personnel"),
                                    metadata=lambda: CONSOLE)
    app = Starlette(routes=[Mount(party.PREFIX, app=party.router(source))])
    return TestClient(app, client=("198.51.100.23", 50000)), source


async def _register(stubs, prov, seed: int):
    """A dispute in 科尔沁区 (the seeded courts' county), each party with a phone of its own."""
    rng = random.Random(seed)
    while True:
        req = province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION)
        if req.region_code.startswith("150502") and len(req.parties) == 2:
            break
    req.parties[0].phone, req.parties[1].phone = APPLICANT_PHONE, RESPONDENT_PHONE
    return req, await stubs["intake"].RegisterDispute(req, metadata=CLERK)


def _status_html(client: TestClient, code: str, digits: str = "1234", lang: str = "zh") -> str:
    r = client.post("/party/", data={"code": code, "digits": digits, "lang": lang})
    assert r.status_code in (200, 429), r.status_code
    return r.text


async def test_a_party_follows_the_dispute_by_case_code_from_registration_to_ruling(world, services, courts):
    stubs, prov = world
    req, registered = await _register(stubs, prov, 1101)
    d = registered.dispute
    code = registered.case_code
    assert casecode.canonical(code) and registered.status_url.endswith(f"/party/?code={code}")
    receipt = await stubs["intake"].GetReceipt(intake_pb2.GetReceiptRequest(dispute_id=d.dispute_id), metadata=CLERK)
    assert receipt.case_code == code and receipt.pdf.startswith(b"%PDF-") and receipt.qr_png.startswith(b"\x89PNG")
    applicant, respondent = req.parties[0], req.parties[1]
    never = (respondent.name, respondent.name[1:], RESPONDENT_PHONE, mask_phone(RESPONDENT_PHONE),
             RESPONDENT_PHONE[-4:], respondent.id_document.number or "-", respondent.address or "-")

    client, source = _page(services)
    with client:
        # The QR link opens the form with the code in it.
        link = urlsplit(receipt.status_url)
        form = client.get(f"{link.path}?{link.query}")
        assert f'value="{code}"' in form.text
        page = _status_html(client, code)
        assert "正在为您的纠纷安排调解员" in page and applicant.name[0] + "*" in page
        assert not [x for x in never if x in page]

        # A mediator accepts: the page names them and their office.
        offer = await eventually(lambda: _offered(stubs, d.dispute_id), timeout=60)
        mediator = token(Role.MEDIATOR, subject=offer.mediator_id)
        await stubs["routing"].AcceptAssignment(routing_pb2.AcceptAssignmentRequest(
            dispute_id=d.dispute_id, mediator_id=offer.mediator_id), metadata=mediator)
        case = await eventually(lambda: stubs["mediation"].GetCase(mpb.GetCaseRequest(dispute_id=d.dispute_id),
                                                                   metadata=OPERATOR))
        person = await stubs["personnel"].GetPerson(_person(offer.mediator_id), metadata=OPERATOR)
        office = await stubs["personnel"].GetOrganization(_org(case.organization_id), metadata=OPERATOR)
        page = await _eventually_page(client, code, "正在调解您的纠纷")
        assert person.name in page and office.name in page

        # A session ahead: its time and place.
        when = datetime.now(UTC) + timedelta(days=3)
        people = [mpb.Participant(person_id=p.party_id, role=mpb.PARTICIPANT_ROLE_PARTY) for p in case.parties]
        people.append(mpb.Participant(person_id=case.mediator_id, role=mpb.PARTICIPANT_ROLE_MEDIATOR))
        await stubs["mediation"].ScheduleSession(mpb.ScheduleSessionRequest(
            case_id=case.case_id, scheduled_for=timestamp(when), place="大林镇司法所调解室", participants=people),
            metadata=mediator)
        page = await _eventually_page(client, code, "大林镇司法所调解室")
        assert "请按时参加" in page

        # The agreement takes effect: apply jointly within 30 days.
        await hold_a_session(stubs["mediation"], case, mediator)
        drafted = await stubs["mediation"].DraftAgreement(mpb.DraftAgreementRequest(
            case_id=case.case_id, mode=mpb.AGREEMENT_MODE_WRITTEN, content=complete_content(case, req)),
            metadata=mediator)
        for signer, role in [(p.party_id, mpb.SIGNER_ROLE_PARTY) for p in case.parties] + [
                (case.mediator_id, mpb.SIGNER_ROLE_MEDIATOR)]:
            await stubs["mediation"].SignAgreement(mpb.SignAgreementRequest(
                agreement_id=drafted.agreement_id, signer_id=signer, role=role,
                method=mpb.SIGNATURE_METHOD_PAPER_IN_PERSON, digest=drafted.digest), metadata=mediator)
        await stubs["mediation"].ApplySeal(mpb.ApplySealRequest(agreement_id=drafted.agreement_id), metadata=mediator)
        page = await _eventually_page(client, code, "调解协议已经生效")
        assert "共同向人民法院申请" in page and "共同申请司法确认的最后一天" in page
        assert not [x for x in never if x in page]
        # The respondent reads their own page, with their own masked name.
        theirs = _status_html(client, code, RESPONDENT_PHONE[-4:])
        assert respondent.name[0] + "*" in theirs and applicant.name not in theirs

        # Judicial confirmation: filed by the committee, accepted and ruled by the court.
        committee = token(Role.CLERK, subject="clerk-cc", organization_id=case.organization_id,
                          region_scope=("1505",))
        court_clerk = token(Role.COURT, subject="clerk-horqin", organization_id="court-horqin", region_scope=("1505",))
        judge = token(Role.JUDGE, subject="judge-horqin", organization_id="court-horqin", region_scope=("1505",))
        filed = await eventually(lambda: _apply(courts, drafted.agreement_id, case, committee), timeout=30)
        await courts.AcceptApplication(cpb.AcceptApplicationRequest(application_id=filed.application_id,
                                                                    judge_id="judge-horqin"), metadata=court_clerk)
        ruling = await courts.Rule(cpb.RuleRequest(application_id=filed.application_id,
                                                   outcome=cpb.RULING_OUTCOME_VALID,
                                                   reasons="协议系双方自愿达成，内容不违反法律规定。"), metadata=judge)
        page = await _eventually_page(client, code, "人民法院已裁定调解协议有效")
        assert ruling.case_number in page and "申请强制执行" in page
        assert not [x for x in never if x in page]
        english = _status_html(client, code, lang="en")
        assert "The court ruled the mediation agreement valid" in english
    await source.close()


async def test_wrong_digits_and_a_wrong_code_answer_alike_and_people_cannot_ask(world, services):
    stubs, prov = world
    _, registered = await _register(stubs, prov, 1202)
    console = intake_pb2_grpc.IntakeServiceStub(_console(services, "intake"))
    answers = []
    for code, digits in ((registered.case_code, "0000"), (casecode.shown(casecode.new_code()), "1234")):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await console.GetCaseStatus(intake_pb2.GetCaseStatusRequest(
                case_code=code, phone_last4=digits, client_address=f"203.0.113.{len(answers) + 1}"),
                metadata=CONSOLE)
        answers.append((refused.value.code(), refused.value.details(), refused.value.trailing_metadata()))
    assert answers[0][:2] == answers[1][:2] == (grpc.StatusCode.NOT_FOUND, answers[0][1])
    # Every person role is refused by the interceptor, the clerk who registered it included.
    for role in (Role.CLERK, Role.OPERATOR, Role.MEDIATOR, Role.POLICE, Role.COURT):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stubs["intake"].GetCaseStatus(intake_pb2.GetCaseStatusRequest(
                case_code=registered.case_code, phone_last4="1234", client_address="203.0.113.9"),
                metadata=token(role))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # And the receipt only for who may see the dispute.
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await stubs["intake"].GetReceipt(intake_pb2.GetReceiptRequest(dispute_id=registered.dispute.dispute_id),
                                         metadata=token(Role.CLERK, region_scope=("1504",)))
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND


async def test_five_failures_lock_the_code_across_clients_until_the_lock_ends(world, services):
    stubs, prov = world
    _, registered = await _register(stubs, prov, 1303)
    console = intake_pb2_grpc.IntakeServiceStub(_console(services, "intake"))

    async def ask(digits: str, i: int):
        return await console.GetCaseStatus(intake_pb2.GetCaseStatusRequest(
            case_code=registered.case_code, phone_last4=digits, client_address=f"192.0.2.{i}"), metadata=CONSOLE)

    for i in range(4):
        with pytest.raises(grpc.aio.AioRpcError) as wrong:
            await ask("0000", i)
        assert wrong.value.code() == grpc.StatusCode.NOT_FOUND
    assert (await ask("1234", 10)).stage == intake_pb2.CASE_STAGE_WAITING_FOR_MEDIATOR   # 4 failures: still open
    for i in range(5):
        with pytest.raises(grpc.aio.AioRpcError) as wrong:
            await ask("0000", 20 + i)
        assert wrong.value.code() == grpc.StatusCode.NOT_FOUND
    # The fifth failure locked the code: the right digits from a new address are refused for 30 minutes.
    with pytest.raises(grpc.aio.AioRpcError) as locked:
        await ask("1234", 99)
    assert locked.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    retry = party.source.refusal(locked.value)
    assert retry.kind == "locked" and 29 * 60 < retry.retry_after_seconds <= 30 * 60


async def _offered(stubs, dispute_id: str):
    a = await stubs["routing"].GetAssignment(routing_pb2.GetAssignmentRequest(dispute_id=dispute_id), metadata=CLERK)
    return a if a.status == routing_pb2.ASSIGNMENT_STATUS_OFFERED and a.mediator_id else None


async def _eventually_page(client: TestClient, code: str, wanted: str) -> str:
    async def shown():
        text = _status_html(client, code)
        return text if wanted in text else None
    return await eventually(shown, timeout=45, interval=0.5)


async def _apply(courts, agreement_id: str, case, committee):
    items = [cpb.MaterialItem(material="agreement"), cpb.MaterialItem(material="presiding_proof")]
    for p in case.parties:
        items += [cpb.MaterialItem(material=m, party_id=p.party_id) for m in ("identity", "domicile", "contact")]
    try:
        return await courts.Apply(cpb.ApplyRequest(agreement_id=agreement_id, court_org_id="court-horqin",
                                                   submitted=items,
                                                   applicants=[cpb.Applicant(party_id=p.party_id)
                                                               for p in case.parties]), metadata=committee)
    except grpc.aio.AioRpcError as err:
        if err.code() == grpc.StatusCode.NOT_FOUND:
            return None   # confirmation has not projected the agreement yet
        raise


def _person(person_id: str):
    from liandiao.personnel.v1 import personnel_pb2
    return personnel_pb2.GetPersonRequest(person_id=person_id)


def _org(org_id: str):
    from liandiao.personnel.v1 import personnel_pb2
    return personnel_pb2.GetOrganizationRequest(organization_id=org_id)

