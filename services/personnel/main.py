"""Wiring of the personnel service."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from liandiao.config import whole_number
from liandiao.events import catalog
from liandiao.personnel.v1 import personnel_pb2
from liandiao.rpc.checks import add_servicer
from liandiao.service import Runtime, ServiceApp
from services.personnel.api import POLICY, PersonnelApi
from services.personnel.app import Personnel
from services.personnel.domain.performance import ReviewPolicy
from services.personnel.handlers import PERFORMANCE_EVENTS, performance_handler
from services.personnel.limits import LIMITS


def load_config(env: Mapping[str, str]) -> ReviewPolicy:
    """The review thresholds of the performance file (practice, so configuration):
    LIANDIAO_PERSONNEL_LAPSED_OFFERS_REVIEW, LIANDIAO_PERSONNEL_COMPLAINTS_REVIEW."""
    defaults = ReviewPolicy()
    return ReviewPolicy(
        lapsed_offers=whole_number(env, "PERSONNEL_LAPSED_OFFERS_REVIEW", defaults.lapsed_offers, 1, 1000),
        complaints=whole_number(env, "PERSONNEL_COMPLAINTS_REVIEW", defaults.complaints, 1, 1000),
    )


app = ServiceApp("personnel", Path(__file__).parent / "migrations", POLICY,
                 publishes=[catalog.PERSON_CHANGED, catalog.ROSTER_CHANGED], config=load_config)


def personnel(rt: Runtime) -> Personnel:
    return Personnel(rt.pool, rt.pii, rt.config)


@app.grpc
def register(rt: Runtime, server):
    service = personnel_pb2.DESCRIPTOR.services_by_name["PersonnelService"]
    return [add_servicer(server, service, PersonnelApi(personnel(rt)), LIMITS)]


# Cases accepted, offers lapsed and mediation outcomes, for the performance file (业绩档案).
app.consume("performance", PERFORMANCE_EVENTS, lambda rt: performance_handler(personnel(rt)))
