"""Wiring of the personnel service."""

from __future__ import annotations

from pathlib import Path

from liandiao.events import catalog
from liandiao.personnel.v1 import personnel_pb2, personnel_pb2_grpc
from liandiao.service import Runtime, ServiceApp
from services.personnel.api import POLICY, PersonnelApi
from services.personnel.app import Personnel

app = ServiceApp("personnel", Path(__file__).parent / "migrations", POLICY,
                 publishes=[catalog.PERSON_CHANGED, catalog.ROSTER_CHANGED])


@app.grpc
def register(rt: Runtime, server):
    personnel_pb2_grpc.add_PersonnelServiceServicer_to_server(PersonnelApi(Personnel(rt.pool, rt.pii)), server)
    return [personnel_pb2.DESCRIPTOR.services_by_name["PersonnelService"].full_name]
