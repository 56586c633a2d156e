"""Statistics' sizes, enforced on every request at the gRPC edge (liandiao.rpc.checks)."""

from __future__ import annotations

from liandiao.sizes import CODE, ID, Limits, Size
from services.statistics.app import MAX_IMPORT

LIMITS = Limits({
    "GetBoardRequest.region_code": Size(chars=CODE),
    "GetBoardRequest.period": Size(chars=CODE),
    "GetBoardRequest.locale": Size(chars=CODE),
    "GetFiguresRequest.region_code": Size(chars=CODE),
    "GetFiguresRequest.period": Size(chars=CODE),
    "GetFiguresRequest.locale": Size(chars=CODE),
    "ImportExternalFiguresRequest.figures": Size(items=MAX_IMPORT),
    "ExternalFigure.region_code": Size(chars=CODE),
    "ExternalFigure.period": Size(chars=CODE),
    "ExportLedgerRequest.organization_id": Size(chars=ID),
    "ExportLedgerRequest.period": Size(chars=CODE),
})
