"""The demo's mediators at work (issue 8): for each open case a session held, then, drawn per case,
a written agreement (every party's signature, the mediator's, the committee's SM2 seal), an oral
one, a termination on an SPC-Online Art.25 ground (a court-delegated one goes back to its court),
or an extension with every party's consent. Returns the figures the demo prints."""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import grpc

from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.devtools.clients import token
from liandiao.legaltime import to_china_date
from liandiao.mediation.v1 import mediation_pb2 as pb
from liandiao.rpc.convert import timestamp

GROUNDS = [pb.TERMINATION_GROUND_POSITIONS_TOO_FAR_APART, pb.TERMINATION_GROUND_PARTY_UNREACHABLE,
           pb.TERMINATION_GROUND_PARTY_REFUSES_TO_CONTINUE, pb.TERMINATION_GROUND_SETTLED_WITHDRAWN]


@dataclass
class Figures:
    sessions_held: int = 0
    written: int = 0
    oral: int = 0
    online: int = 0  # of the written ones: e-signed online by every party with one-time codes
    grounds: Counter[str] = field(default_factory=Counter)
    returned_to_court: int = 0
    extended: int = 0
    within_period: int = 0
    ended: int = 0
    refused: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        grounds = ", ".join(f"{pb.TerminationGround.Name(int(g)).removeprefix('TERMINATION_GROUND_').lower()} {n}"
                            for g, n in sorted(self.grounds.items())) or "none"
        out = [f"• mediation: {self.sessions_held} sessions held; agreements effective: {self.written} written "
               f"(parties, mediator, SM2 seal; {self.online} e-signed online with SMS codes), {self.oral} oral; terminations by ground: {grounds}; "
               f"{self.returned_to_court} returned to their court",
               f"• statutory clock: {self.within_period} of {self.ended} ended cases within their period, "
               f"{self.extended} extended with every party's consent"]
        if self.refused:
            out.append(f"• mediation calls refused: {dict(self.refused)}")
        return out


CodeReader = Callable[[str, str, str], Awaitable[str]]  # (dispute id, party id, challenge id) -> the code


def code_from_notification(notification_stub, *, timeout: float = 30.0) -> CodeReader:
    """Reads a party's one-time signing code where a party would: in the SMS notification
    delivered (the body of its `signing-code-issued/party` delivery, read by the operator)."""
    operator = token(Role.OPERATOR, subject="demo-operator", organization_id="data-centre", region_scope=("15",))

    async def read(dispute_id: str, party_id: str, challenge_id: str) -> str:
        from liandiao.notification.v1 import notification_pb2
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            got = await notification_stub.ListDeliveries(notification_pb2.ListDeliveriesRequest(
                dispute_id=dispute_id, page_size=100), metadata=operator, timeout=10)
            codes = [d for d in got.deliveries if d.template == "signing-code-issued/party" and d.recipient_id == party_id]
            # The newest code is the good one (a new code voids the old ones).
            for d in sorted(codes, key=lambda d: d.created_at.ToDatetime(), reverse=True):
                if m := _CODE.search(d.body):
                    return m.group(1)
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"no signing code reached party {party_id} (challenge {challenge_id})")
            await asyncio.sleep(0.3)
    return read


_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


async def e_sign(stub, me, agreement: pb.Agreement, party_id: str, read_code: CodeReader, dispute_id: str):
    """A party's online e-signature (SPC-Online Art.19): ask for the code, read it from the
    party's SMS, sign with it."""
    challenge = await stub.RequestSigningCode(pb.RequestSigningCodeRequest(
        agreement_id=agreement.agreement_id, party_id=party_id), metadata=me, timeout=30)
    code = await read_code(dispute_id, party_id, challenge.challenge_id)
    return await stub.SignAgreement(pb.SignAgreementRequest(
        agreement_id=agreement.agreement_id, signer_id=party_id, role=pb.SIGNER_ROLE_PARTY,
        method=pb.SIGNATURE_METHOD_ONLINE_E_SIGNATURE, digest=agreement.digest, one_time_code=code),
        metadata=me, timeout=30)


