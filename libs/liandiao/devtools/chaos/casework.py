"""The back half of a dispute's way, as the people who do it would: once the mediator has
accepted, the mediator schedules a session and records it, then ends the case as drawn
for it (a written agreement signed by every party and the mediator and sealed by the
committee, an oral one, or a termination on an SPC-Online Art.25 ground: a court-delegated
failure goes back to its court); the committee's clerk files the parties' joint
application for judicial confirmation (every party, every SPC-Interp Art.354 material)
with the competent court; the court accepts and rules (valid, or rejected), or refuses.
Along the way, as drawn: the mediator asks the parties for more time and records each party's
consent (SPC-Invited Art.27: granted only when every party agreed); a party objects to a valid
ruling within its 15 days (SPC-Interp Art.372); the committee visits the parties after the
agreement (回访, PML Art.31): partly performed with a next visit, then performed, which closes
the case.

Every look reads the case (or the application) first and takes the one step its state
calls for, so a reply lost in a crash is found out from the state, never done twice. The
commands that would create something carry ids the driver chose (derived from the
dispute, so a retry repeats them): ScheduleSession's session_id, DraftAgreement's and
RecordOralAgreement's agreement_id, RequestExtension's request_id, RecordFollowUp's visit_id,
Object's objection_id; the services refuse an id already used ("already used").
The others are refused by state when repeated (a second signature, seal, termination, a
second application to the same court, a second acceptance or ruling), which is what lets
liandiao.rpc.channel retry them on UNAVAILABLE."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import grpc

from liandiao import db
from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.confirmation.v1 import confirmation_pb2 as cpb
from liandiao.devtools import province
from liandiao.devtools.clients import token
from liandiao.devtools.mediate import GROUNDS, content_for
from liandiao.mediation.v1 import mediation_pb2 as pb
from liandiao.rpc.convert import timestamp
from services.confirmation import courts as confirmation_courts

OPERATOR = token(Role.OPERATOR, region_scope=("15",))
ENDED = {pb.CASE_STATUS_TERMINATED: "terminated", pb.CASE_STATUS_RETURNED_TO_COURT: "returned to court"}
EFFECTIVE = (pb.CASE_STATUS_AGREEMENT_EFFECTIVE, pb.CASE_STATUS_CLOSED)
# What the court did with an application, by its final status.
DECIDED = {cpb.APPLICATION_STATUS_RULED: "ruled", cpb.APPLICATION_STATUS_REFUSED: "refused"}
MATERIALS = ("identity", "domicile", "contact")


@dataclass
class Journey:
    """What was drawn for one case, and how far the driver has taken it."""
    plan: str                       # "written" | "oral" | "terminate"
    ground: int = 0                 # the termination ground, for "terminate"
    court_says: str = "valid"       # "valid" | "rejected" | "refused", for an effective agreement
    extend: bool = False            # ask for more time, every party consents
    follow_up: bool = False         # visit after the agreement, until performed (closes the case)
    objects: bool = False           # a party objects to a valid ruling
    seed: int = 0
    stage: str = "mediation"        # "mediation" | "confirmation" | "follow-up" | "done"
    case_id: str = ""
    mediator_id: str = ""
    organization_id: str = ""
    region_code: str = ""
    party_ids: list[str] = field(default_factory=list)
    agreement_id: str = ""
    court_id: str = ""
    application_id: str = ""
    end: str = ""                   # what it came to: terminated, returned to court, ruled valid, ...
    steps: int = 0                  # commands that were answered OK
    last: str = ""                  # the last of them

    @classmethod
    def draw(cls, rng: random.Random) -> Journey:
        r = rng.random()
        plan = "written" if r < 0.55 else "oral" if r < 0.65 else "terminate"
        c = rng.random()
        return cls(plan=plan, ground=int(rng.choice(GROUNDS)),
                   court_says="refused" if c < 0.1 else "rejected" if c < 0.25 else "valid",
                   extend=rng.random() < 0.3, follow_up=plan != "terminate" and rng.random() < 0.5,
                   objects=rng.random() < 0.4, seed=rng.getrandbits(32))

    def chosen_id(self, dispute_id: str, what: str) -> str:
        """The id the driver gives what it creates: the same on every attempt."""
        return str(uuid.uuid5(uuid.UUID(dispute_id), f"chaos:{what}"))

    @property
    def progress(self) -> tuple:
        return (self.stage, self.steps, self.agreement_id, self.application_id)


async def load_courts(dsn: str, prov: province.Province) -> dict[str, str]:
    """The seeded counties' basic courts and tribunals, loaded into confirmation as an operator
    does (services.confirmation.courts: personnel publishes no event for organizations).
    Returns what ``proceed`` applies to: a county's code or a court's id -> the court."""
    doc: list[dict[str, object]] = []
    out: dict[str, str] = {}
    for county in prov.counties:
        d = county.division
        doc.append({"court_id": county.basic_court, "name": f"{d.name}人民法院", "region_code": d.code, "level": "basic"})
        doc.append({"court_id": county.tribunal, "name": f"{d.name}人民法院城区人民法庭", "region_code": d.code,
                    "level": "basic", "basic_court_id": county.basic_court})
        out.update({d.code[:6]: county.basic_court, county.basic_court: county.basic_court,
                    county.tribunal: county.tribunal})
    pool = await db.create_pool(dsn, "confirmation")
    try:
        async with pool.acquire() as conn:
            await confirmation_courts.load_courts(conn, confirmation_courts.parse_courts(doc))
    finally:
        await pool.close()
    return out


# Tokens are signed once per person (signing one per call would be the driver's CPU, not the platform's).
@lru_cache(maxsize=4096)
def mediator(person_id: str):
    return token(Role.MEDIATOR, subject=person_id)


@lru_cache(maxsize=1024)
def clerk_of(organization_id: str):
    """A clerk of the committee that mediated: files the parties' joint application."""
    return token(Role.CLERK, subject=f"clerk-{organization_id[:8]}", organization_id=organization_id,
                 region_scope=("15",))


