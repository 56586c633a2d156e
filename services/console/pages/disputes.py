"""Disputes as the judicial office's clerk and the police officer work them: register one from
any channel (parties, an agent, consent and the disclosure of the options, risk factors), the
region's queue by placement and deadline, the disputes no mediator could be found for, a
dispute's page with its placement, its case and a joint consultation."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import UTC, datetime, timedelta

import grpc
from starlette.requests import Request
from starlette.responses import Response

from liandiao.common.v1 import common_pb2
from liandiao.ids import children, lookup
from liandiao.intake.v1 import intake_pb2 as ipb
from liandiao.mediation.v1 import mediation_pb2 as mpb
from liandiao.reference import dispute_types
from liandiao.routing.v1 import routing_pb2 as rpb
from liandiao.rpc.convert import timestamp
from services.console import errors
from services.console.backend import Caller
from services.console.session import User
from services.console.web import back, form, page, render

CLERKS = ("clerk", "operator")
REGISTRARS = ("clerk", "police", "operator")
ROUTES_TOLD = ("mediation", "arbitration", "administrative", "litigation")
PAGE_SIZE = 25


def region_choices(user: User) -> list[tuple[str, str]]:
    """Where a dispute may be registered: the person's county and its townships."""
    out: list[tuple[str, str]] = []
    for prefix in user.regions:
        d = lookup(prefix)
        if d is None or len(prefix) < 6:
            continue
        out.append((d.code, d.name))
        out += [(t.code, f"{d.name} {t.name}") for t in children(d.code)]
    return out


def _blank(user: User) -> dict[str, str]:
    return {"request_id": str(uuid.uuid4()), "source": "police" if user.role == "police" else "party_application",
            "parties[0].consent": "given", "parties[1].consent": "given", "disclosed": "1",
            "risk_factors.people_involved": "2"}


def _int(values: dict[str, str], name: str) -> int:
    try:
        return int(values.get(name, "") or 0)
    except ValueError:
        return -1     # the service names the field


def registration(user: User, values: dict[str, str]) -> ipb.RegisterDisputeRequest:
    """The form as the service's request; the field names are the request's own paths, so a
    BadRequest violation (e.g. parties[0].id_document.number) lands next to its field."""
    sources = {"party_application": common_pb2.CASE_SOURCE_PARTY_APPLICATION,
               "online": common_pb2.CASE_SOURCE_ONLINE, "own_initiative": common_pb2.CASE_SOURCE_OWN_INITIATIVE,
               "police": common_pb2.CASE_SOURCE_POLICE_REFERRAL}
    disclosed = timestamp(datetime.now(UTC)) if values.get("disclosed") else None
    req = ipb.RegisterDisputeRequest(
        request_id=values.get("request_id", ""), region_code=values.get("region_code", ""),
        dispute_type=values.get("dispute_type", ""), source=sources.get(values.get("source", ""), 0),
        facts=values.get("facts", ""), requested_outcome=values.get("requested_outcome", ""),
        amount_in_dispute_fen=round(float(values.get("amount_yuan") or 0) * 100) if _is_number(
            values.get("amount_yuan", "0")) else -1,
        registering_person_id=user.subject, registering_org_id=user.organization_id if user.role != "police" else "",
        risk_factors=ipb.RiskFactors(
            threats_of_violence=bool(values.get("risk_factors.threats_of_violence")),
            prior_incidents=_int(values, "risk_factors.prior_incidents"),
            people_involved=_int(values, "risk_factors.people_involved"),
            vulnerable_party=bool(values.get("risk_factors.vulnerable_party")),
            repeat_petitions=_int(values, "risk_factors.repeat_petitions")))
    if req.source == common_pb2.CASE_SOURCE_POLICE_REFERRAL:
        req.police.CopyFrom(ipb.PoliceReferral(station_org_id=values.get("police.station_org_id") or (
            user.organization_id if user.role == "police" else ""), officer_person_id=user.subject
            if user.role == "police" else values.get("police.officer_person_id", ""),
            incident_reference=values.get("police.incident_reference", "")))
    for i, side in enumerate((common_pb2.PARTY_SIDE_APPLICANT, common_pb2.PARTY_SIDE_RESPONDENT)):
        f = f"parties[{i}]."
        consent = ipb.Consent(decision=ipb.CONSENT_DECISION_GIVEN if values.get(f + "consent") == "given"
                              else ipb.CONSENT_DECISION_REFUSED if values.get(f + "consent") == "refused" else 0,
                              routes_told=[r for r in ROUTES_TOLD if values.get(f"disclosed.{r}")])
        if disclosed is not None:
            consent.disclosed_at.CopyFrom(disclosed)
        number = values.get(f + "id_document.number", "")
        p = ipb.PartyInput(kind=common_pb2.PARTY_KIND_NATURAL_PERSON, side=side, name=values.get(f + "name", ""),
                           phone=values.get(f + "phone", ""), address=values.get(f + "address", ""),
                           language=values.get(f + "language", "zh") or "zh", consent=consent,
                           id_document=ipb.IdDocument(type=ipb.ID_DOCUMENT_TYPE_RESIDENT_ID if number
                                                      else ipb.ID_DOCUMENT_TYPE_NONE, number=number),
                           no_id_reason="" if number else values.get(f + "no_id_reason", ""))
        a = f + "agents[0]."
        if values.get(a + "name"):
            p.agents.append(ipb.AgentInput(
                name=values[a + "name"], id_document=ipb.IdDocument(type=ipb.ID_DOCUMENT_TYPE_RESIDENT_ID,
                                                                    number=values.get(a + "id_document.number", "")),
                phone=values.get(a + "phone", ""), scope=values.get(a + "scope", ""),
                authority=ipb.AGENT_AUTHORITY_SPECIAL if values.get(a + "authority") == "special"
                else ipb.AGENT_AUTHORITY_GENERAL))
        req.parties.append(p)
    return req


