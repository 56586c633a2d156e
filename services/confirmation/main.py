"""Wiring of the confirmation service (CPL 2023 Art.205-206, SPC-2011, SPC-Interp 351-358, 372).

Confirmation's own settings:
  LIANDIAO_CONFIRMATION_KEYS_FILE      the courts' signing keys (liandiao.signing format; required in production)
  LIANDIAO_CONFIRMATION_DEV_KEYS_DIR   development only: where courts' keys are generated (.state/confirmation-dev-keys)
  LIANDIAO_CONFIRMATION_SWEEP_SECONDS  how often missed supplement deadlines are handled (default 60)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from liandiao.config import whole_number
from liandiao.confirmation.v1 import confirmation_pb2
from liandiao.events import catalog
from liandiao.rpc.checks import add_servicer
from liandiao.service import Runtime, ServiceApp, periodically
from services.confirmation.api import POLICY, ConfirmationApi
from services.confirmation.app import Confirmation
from services.confirmation.handlers import AGREEMENTS, agreements_handler
from services.confirmation.keys import DEV_DIR, KEYS_FILE, load_court_keys
from services.confirmation.limits import LIMITS


@dataclass(frozen=True)
class ConfirmationConfig:
    sweep_seconds: int
    keys: dict[str, str] = field(default_factory=dict)


def load_config(env: Mapping[str, str]) -> ConfirmationConfig:
    return ConfirmationConfig(sweep_seconds=whole_number(env, "CONFIRMATION_SWEEP_SECONDS", 60, 1, 3600),
                              keys={k: env[k] for k in (KEYS_FILE, DEV_DIR) if env.get(k)})


app = ServiceApp("confirmation", Path(__file__).parent / "migrations", POLICY,
                 publishes=[catalog.APPLICATION_FILED, catalog.APPLICATION_ACCEPTED, catalog.APPLICATION_REFUSED,
                            catalog.RULING_ISSUED],
                 config=load_config)


_BUILT: dict[int, Confirmation] = {}


def _confirmation(rt: Runtime) -> Confirmation:
    """One per runtime: its key ring is read (and checked: no development key in production) once."""
    if id(rt) not in _BUILT:
        _BUILT[id(rt)] = Confirmation(rt.pool, load_court_keys(dict(rt.config.keys), rt.settings.environment))
    return _BUILT[id(rt)]


@app.grpc
def register(rt: Runtime, server):
    service = confirmation_pb2.DESCRIPTOR.services_by_name["ConfirmationService"]
    return [add_servicer(server, service, ConfirmationApi(_confirmation(rt)), LIMITS)]


app.consume("agreements", AGREEMENTS, lambda rt: agreements_handler(_confirmation(rt)))


@app.task
async def deadline_sweep(rt: Runtime) -> None:
    await periodically(_confirmation(rt).sweep, rt.config.sweep_seconds, rt.stopping, "confirmation deadline sweep")