@lru_cache(maxsize=1024)
def judge_of(court_id: str):
    return token(Role.JUDGE, subject=f"judge-{court_id[:8]}", organization_id=court_id, region_scope=("15",))


def _already(exc: grpc.aio.AioRpcError) -> bool:
    """A repeat the service refused because the first attempt had landed."""
    return exc.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION) and \
        "already" in (exc.details() or "")


async def proceed(stubs: Any, answers: Any, dispute_id: str, j: Journey, courts: Mapping[str, str],
                  timeout: float = 5.0) -> bool:
    """One look at the case (or the application) and its next step; True when the journey
    is over. Raises AioRpcError on an error the next look should get past. ``courts``: a
    county's code or a court's id -> the court to apply to (its basic court; the court itself)."""
    if j.stage == "mediation":
        return await _mediation(stubs, answers, dispute_id, j, courts, timeout)
    if j.stage == "confirmation":
        return await _confirmation(stubs, answers, j, timeout)
    if j.stage == "follow-up":
        return await _follow_up(stubs, answers, dispute_id, j, timeout)
    return True


async def _call(answers: Any, j: Journey, method: str, call: Any) -> Any:
    try:
        reply = await answers.call(method, call)
    except grpc.aio.AioRpcError as exc:
        if _already(exc):
            return None   # it landed before; the next look reads what it made
        raise
    j.steps += 1
    return reply


