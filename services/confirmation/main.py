"""Wiring of the confirmation service (CPL 2023 Art.205-206, SPC-2011, SPC-Interp 351-358, 372).

Confirmation's own settings:
  LIANDIAO_CONFIRMATION_KEYS_FILE      the courts' signing keys (liandiao.signing format; required in production)
  LIANDIAO_CONFIRMATION_DEV_KEYS_DIR   development only: where courts' keys are generated (.state/confirmation-dev-keys)
  LIANDIAO_CONFIRMATION_SWEEP_SECONDS  how often missed supplement deadlines and reminders are handled (default 60)
  LIANDIAO_CONFIRMATION_REMINDER_WORKING_DAYS  remind this many working days before each deadline's last
                                       day (0 to 10, default 1; practice, not statute)
  LIANDIAO_CONFIRMATION_SIGNAL_PERIOD_DAYS, _REPEATED_PARTY_AT, _BUSY_MEDIATOR_AT, _AMOUNT_FACTOR,
  _AMOUNT_MIN_CASES, _FAST_AGREEMENT_MINUTES   the false-mediation signals' thresholds (defaults 365, 3,
                                       30, 10, 10, 120: domain/signals.py SignalPolicy; practice, not statute)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from liandiao.config import whole_number
from liandiao.confirmation.v1 import confirmation_pb2
from liandiao.events import catalog
from liandiao.rpc.checks import add_servicer
from liandiao.service import Runtime, ServiceApp, periodically
from services.confirmation.api import POLICY, ConfirmationApi
from services.confirmation.app import Confirmation
from services.confirmation.domain.clock import ReminderPolicy
from services.confirmation.domain.signals import SignalPolicy
from services.confirmation.handlers import AGREEMENTS, SERVICE, agreements_handler, service_handler
from services.confirmation.keys import DEV_DIR, KEYS_FILE, load_court_keys
from services.confirmation.limits import LIMITS


@dataclass(frozen=True)
class ConfirmationConfig:
    sweep_seconds: int
    reminder_working_days: int = 1
    keys: dict[str, str] = field(default_factory=dict)
    signals: SignalPolicy = field(default_factory=SignalPolicy)


def _signal_policy(env: Mapping[str, str]) -> SignalPolicy:
    """The false-mediation signals' thresholds: practice, not statute (DOMAIN.md §5 leaves them
    open; docs/decisions.md "False-mediation signals"), so an operator sets them."""
    d = SignalPolicy()
    return SignalPolicy(
        period=timedelta(days=whole_number(env, "CONFIRMATION_SIGNAL_PERIOD_DAYS", d.period.days, 1, 3660)),
        repeated_party_at=whole_number(env, "CONFIRMATION_SIGNAL_REPEATED_PARTY_AT", d.repeated_party_at, 2, 1000),
        busy_mediator_at=whole_number(env, "CONFIRMATION_SIGNAL_BUSY_MEDIATOR_AT", d.busy_mediator_at, 2, 100000),
        amount_factor=float(whole_number(env, "CONFIRMATION_SIGNAL_AMOUNT_FACTOR", int(d.amount_factor), 2, 1000)),
        amount_min_cases=whole_number(env, "CONFIRMATION_SIGNAL_AMOUNT_MIN_CASES", d.amount_min_cases, 1, 100000),
        fast_agreement_under=timedelta(minutes=whole_number(
            env, "CONFIRMATION_SIGNAL_FAST_AGREEMENT_MINUTES", int(d.fast_agreement_under.total_seconds() // 60),
            1, 100000)))


def load_config(env: Mapping[str, str]) -> ConfirmationConfig:
    return ConfirmationConfig(sweep_seconds=whole_number(env, "CONFIRMATION_SWEEP_SECONDS", 60, 1, 3600),
                              reminder_working_days=whole_number(env, "CONFIRMATION_REMINDER_WORKING_DAYS", 1, 0, 10),
                              keys={k: env[k] for k in (KEYS_FILE, DEV_DIR) if env.get(k)},
                              signals=_signal_policy(env))


app = ServiceApp("confirmation", Path(__file__).parent / "migrations", POLICY,
                 publishes=[catalog.APPLICATION_FILED, catalog.APPLICATION_ACCEPTED, catalog.APPLICATION_REFUSED,
                            catalog.RULING_ISSUED, catalog.COURT_DEADLINE_REMINDER,
                            catalog.SUPPLEMENT_DEADLINE_REMINDER, catalog.APPLICATION_WITHDRAWN,
                            catalog.OBJECTION_FILED],
                 config=load_config)


_BUILT: dict[int, Confirmation] = {}


def _confirmation(rt: Runtime) -> Confirmation:
    """One per runtime: its key ring is read (and checked: no development key in production) once."""
    if id(rt) not in _BUILT:
        _BUILT[id(rt)] = Confirmation(rt.pool, load_court_keys(dict(rt.config.keys), rt.settings.environment),
                                      reminders=ReminderPolicy(rt.config.reminder_working_days), cipher=rt.pii,
                                      signals=rt.config.signals)
    return _BUILT[id(rt)]


@app.grpc
def register(rt: Runtime, server):
    service = confirmation_pb2.DESCRIPTOR.services_by_name["ConfirmationService"]
    return [add_servicer(server, service, ConfirmationApi(_confirmation(rt)), LIMITS)]


app.consume("agreements", AGREEMENTS, lambda rt: agreements_handler(_confirmation(rt)))
app.consume("service", SERVICE, lambda rt: service_handler(_confirmation(rt)))


@app.task
async def deadline_sweep(rt: Runtime) -> None:
    # Agreements recorded before the projection was encrypted: encrypted once, at start.
    while await _confirmation(rt).encrypt_plain_agreements():
        pass
    await periodically(_confirmation(rt).sweep, rt.config.sweep_seconds, rt.stopping, "confirmation deadline sweep")
