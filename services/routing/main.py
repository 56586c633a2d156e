"""Wiring of the routing service."""

from __future__ import annotations

from pathlib import Path

from liandiao.events import catalog
from liandiao.routing.v1 import routing_pb2, routing_pb2_grpc
from liandiao.service import Runtime, ServiceApp
from services.routing.api import POLICY, RoutingApi
from services.routing.app import Routing

app = ServiceApp("routing", Path(__file__).parent / "migrations", POLICY,
                 publishes=[catalog.DISPUTE_ASSIGNED, catalog.DISPUTE_ESCALATED, catalog.ASSIGNMENT_EXPIRED])


@app.grpc
def register(rt: Runtime, server):
    routing_pb2_grpc.add_RoutingServiceServicer_to_server(RoutingApi(Routing(rt.pool)), server)
    return [routing_pb2.DESCRIPTOR.services_by_name["RoutingService"].full_name]


app.consume("roster", [catalog.PERSON_CHANGED], lambda rt: Routing(rt.pool).on_person_changed)
app.consume("disputes", [catalog.DISPUTE_REGISTERED], lambda rt: Routing(rt.pool).on_dispute_registered)


@app.task
async def offer_expiry(rt: Runtime) -> None:
    await Routing(rt.pool).sweep(rt.stopping, float(rt.settings.extra.get("ROUTING_SWEEP_SECONDS", "30")))