async def _mediation(stubs: Any, answers: Any, dispute_id: str, j: Journey, courts: Mapping[str, str],
                     timeout: float) -> bool:
    try:
        case: Any = await answers.call("GetCase", lambda: stubs.mediation.GetCase(
            pb.GetCaseRequest(dispute_id=dispute_id), metadata=OPERATOR, timeout=timeout))
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:   # mediation has not opened it yet
            return False
        raise
    j.case_id, j.mediator_id, j.organization_id = case.case_id, case.mediator_id, case.organization_id
    j.region_code, j.party_ids = case.region_code, [p.party_id for p in case.parties]
    if case.status in ENDED:
        j.stage, j.end = "done", ENDED[case.status]
        return True
    if case.status in EFFECTIVE:
        j.agreement_id = case.agreement.agreement_id
        # The delegating court, else the basic court of the county the committee serves.
        j.court_id = courts.get(case.referring_org_id) or courts.get(case.region_code[:6], "")
        j.stage = "confirmation"
        return False
    me = mediator(j.mediator_id)
    sessions = list(case.sessions)
    held = [s for s in sessions if s.state == pb.SESSION_STATE_HELD]
    planned = [s for s in sessions if s.state == pb.SESSION_STATE_SCHEDULED]
    people = [pb.Participant(person_id=p, role=pb.PARTICIPANT_ROLE_PARTY) for p in j.party_ids]
    people.append(pb.Participant(person_id=j.mediator_id, role=pb.PARTICIPANT_ROLE_MEDIATOR))
    if not held and not planned:
        await _call(answers, j, "ScheduleSession", lambda: stubs.mediation.ScheduleSession(pb.ScheduleSessionRequest(
            case_id=case.case_id, scheduled_for=timestamp(datetime.now(UTC) + timedelta(minutes=5)), place="调解室",
            participants=people, session_id=j.chosen_id(dispute_id, "session")), metadata=me, timeout=timeout))
        return False
    if not held:
        started = datetime.now(UTC) - timedelta(minutes=45)
        result = pb.SESSION_RESULT_NO_AGREEMENT if j.plan == "terminate" else pb.SESSION_RESULT_AGREEMENT_REACHED
        await _call(answers, j, "RecordSession", lambda: stubs.mediation.RecordSession(pb.RecordSessionRequest(
            session_id=planned[0].session_id, record=pb.SessionRecord(
                started_at=timestamp(started), ended_at=timestamp(started + timedelta(minutes=40)), place="调解室",
                participants=people, result=result)), metadata=me, timeout=timeout))
        return False
    if j.extend and await _extension(stubs, answers, dispute_id, j, case, me, timeout):
        return False
    if j.plan == "terminate":
        await _call(answers, j, "Terminate", lambda: stubs.mediation.Terminate(pb.TerminateRequest(
            case_id=case.case_id, ground=pb.TerminationGround.ValueType(j.ground), details="经调解未能达成协议", routes_told=["向人民法院起诉", "申请仲裁"]),
            metadata=me, timeout=timeout))
        return False
    agreement = case.agreement if case.HasField("agreement") else None
    rng = random.Random(j.seed)
    if j.plan == "oral":
        if agreement is None:
            today = (datetime.now(UTC) + timedelta(hours=8)).date().isoformat()   # China's date
            await _call(answers, j, "RecordOralAgreement", lambda: stubs.mediation.RecordOralAgreement(
                pb.RecordOralAgreementRequest(case_id=case.case_id, content=content_for(case, rng), agreed_on=today,
                                              agreement_id=j.chosen_id(dispute_id, "agreement")),
                metadata=me, timeout=timeout))
        return False   # effective at once: the next look finds it so
    if agreement is None or agreement.state != pb.AGREEMENT_STATE_DRAFT:
        await _call(answers, j, "DraftAgreement", lambda: stubs.mediation.DraftAgreement(pb.DraftAgreementRequest(
            case_id=case.case_id, content=content_for(case, rng), agreement_id=j.chosen_id(dispute_id, "agreement")),
            metadata=me, timeout=timeout))
        return False
    signed = {s.signer_id for s in agreement.signatures if s.digest == agreement.digest}
    for signer, role in [*((p, pb.SIGNER_ROLE_PARTY) for p in j.party_ids), (j.mediator_id, pb.SIGNER_ROLE_MEDIATOR)]:
        if signer not in signed:
            await _call(answers, j, "SignAgreement", lambda s=signer, r=role: stubs.mediation.SignAgreement(
                pb.SignAgreementRequest(agreement_id=agreement.agreement_id, signer_id=s, role=r,
                                        method=pb.SIGNATURE_METHOD_PAPER_IN_PERSON, digest=agreement.digest),
                metadata=me, timeout=timeout))
            return False
    await _call(answers, j, "ApplySeal", lambda: stubs.mediation.ApplySeal(
        pb.ApplySealRequest(agreement_id=agreement.agreement_id), metadata=me, timeout=timeout))
    return False