async def online_agreement(stub, case: pb.Case, content: pb.AgreementContent, me, read_code: CodeReader
                           ) -> pb.Agreement:
    """Drafted online and e-signed by every party with the code sent to it: effective (SPC-Online Art.19)."""
    a = await stub.DraftAgreement(pb.DraftAgreementRequest(case_id=case.case_id, content=content,
                                                           mode=pb.AGREEMENT_MODE_ONLINE), metadata=me, timeout=30)
    signed = a
    for p in case.parties:
        signed = await e_sign(stub, me, a, p.party_id, read_code, case.dispute_id)
    return signed


def content_for(case: pb.Case, rng: random.Random) -> pb.AgreementContent:
    parties = [pb.AgreementParty(party_id=p.party_id, name=p.display_name, side=p.side,
                                 kind=common_pb2.PARTY_KIND_NATURAL_PERSON,
                                 id_number=f"{case.region_code}19{rng.randint(60, 99)}0101{rng.randint(1000, 9999)}",
                                 address=f"{case.region_code} 村{rng.randint(1, 30)}号",
                                 domicile_region=case.region_code) for p in case.parties]
    applicants = [p.party_id for p in parties if p.side == common_pb2.PARTY_SIDE_APPLICANT]
    respondents = [p.party_id for p in parties if p.side == common_pb2.PARTY_SIDE_RESPONDENT]
    deadline = (to_china_date(datetime.now(UTC)) + timedelta(days=30)).isoformat()
    return pb.AgreementContent(
        parties=parties, facts=case.summary or "双方发生纠纷，经调解达成协议。", issues=["赔偿数额", "履行方式"],
        responsibilities=[pb.Responsibility(party_id=p.party_id, text="承担主要责任" if p.party_id in respondents
                                            else "无") for p in parties],
        terms=[pb.Term(obligor_id=respondents[0], obligee_id=applicants[0],
                       money=pb.Money(amount_fen=rng.choice([50_000, 120_000, 300_000]), currency="CNY"),
                       manner="一次性银行转账", deadline=deadline)])


async def hold_session(stub, case: pb.Case, me, *, reached: bool) -> pb.Session:
    """A session scheduled in the committee's room and held at once, its record written after it."""
    people = [pb.Participant(person_id=p.party_id, role=pb.PARTICIPANT_ROLE_PARTY) for p in case.parties]
    people.append(pb.Participant(person_id=case.mediator_id, role=pb.PARTICIPANT_ROLE_MEDIATOR))
    s = await stub.ScheduleSession(pb.ScheduleSessionRequest(
        case_id=case.case_id, scheduled_for=timestamp(datetime.now(UTC) + timedelta(seconds=1)),
        place="调解室", participants=people), metadata=me, timeout=30)
    held_at = datetime.now(UTC) - timedelta(minutes=45)
    return await stub.RecordSession(pb.RecordSessionRequest(session_id=s.session_id, record=pb.SessionRecord(
        started_at=timestamp(held_at), ended_at=timestamp(held_at + timedelta(minutes=40)), place="调解室",
        participants=people, result=pb.SESSION_RESULT_AGREEMENT_REACHED if reached
        else pb.SESSION_RESULT_NO_AGREEMENT)), metadata=me, timeout=30)


async def written_agreement(stub, case: pb.Case, content: pb.AgreementContent, me) -> pb.Agreement:
    """Drafted, signed by every party and the mediator on paper, sealed by the committee: effective."""
    a = await stub.DraftAgreement(pb.DraftAgreementRequest(case_id=case.case_id, content=content), metadata=me,
                                  timeout=30)
    for p in case.parties:
        await stub.SignAgreement(pb.SignAgreementRequest(
            agreement_id=a.agreement_id, signer_id=p.party_id, role=pb.SIGNER_ROLE_PARTY,
            method=pb.SIGNATURE_METHOD_PAPER_IN_PERSON, digest=a.digest), metadata=me, timeout=30)
    await stub.SignAgreement(pb.SignAgreementRequest(
        agreement_id=a.agreement_id, signer_id=case.mediator_id, role=pb.SIGNER_ROLE_MEDIATOR,
        method=pb.SIGNATURE_METHOD_PAPER_IN_PERSON, digest=a.digest), metadata=me, timeout=30)
    return await stub.ApplySeal(pb.ApplySealRequest(agreement_id=a.agreement_id), metadata=me, timeout=30)


