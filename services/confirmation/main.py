"""Wiring of the confirmation service.

Foundation scope: the service runs, owns its schema, reports truthful health and
exposes its contract; every RPC answers UNIMPLEMENTED until the judicial
confirmation issue builds it (CPL 2023 Art.205-206, SPC-2011, SPC-Interp 351-358)."""

from __future__ import annotations

from pathlib import Path

from liandiao.auth import PEOPLE, Role
from liandiao.confirmation.v1 import confirmation_pb2, confirmation_pb2_grpc
from liandiao.events import catalog
from liandiao.rpc.checks import add_servicer
from liandiao.service import Runtime, ServiceApp
from services.confirmation.limits import LIMITS

POLICY = {
    "Apply": frozenset({Role.CLERK, Role.MEDIATOR, Role.LAWYER}),
    "GetApplication": PEOPLE,
    "AcceptApplication": frozenset({Role.COURT}),
    "Rule": frozenset({Role.COURT}),
    "Object": frozenset({Role.CLERK, Role.LAWYER, Role.COURT}),
    "VerifyRuling": PEOPLE,
}

app = ServiceApp("confirmation", Path(__file__).parent / "migrations", POLICY,
                 publishes=[catalog.APPLICATION_FILED, catalog.RULING_ISSUED])


@app.grpc
def register(rt: Runtime, server):
    # Not built yet: the generated base class answers UNIMPLEMENTED to a request within the limits.
    return [add_servicer(server, confirmation_pb2.DESCRIPTOR.services_by_name["ConfirmationService"],
                         confirmation_pb2_grpc.ConfirmationServiceServicer(), LIMITS)]