def _is_number(text: str) -> bool:
    try:
        float(text or 0)
        return True
    except ValueError:
        return False


@page(*REGISTRARS)
async def register(request: Request, user: User, caller: Caller) -> Response:
    values = _blank(user)
    field_errors: dict[str, str] = {}
    if request.method == "POST":
        values = await form(request)
        try:
            reply = await caller.intake.RegisterDispute(registration(user, values))
        except grpc.aio.AioRpcError as exc:
            found = errors.form_errors(exc)
            if found is None:
                raise
            field_errors = found
        else:
            return back(f"/disputes/{reply.dispute.dispute_id}?registered=1"
                        + ("&linked=1" if reply.linked_to_existing else ""))
    return render(request, "register.html", status=422 if field_errors else 200, values=values,
                  errors=field_errors, regions=region_choices(user),
                  types=sorted(dispute_types().values(), key=lambda t: t.code), routes=ROUTES_TOLD)


async def _assignment(caller: Caller, dispute_id: str) -> rpb.Assignment | None:
    try:
        return await caller.routing.GetAssignment(rpb.GetAssignmentRequest(dispute_id=dispute_id))
    except grpc.aio.AioRpcError as exc:
        if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
            return None    # not placed yet, or not the caller's to see
        raise


async def _case(caller: Caller, dispute_id: str) -> mpb.Case | None:
    try:
        return await caller.mediation.GetCase(mpb.GetCaseRequest(dispute_id=dispute_id))
    except grpc.aio.AioRpcError as exc:
        if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
            return None
        raise


async def queue_rows(caller: Caller, user: User, query: ipb.ListDisputesRequest):
    """The disputes with where each stands at routing (routing has no list of its own: one
    GetAssignment per dispute of the page) and with mediation, soonest deadline first."""
    listed = await caller.intake.ListDisputes(query)
    placed = await asyncio.gather(*(_assignment(caller, d.dispute_id) for d in listed.disputes))
    cases = await asyncio.gather(*(_case(caller, d.dispute_id) for d in listed.disputes))
    rows = list(zip(listed.disputes, placed, cases, strict=True))

    def deadline(row) -> str:
        _, a, c = row
        if c is not None and c.deadline.last_day:
            return c.deadline.last_day
        if a is not None:
            return (a.respond_by.last_day or a.choose_by.last_day) or "9999"
        return "9999"
    rows.sort(key=deadline)
    return rows, listed.next_page_token


@page(*REGISTRARS)
async def queue(request: Request, user: User, caller: Caller) -> Response:
    q = request.query_params
    query = ipb.ListDisputesRequest(region_prefix=q.get("region", ""), text=q.get("text", ""),
                                    page={"page_size": PAGE_SIZE, "page_token": q.get("page", "")})
    rows, next_token = await queue_rows(caller, user, query)
    placement = q.get("placement", "")
    if placement:
        rows = [r for r in rows if (r[1].status if r[1] else 0) == int(placement)]
    return render(request, "queue.html", rows=rows, next_token=next_token, q=q, unplaced=False)


@page(*CLERKS)
async def unplaced(request: Request, user: User, caller: Caller) -> Response:
    """Disputes routing could not place (no eligible mediator) or that wait for the parties'
    joint choice: a person must act (reassign, choose, or call a joint consultation)."""
    since = datetime.now(UTC) - timedelta(days=60)
    query = ipb.ListDisputesRequest(page={"page_size": 100}, registered_from=timestamp(since))
    rows, _ = await queue_rows(caller, user, query)
    waiting = (rpb.ASSIGNMENT_STATUS_UNASSIGNED, rpb.ASSIGNMENT_STATUS_AWAITING_CHOICE)
    rows = [r for r in rows if r[2] is None and (r[1] is None or r[1].status in waiting)
            and r[0].status == ipb.DISPUTE_STATUS_REGISTERED]
    return render(request, "queue.html", rows=rows, next_token="", q=request.query_params, unplaced=True)


