"""The liaison officer's early warnings (预警, PML Art.25): disputes of the region whose risk
score raised a warning, which offices have acknowledged, and the escalation clock (when the
warning escalates again if this office has not acknowledged)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
from starlette.requests import Request
from starlette.responses import Response

from liandiao.intake.v1 import intake_pb2 as ipb
from liandiao.rpc.convert import timestamp
from services.console.backend import Caller
from services.console.session import User
from services.console.web import back, form, page, render

WINDOW_DAYS = 30


@page("liaison", "police", "clerk", "court", "judge", "operator")
async def warnings(request: Request, user: User, caller: Caller) -> Response:
    since = datetime.now(UTC) - timedelta(days=WINDOW_DAYS)
    listed = await caller.intake.ListDisputes(ipb.ListDisputesRequest(registered_from=timestamp(since),
                                                                      page={"page_size": 200}))
    flagged = [d for d in listed.disputes if d.HasField("warning")]
    flagged.sort(key=lambda d: (d.warning.acknowledged, d.warning.next_escalation_at.seconds or 1 << 62))
    return render(request, "warnings.html", rows=flagged, problem=request.query_params.get("problem", ""))


@page("liaison", "police", "clerk", "court", "judge")
async def acknowledge(request: Request, user: User, caller: Caller) -> Response:
    dispute_id = request.path_params["dispute_id"]
    await form(request)
    try:
        await caller.intake.AcknowledgeWarning(ipb.AcknowledgeWarningRequest(dispute_id=dispute_id,
                                                                             liaison_person_id=user.subject))
    except grpc.aio.AioRpcError as exc:
        if exc.code() not in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION,
                              grpc.StatusCode.PERMISSION_DENIED):
            raise
        return back("/warnings?problem=" + (exc.details() or "")[:200])
    return back("/warnings")