async def mediate(stub, cases: list[pb.Case], rng: random.Random,
                  bounded: Callable[[list[Callable[[], Awaitable[object]]], int], Awaitable[list[object]]],
                  concurrency: int, read_code: CodeReader | None = None) -> Figures:
    """`read_code`: when given, a third of the written agreements are e-signed online by every
    party (one-time code by SMS) and take effect without the mediator's signature or the seal."""
    figures = Figures()

    def one(case: pb.Case):
        async def run() -> None:
            me = token(Role.MEDIATOR, subject=case.mediator_id)
            draw = rng.random()
            sides = {p.side for p in case.parties}
            try:
                if case.status != pb.CASE_STATUS_OPEN:
                    return
                await hold_session(stub, case, me, reached=draw < 0.6)
                figures.sessions_held += 1
                if draw < 0.1:   # more time, every party agrees
                    await stub.RequestExtension(pb.RequestExtensionRequest(case_id=case.case_id, days=10,
                                                                           reason="双方同意延长"), metadata=me, timeout=30)
                    for p in case.parties:
                        await stub.RecordExtensionConsent(pb.RecordExtensionConsentRequest(
                            case_id=case.case_id, party_id=p.party_id, agreed=True), metadata=me, timeout=30)
                ok = sides >= {common_pb2.PARTY_SIDE_APPLICANT, common_pb2.PARTY_SIDE_RESPONDENT}
                if draw < 0.15 and ok and read_code is not None:
                    signed = await online_agreement(stub, case, content_for(case, rng), me, read_code)
                    figures.written += signed.state == pb.AGREEMENT_STATE_EFFECTIVE
                    figures.online += signed.state == pb.AGREEMENT_STATE_EFFECTIVE
                elif draw < 0.45 and ok:
                    sealed = await written_agreement(stub, case, content_for(case, rng), me)
                    figures.written += sealed.state == pb.AGREEMENT_STATE_EFFECTIVE
                elif draw < 0.6 and ok:
                    content = content_for(case, rng)
                    oral = await stub.RecordOralAgreement(pb.RecordOralAgreementRequest(
                        case_id=case.case_id, content=content,
                        agreed_on=to_china_date(datetime.now(UTC)).isoformat()), metadata=me, timeout=30)
                    figures.oral += oral.state == pb.AGREEMENT_STATE_EFFECTIVE
                else:
                    ground = rng.choice(GROUNDS)
                    ended = await stub.Terminate(pb.TerminateRequest(
                        case_id=case.case_id, ground=ground, details="经调解未能达成协议",
                        routes_told=["向人民法院起诉", "申请仲裁"]), metadata=me, timeout=30)
                    figures.grounds[str(ground)] += 1
                    figures.returned_to_court += ended.status == pb.CASE_STATUS_RETURNED_TO_COURT
            except grpc.aio.AioRpcError as exc:
                figures.refused[exc.code().name] += 1
        return run

    await bounded([one(c) for c in cases], concurrency)
    return figures


def clock_figures(figures: Figures, cases: list[pb.Case]) -> Figures:
    """How the ended cases stood against their statutory period, read back from mediation: ended
    (agreement effective or terminated) before the period's end, and extended (a granted request)."""
    for c in cases:
        if c.status == pb.CASE_STATUS_AGREEMENT_EFFECTIVE:
            at = c.agreement.effective_at
        elif c.termination.terminated_at.seconds:
            at = c.termination.terminated_at
        else:
            continue
        figures.ended += 1
        figures.within_period += at.ToDatetime() < c.deadline.expires_at.ToDatetime()
        figures.extended += any(r.status == pb.EXTENSION_STATUS_GRANTED for r in c.extension_requests)
    return figures
