"""Wiring of the mediation service."""

from __future__ import annotations

from pathlib import Path

from liandiao.events import catalog
from liandiao.mediation.v1 import mediation_pb2, mediation_pb2_grpc
from liandiao.service import Runtime, ServiceApp
from services.mediation.api import POLICY, MediationApi
from services.mediation.app import Mediation

app = ServiceApp("mediation", Path(__file__).parent / "migrations", POLICY,
                 publishes=[catalog.SESSION_SCHEDULED, catalog.AGREEMENT_EFFECTIVE, catalog.MEDIATION_FAILED])


def _mediation(rt: Runtime) -> Mediation:
    days = rt.settings.extra.get("PEOPLES_MEDIATION_DAYS", "")
    return Mediation(rt.pool, int(days) if days else None)


@app.grpc
def register(rt: Runtime, server):
    mediation_pb2_grpc.add_MediationServiceServicer_to_server(MediationApi(_mediation(rt)), server)
    return [mediation_pb2.DESCRIPTOR.services_by_name["MediationService"].full_name]


app.consume("assignments", [catalog.DISPUTE_ASSIGNED], lambda rt: _mediation(rt).on_dispute_assigned)
