"""Wiring of the personnel service."""

from __future__ import annotations

from pathlib import Path

from liandiao.config import SettingsError
from liandiao.events import catalog
from liandiao.personnel.v1 import personnel_pb2, personnel_pb2_grpc
from liandiao.service import Runtime, ServiceApp
from services.personnel.api import POLICY, PersonnelApi
from services.personnel.app import Personnel
from services.personnel.domain.performance import ReviewPolicy
from services.personnel.handlers import PERFORMANCE_EVENTS, performance_handler

app = ServiceApp("personnel", Path(__file__).parent / "migrations", POLICY,
                 publishes=[catalog.PERSON_CHANGED, catalog.ROSTER_CHANGED])


def _count(extra, name: str, default: int) -> int:
    raw = extra.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"LIANDIAO_{name}={raw!r} must be a whole number of at least 1")
    return int(raw)


def personnel(rt: Runtime) -> Personnel:
    """The use cases, with the review thresholds of the performance file (practice, so configuration)."""
    defaults = ReviewPolicy()
    review = ReviewPolicy(
        lapsed_offers=_count(rt.settings.extra, "PERSONNEL_LAPSED_OFFERS_REVIEW", defaults.lapsed_offers),
        complaints=_count(rt.settings.extra, "PERSONNEL_COMPLAINTS_REVIEW", defaults.complaints),
    )
    return Personnel(rt.pool, rt.pii, review)


@app.grpc
def register(rt: Runtime, server):
    personnel_pb2_grpc.add_PersonnelServiceServicer_to_server(PersonnelApi(personnel(rt)), server)
    return [personnel_pb2.DESCRIPTOR.services_by_name["PersonnelService"].full_name]


# Cases accepted, offers lapsed and mediation outcomes, for the performance file (业绩档案).
app.consume("performance", PERFORMANCE_EVENTS, lambda rt: performance_handler(personnel(rt)))
