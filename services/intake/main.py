"""Wiring of the intake service: the only place that builds concrete adapters."""

from __future__ import annotations

from pathlib import Path

from liandiao.events import catalog
from liandiao.intake.v1 import intake_pb2, intake_pb2_grpc
from liandiao.service import Runtime, ServiceApp
from services.intake.api import POLICY, IntakeApi
from services.intake.app import Intake

app = ServiceApp("intake", Path(__file__).parent / "migrations", POLICY,
                 publishes=[catalog.DISPUTE_REGISTERED, catalog.RISK_FLAGGED])


@app.grpc
def register(rt: Runtime, server):
    intake_pb2_grpc.add_IntakeServiceServicer_to_server(IntakeApi(Intake(rt.pool, rt.pii)), server)
    return [intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].full_name]