async def _extension(stubs: Any, answers: Any, dispute_id: str, j: Journey, case: Any, me: Any,
                     timeout: float) -> bool:
    """More time, asked once (its chosen request id), then each party's consent in turn; True
    while a step was taken (the next look continues), False once every party agreed."""
    request_id = j.chosen_id(dispute_id, "extension")
    asked = next((r for r in case.extension_requests if r.request_id == request_id), None)
    if asked is None:
        await _call(answers, j, "RequestExtension", lambda: stubs.mediation.RequestExtension(
            pb.RequestExtensionRequest(case_id=case.case_id, days=10, reason="需当事人补充证据",
                                       request_id=request_id), metadata=me, timeout=timeout))
        return True
    if asked.status != pb.EXTENSION_STATUS_PENDING:
        return False
    answered = {c.party_id for c in asked.consents}
    party = next(p for p in j.party_ids if p not in answered)
    await _call(answers, j, "RecordExtensionConsent", lambda: stubs.mediation.RecordExtensionConsent(
        pb.RecordExtensionConsentRequest(case_id=case.case_id, party_id=party, agreed=True),
        metadata=me, timeout=timeout))
    return True


def _china_today() -> str:
    return (datetime.now(UTC) + timedelta(hours=8)).date().isoformat()


async def _follow_up(stubs: Any, answers: Any, dispute_id: str, j: Journey, timeout: float) -> bool:
    """回访 (PML Art.31): partly performed with a next visit, then performed (the case closes)."""
    case: Any = await answers.call("GetCase", lambda: stubs.mediation.GetCase(
        pb.GetCaseRequest(dispute_id=dispute_id), metadata=OPERATOR, timeout=timeout))
    if case.status == pb.CASE_STATUS_CLOSED:
        j.stage = "done"
        return True
    first = not any(f.visit_id == j.chosen_id(dispute_id, "visit-1") for f in case.follow_ups)
    today = _china_today()
    nxt = (datetime.now(UTC) + timedelta(hours=8, days=7)).date().isoformat()
    request = pb.RecordFollowUpRequest(
        case_id=case.case_id, visited_on=today, visit_id=j.chosen_id(dispute_id, "visit-1" if first else "visit-2"),
        result=pb.FOLLOW_UP_RESULT_PARTLY_PERFORMED if first else pb.FOLLOW_UP_RESULT_PERFORMED,
        notes="已履行部分款项" if first else "已全部履行", next_visit_on=nxt if first else "")
    await _call(answers, j, "RecordFollowUp", lambda: stubs.mediation.RecordFollowUp(
        request, metadata=mediator(j.mediator_id), timeout=timeout))
    return False


def apply_request(j: Journey) -> cpb.ApplyRequest:
    """Every party applies (a joint application), bringing every Art.354 material."""
    items = [cpb.MaterialItem(material="agreement"), cpb.MaterialItem(material="presiding_proof")]
    items += [cpb.MaterialItem(material=m, party_id=p) for p in j.party_ids for m in MATERIALS]
    return cpb.ApplyRequest(agreement_id=j.agreement_id, court_org_id=j.court_id, submitted=items,
                            applicants=[cpb.Applicant(party_id=p) for p in j.party_ids])