async def _consultation(caller: Caller, dispute_id: str) -> rpb.Consultation | None:
    try:
        return await caller.routing.GetConsultation(rpb.GetConsultationRequest(dispute_id=dispute_id))
    except grpc.aio.AioRpcError as exc:
        if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
            return None
        raise


@page()
async def dispute(request: Request, user: User, caller: Caller) -> Response:
    dispute_id = request.path_params["dispute_id"]
    d = await caller.intake.GetDispute(ipb.GetDisputeRequest(dispute_id=dispute_id))
    a, c, consult, receipt = await asyncio.gather(_assignment(caller, dispute_id), _case(caller, dispute_id),
                                                  _consultation(caller, dispute_id), _receipt(caller, user, dispute_id))
    return render(request, "dispute.html", d=d, a=a, case=c, consult=consult, dispute_id=dispute_id, receipt=receipt,
                  qr=base64.b64encode(receipt.qr_png).decode() if receipt else "",
                  registered=request.query_params.get("registered"), problem=request.query_params.get("problem", ""))


async def _receipt(caller: Caller, user: User, dispute_id: str) -> ipb.Receipt | None:
    """The registration receipt (受理回执) with the parties' case code and its QR code, for the
    people who register (intake's GetReceipt decides); nothing for the others."""
    if user.role not in REGISTRARS:
        return None
    try:
        return await caller.intake.GetReceipt(ipb.GetReceiptRequest(dispute_id=dispute_id))
    except grpc.aio.AioRpcError as exc:
        if exc.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED,
                              grpc.StatusCode.FAILED_PRECONDITION):
            raise
        return None


@page(*REGISTRARS)
async def receipt_pdf(request: Request, user: User, caller: Caller) -> Response:
    """The printable receipt (A6, the code and its QR code) to hand to the parties."""
    dispute_id = request.path_params["dispute_id"]
    r = await caller.intake.GetReceipt(ipb.GetReceiptRequest(dispute_id=dispute_id))
    return Response(r.pdf, media_type="application/pdf", headers={
        "content-disposition": f'attachment; filename="receipt-{dispute_id[:8]}.pdf"', "cache-control": "no-store"})


@page()
async def placement(request: Request, user: User, caller: Caller) -> Response:
    """The placement panel alone (htmx polls it until the mediator has answered)."""
    dispute_id = request.path_params["dispute_id"]
    a, c = await asyncio.gather(_assignment(caller, dispute_id), _case(caller, dispute_id))
    return render(request, "_placement.html", a=a, case=c, dispute_id=dispute_id)


@page(*CLERKS, "police", "court", "judge")
async def call_consultation(request: Request, user: User, caller: Caller) -> Response:
    dispute_id = request.path_params["dispute_id"]
    values = await form(request)
    try:
        await caller.routing.CallConsultation(rpb.CallConsultationRequest(dispute_id=dispute_id,
                                                                          reason=values.get("reason", "")))
    except grpc.aio.AioRpcError as exc:
        if exc.code() not in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION):
            raise
        return back(f"/disputes/{dispute_id}?problem=consultation")
    return back(f"/disputes/{dispute_id}")


@page(*CLERKS, "police", "court", "judge")
async def consultation_plan(request: Request, user: User, caller: Caller) -> Response:
    dispute_id = request.path_params["dispute_id"]
    values = await form(request)
    orgs = [o.strip() for o in values.get("participant_org_ids", "").replace("，", ",").split(",") if o.strip()]
    try:
        await caller.routing.RecordConsultationPlan(rpb.RecordConsultationPlanRequest(
            dispute_id=dispute_id, plan=values.get("plan", ""), participant_org_ids=orgs,
            lead_mediator_id=values.get("lead_mediator_id", "")))
    except grpc.aio.AioRpcError as exc:
        if exc.code() not in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION):
            raise
        return back(f"/disputes/{dispute_id}?problem=plan")
    return back(f"/disputes/{dispute_id}")


@page(*CLERKS)
async def reassign(request: Request, user: User, caller: Caller) -> Response:
    dispute_id = request.path_params["dispute_id"]
    values = await form(request)
    try:
        await caller.routing.Reassign(rpb.ReassignRequest(dispute_id=dispute_id, reason=values.get("reason", "")))
    except grpc.aio.AioRpcError as exc:
        if exc.code() not in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION):
            raise
        return back(f"/disputes/{dispute_id}?problem=reassign")
    return back(f"/disputes/{dispute_id}")
