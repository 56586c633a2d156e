"""The tribunal clerk's and the judge's work: confirmation applications with the court's
deadlines (3 days to accept, 15 (+10) to rule), the materials checklist, the admissibility
proposal with its reasons, the false-mediation signals, acceptance, the ruling, and the
signed ruling to download (PDF, and the signed file anyone can verify offline)."""

from __future__ import annotations

from urllib.parse import urlencode

import grpc
from starlette.requests import Request
from starlette.responses import Response

from liandiao.confirmation.v1 import confirmation_pb2 as cpb
from liandiao.documents.ruling_pdf import ruling_pdf as ruling_pdf_view
from liandiao.mediation.v1 import mediation_pb2 as mpb
from liandiao.signing import signed_ruling_file
from services.console import errors
from services.console.backend import Caller
from services.console.present import N_
from services.console.session import User
from services.console.web import back, form, page, render

COURT = ("court", "judge")


@page(*COURT, "operator")
async def applications(request: Request, user: User, caller: Caller) -> Response:
    status = request.query_params.get("status", "")
    listed = await caller.confirmation.ListApplications(cpb.ListApplicationsRequest(
        status=int(status) if status.isdigit() else 0, page={"page_size": 100},
        overdue_only=bool(request.query_params.get("overdue"))))
    rows = sorted(listed.applications, key=lambda a: (a.status not in _OPEN,
                                                       (a.decide_by.last_day or a.accept_by.last_day or "9999")))
    return render(request, "applications.html", rows=rows)


_OPEN = (cpb.APPLICATION_STATUS_FILED, cpb.APPLICATION_STATUS_ACCEPTED, cpb.APPLICATION_STATUS_AWAITING_SUPPLEMENT,
         cpb.APPLICATION_STATUS_REVIEW_AWAITING_SUPPLEMENT)


async def _false_mediation(caller: Caller, dispute_id: str) -> list[str]:
    """What mediation holds on the case (a suspected false mediation suspends it); the court
    sees the case when it is the referring court, otherwise the application's findings only."""
    try:
        c = await caller.mediation.GetCase(mpb.GetCaseRequest(dispute_id=dispute_id))
    except grpc.aio.AioRpcError:
        return []
    return [h.reason or N_("虚假调解嫌疑") for h in c.holds if h.kind == mpb.HOLD_KIND_FALSE_MEDIATION]


@page(*COURT, "operator", "clerk", "mediator")
async def application(request: Request, user: User, caller: Caller) -> Response:
    a = await caller.confirmation.GetApplication(cpb.GetApplicationRequest(
        application_id=request.path_params["application_id"]))
    # confirmation computes its signals (services/confirmation/domain/signals.py) but its API does
    # not return them yet: what mediation reported on the case is what the judge sees here.
    signals_text = await _false_mediation(caller, a.dispute_id)
    errs = {k.removeprefix("error."): v for k, v in request.query_params.items() if k.startswith("error.")}
    return render(request, "application.html", a=a, signals=signals_text, errors=errs)


async def _court_act(application_id: str, call) -> Response:
    try:
        await call()
    except grpc.aio.AioRpcError as exc:
        found = errors.form_errors(exc)
        if found is None and exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
            raise
        found = found or {"": exc.details() or ""}
        return back(f"/applications/{application_id}?" + urlencode({f"error.{k}": v for k, v in found.items()}))
    return back(f"/applications/{application_id}")


@page(*COURT)
async def accept(request: Request, user: User, caller: Caller) -> Response:
    app_id = request.path_params["application_id"]
    values = await form(request)
    # A tribunal clerk accepting names the judge who will rule (CPL 2023 Art.185); a judge leaves it.
    return await _court_act(app_id, lambda: caller.confirmation.AcceptApplication(
        cpb.AcceptApplicationRequest(application_id=app_id, judge_id=values.get("judge_id", ""))))


@page(*COURT)
async def refuse(request: Request, user: User, caller: Caller) -> Response:
    app_id = request.path_params["application_id"]
    values = await form(request)
    grounds = [int(values["grounds"])] if values.get("grounds", "").isdigit() else []
    return await _court_act(app_id, lambda: caller.confirmation.RefuseApplication(cpb.RefuseApplicationRequest(
        application_id=app_id, grounds=grounds, reasons=values.get("reasons", ""))))


@page(*COURT)
async def rule(request: Request, user: User, caller: Caller) -> Response:
    app_id = request.path_params["application_id"]
    values = await form(request)
    outcome = cpb.RULING_OUTCOME_VALID if values.get("outcome") == "valid" else (
        cpb.RULING_OUTCOME_REJECTED if values.get("outcome") == "rejected" else 0)
    return await _court_act(app_id, lambda: caller.confirmation.Rule(cpb.RuleRequest(
        application_id=app_id, outcome=outcome, reasons=values.get("reasons", ""),
        ground=int(values.get("ground") or 0))))


@page(*COURT, "operator", "clerk", "mediator")
async def ruling_pdf(request: Request, user: User, caller: Caller) -> Response:
    """The signed ruling as the court issued it, rendered as a PDF (the signature covers the
    canonical document inside; its digest and key are printed for verification)."""
    a = await caller.confirmation.GetApplication(cpb.GetApplicationRequest(
        application_id=request.path_params["application_id"]))
    if not a.ruling.document:
        return render(request, "refused.html", status=404, refusal=errors.Refusal(404, N_("尚未作出裁定"), ""))
    name = f"ruling-{a.application_id[:8]}.pdf"
    return Response(ruling_pdf_view(a.ruling.document, a.ruling.key_id), media_type="application/pdf",
                    headers={"content-disposition": f'attachment; filename="{name}"'})


@page(*COURT, "operator", "clerk", "mediator")
async def ruling_file(request: Request, user: User, caller: Caller) -> Response:
    """The signed ruling file (document, key id, SM2 signature) for offline verification
    (python -m services.confirmation.verify, or any reader of liandiao.signing's format)."""
    a = await caller.confirmation.GetApplication(cpb.GetApplicationRequest(
        application_id=request.path_params["application_id"]))
    if not a.ruling.document:
        return render(request, "refused.html", status=404, refusal=errors.Refusal(404, N_("尚未作出裁定"), ""))
    return Response(signed_ruling_file(a.ruling.document, a.ruling.key_id, a.ruling.signature),
                    media_type="application/json",
                    headers={"content-disposition": f'attachment; filename="ruling-{a.application_id[:8]}.json"'})
