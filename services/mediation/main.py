"""Wiring of the mediation service."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from liandiao.config import whole_number
from liandiao.events import catalog
from liandiao.mediation.v1 import mediation_pb2
from liandiao.rpc.checks import add_servicer
from liandiao.service import Runtime, ServiceApp
from services.mediation.api import POLICY, MediationApi
from services.mediation.app import Mediation
from services.mediation.limits import LIMITS


def load_config(env: Mapping[str, str]) -> int | None:
    """LIANDIAO_PEOPLES_MEDIATION_DAYS: the practice period of people's mediation
    (DOMAIN §4: "about one month", unconfirmed), default 30."""
    days = whole_number(env, "PEOPLES_MEDIATION_DAYS", 0, 0, 365)
    return days or None


log = logging.getLogger(__name__)

app = ServiceApp("mediation", Path(__file__).parent / "migrations", POLICY,
                 publishes=[catalog.SESSION_SCHEDULED, catalog.AGREEMENT_EFFECTIVE, catalog.MEDIATION_FAILED],
                 config=load_config)


def _mediation(rt: Runtime) -> Mediation:
    return Mediation(rt.pool, rt.config)


@app.grpc
def register(rt: Runtime, server):
    service = mediation_pb2.DESCRIPTOR.services_by_name["MediationService"]
    return [add_servicer(server, service, MediationApi(_mediation(rt)), LIMITS)]


app.consume("assignments", [catalog.DISPUTE_ASSIGNED], lambda rt: _mediation(rt).on_dispute_assigned)


@app.once
async def firm_up_provisional_deadlines(rt: Runtime) -> None:
    """Once at start: operators restart the services after loading next year's holidays."""
    changed = await _mediation(rt).recompute_provisional_deadlines()
    if changed:
        log.info("provisional deadlines counted again with the loaded calendar", extra={"cases": changed})
