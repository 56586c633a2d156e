"""Wiring of the intake service: the only place that builds concrete adapters.

Intake's own settings (practice, not statute, hence configuration; DOMAIN §2):
  LIANDIAO_RISK_THREATS_OF_VIOLENCE, _PER_PRIOR_INCIDENT, _PER_TEN_PEOPLE,
  _VULNERABLE_PARTY, _PER_REPEAT_PETITION   points of each risk factor (0-100)
  LIANDIAO_RISK_THRESHOLD                   score that raises an early warning (1-100)
  LIANDIAO_WARNING_ESCALATE_MINUTES         time to acknowledge before each escalation (default 120)
  LIANDIAO_WARNING_MAX_ESCALATIONS          escalations at most (default 3)
  LIANDIAO_WARNING_SWEEP_SECONDS            how often unacknowledged warnings are checked (default 30)
A bad value stops the service at start with a message naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path

from liandiao.config import whole_number
from liandiao.events import catalog
from liandiao.intake.v1 import intake_pb2
from liandiao.rpc.checks import add_servicer
from liandiao.service import Runtime, ServiceApp, periodically
from services.intake.api import POLICY, IntakeApi
from services.intake.app import Intake
from services.intake.domain.rules import RiskPolicy
from services.intake.domain.warnings import WarningPolicy
from services.intake.limits import LIMITS


@dataclass(frozen=True)
class IntakeConfig:
    risk: RiskPolicy = field(default_factory=RiskPolicy)
    warnings: WarningPolicy = field(default_factory=WarningPolicy)
    sweep_seconds: float = 30.0


def load_config(env: Mapping[str, str]) -> IntakeConfig:
    """``env``: the LIANDIAO_* variables without the prefix (Settings.extra)."""
    defaults = RiskPolicy()
    weights = {f.name: whole_number(env, f"RISK_{f.name.upper()}", getattr(defaults, f.name), 0, 100)
               for f in fields(RiskPolicy) if f.name != "threshold"}
    threshold = whole_number(env, "RISK_THRESHOLD", defaults.threshold, 1, 100)
    minutes = whole_number(env, "WARNING_ESCALATE_MINUTES", 120, 1, 7 * 24 * 60)
    levels = whole_number(env, "WARNING_MAX_ESCALATIONS", 3, 1, 10)
    sweep = whole_number(env, "WARNING_SWEEP_SECONDS", 30, 1, 3600)
    return IntakeConfig(risk=RiskPolicy(**weights, threshold=threshold),
                        warnings=WarningPolicy(escalate_after=timedelta(minutes=minutes), max_level=levels),
                        sweep_seconds=float(sweep))


app = ServiceApp("intake", Path(__file__).parent / "migrations", POLICY,
                 publishes=[catalog.DISPUTE_REGISTERED, catalog.RISK_FLAGGED], config=load_config)


def _intake(rt: Runtime) -> Intake:
    return Intake(rt.pool, rt.pii, rt.config.risk, rt.config.warnings)


@app.grpc
def register(rt: Runtime, server):
    service = intake_pb2.DESCRIPTOR.services_by_name["IntakeService"]
    return [add_servicer(server, service, IntakeApi(_intake(rt)), LIMITS)]


# Liaison officers (联络人) of police stations, tribunals and judicial offices, for early warnings.
app.consume("liaison", [catalog.PERSON_CHANGED], lambda rt: _intake(rt).on_person_changed)
# The end of mediation closes the dispute for duplicate detection.
app.consume("outcomes", [catalog.AGREEMENT_EFFECTIVE, catalog.MEDIATION_FAILED],
            lambda rt: _intake(rt).on_mediation_ended)


@app.task
async def warning_escalation(rt: Runtime) -> None:
    await periodically(_intake(rt).escalate_due, rt.config.sweep_seconds, rt.stopping, "early-warning escalation")
