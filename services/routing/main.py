"""Wiring of the routing service.

Routing's own settings (practice, not statute: DOMAIN §3 "difficult disputes"):
  LIANDIAO_ROUTING_SWEEP_SECONDS        how often lapsed offers and closed choice windows are handled (default 30)
  LIANDIAO_CONSULTATION_RISK_SCORE      risk score that calls a joint consultation (default 50)
  LIANDIAO_CONSULTATION_PARTIES         number of parties that does (default 5)
  LIANDIAO_CONSULTATION_AMOUNT_YUAN     amount in dispute that does (default 500000)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from liandiao.config import whole_number
from liandiao.events import catalog
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc.checks import add_servicer
from liandiao.service import Runtime, ServiceApp, periodically
from services.routing.api import POLICY, RoutingApi
from services.routing.app import Routing
from services.routing.domain.rules import Difficulty
from services.routing.limits import LIMITS


@dataclass(frozen=True)
class RoutingConfig:
    sweep_seconds: int
    difficulty: Difficulty


def load_config(env: Mapping[str, str]) -> RoutingConfig:
    d = Difficulty()
    return RoutingConfig(
        sweep_seconds=whole_number(env, "ROUTING_SWEEP_SECONDS", 30, 1, 3600),
        difficulty=Difficulty(
            risk_score=whole_number(env, "CONSULTATION_RISK_SCORE", d.risk_score, 1, 100),
            parties=whole_number(env, "CONSULTATION_PARTIES", d.parties, 2, 10_000),
            amount_fen=whole_number(env, "CONSULTATION_AMOUNT_YUAN", d.amount_fen // 100, 1, 10**12) * 100,
        ),
    )


app = ServiceApp("routing", Path(__file__).parent / "migrations", POLICY,
                 publishes=[catalog.DISPUTE_ASSIGNED, catalog.DISPUTE_ESCALATED, catalog.ASSIGNMENT_EXPIRED],
                 config=load_config)


def _routing(rt: Runtime) -> Routing:
    return Routing(rt.pool, difficulty=rt.config.difficulty)


@app.grpc
def register(rt: Runtime, server):
    service = routing_pb2.DESCRIPTOR.services_by_name["RoutingService"]
    return [add_servicer(server, service, RoutingApi(_routing(rt)), LIMITS)]


app.consume("roster", [catalog.PERSON_CHANGED], lambda rt: _routing(rt).on_person_changed)
app.consume("disputes", [catalog.DISPUTE_REGISTERED], lambda rt: _routing(rt).on_dispute_registered)
app.consume("outcomes", [catalog.AGREEMENT_EFFECTIVE, catalog.MEDIATION_FAILED], lambda rt: _routing(rt).on_case_ended)


@app.once
async def firm_up_provisional_deadlines(rt: Runtime) -> None:
    """Once at start: operators restart the services after loading next year's holidays."""
    await _routing(rt).recompute_provisional_deadlines()


@app.task
async def offer_expiry(rt: Runtime) -> None:
    await periodically(_routing(rt).sweep_due, rt.config.sweep_seconds, rt.stopping, "offer expiry sweep")