async def _find_application(stubs: Any, answers: Any, j: Journey, timeout: float) -> str:
    """The application filed for the journey's agreement at its court (an Apply whose reply
    was lost), from the court's own list."""
    token_ = ""
    while True:
        request = cpb.ListApplicationsRequest(court_org_id=j.court_id, page=common_pb2.PageRequest(
            page_size=200, page_token=token_))
        page: Any = await answers.call("ListApplications", lambda r=request: stubs.confirmation.ListApplications(
            r, metadata=judge_of(j.court_id), timeout=timeout))
        for a in page.applications:
            if a.agreement_id == j.agreement_id:
                return str(a.application_id)
        token_ = page.next_page_token
        if not token_:
            return ""


async def _confirmation(stubs: Any, answers: Any, j: Journey, timeout: float) -> bool:
    if not j.court_id:
        j.stage, j.end = "done", "no competent court known"
        return True
    if not j.application_id:
        try:
            filed: Any = await answers.call("Apply", lambda: stubs.confirmation.Apply(
                apply_request(j), metadata=clerk_of(j.organization_id), timeout=timeout))
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.FAILED_PRECONDITION and "pending" in (exc.details() or ""):
                j.application_id = await _find_application(stubs, answers, j, timeout)   # filed before
                return False
            if exc.code() == grpc.StatusCode.NOT_FOUND:   # the agreement has not reached confirmation yet
                return False
            raise
        j.application_id, j.steps, j.last = filed.application_id, j.steps + 1, "Apply"
        return False
    judge = judge_of(j.court_id)
    app: Any = await answers.call("GetApplication", lambda: stubs.confirmation.GetApplication(
        cpb.GetApplicationRequest(application_id=j.application_id), metadata=judge, timeout=timeout))
    if app.status in DECIDED:
        outcome = cpb.RulingOutcome.Name(app.ruling.outcome).removeprefix("RULING_OUTCOME_").lower() \
            if app.status == cpb.APPLICATION_STATUS_RULED else ""
        if j.objects and outcome == "valid" and not app.objections:
            # A party objects within its 15 days of receipt (SPC-Interp Art.372); the court records it.
            await _call(answers, j, "Object", lambda: stubs.confirmation.Object(cpb.ObjectRequest(
                ruling_id=app.ruling.ruling_id, objector=j.party_ids[-1], grounds="协议并非本人真实意思表示",
                received_on=_china_today(), objection_id=str(uuid.uuid5(uuid.UUID(j.application_id), "chaos:objection"))),
                metadata=judge, timeout=timeout))
            return False
        j.end = f"{DECIDED[app.status]} {outcome}".strip()
        j.stage = "follow-up" if j.follow_up else "done"
        return j.stage == "done"
    if app.status == cpb.APPLICATION_STATUS_FILED:
        if j.court_says == "refused":
            await _call(answers, j, "RefuseApplication", lambda: stubs.confirmation.RefuseApplication(
                cpb.RefuseApplicationRequest(application_id=j.application_id, grounds=[cpb.REFUSAL_GROUND_OUTSIDE_REMIT],
                                             reasons="不属于本院受理范围", override_reason="经审查不属于本院受理范围"),
                metadata=judge, timeout=timeout))
        else:
            await _call(answers, j, "AcceptApplication", lambda: stubs.confirmation.AcceptApplication(
                cpb.AcceptApplicationRequest(application_id=j.application_id), metadata=judge, timeout=timeout))
        return False
    if app.status == cpb.APPLICATION_STATUS_ACCEPTED:
        valid = j.court_says == "valid"
        await _call(answers, j, "Rule", lambda: stubs.confirmation.Rule(cpb.RuleRequest(
            application_id=j.application_id,
            outcome=cpb.RULING_OUTCOME_VALID if valid else cpb.RULING_OUTCOME_REJECTED,
            ground=cpb.REJECTION_GROUND_UNSPECIFIED if valid else cpb.REJECTION_GROUND_UNCLEAR,
            reasons="协议系双方自愿达成，内容不违反法律规定。" if valid else "协议内容不明确，无法确认。"),
            metadata=judge, timeout=timeout))
        return False
    j.stage, j.end = "done", f"application {cpb.ApplicationStatus.Name(app.status).lower()}"
    return True
