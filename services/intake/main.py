"""Wiring of the intake service: the only place that builds concrete adapters.

Intake's own settings (practice, not statute, hence configuration; DOMAIN §2):
  LIANDIAO_RISK_THREATS_OF_VIOLENCE, _PER_PRIOR_INCIDENT, _PER_TEN_PEOPLE,
  _VULNERABLE_PARTY, _PER_REPEAT_PETITION   points of each risk factor (0-100)
  LIANDIAO_RISK_THRESHOLD                   score that raises an early warning (1-100)
  LIANDIAO_WARNING_ESCALATE_MINUTES         time to acknowledge before each escalation (default 120)
  LIANDIAO_WARNING_MAX_ESCALATIONS          escalations at most (default 3)
  LIANDIAO_WARNING_SWEEP_SECONDS            how often unacknowledged warnings are checked (default 30)
The parties' case code (一案一码, issue 11):
  LIANDIAO_CONSOLE_BASE_URL                 the console's public address, for the status page link and
                                            the receipt's QR code (https, required in production)
  LIANDIAO_CASE_CODE_MAX_FAILURES           failed look-ups of one code in a window that lock it (default 5)
  LIANDIAO_CASE_CODE_CLIENT_MAX_FAILURES    failed look-ups from one client address that lock it (default 20)
  LIANDIAO_CASE_CODE_WINDOW_MINUTES         the window failures are counted in (default 15)
  LIANDIAO_CASE_CODE_LOCK_MINUTES           how long a lock lasts (default 30)
A bad value stops the service at start with a message naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from liandiao.config import SettingsError, whole_number
from liandiao.events import catalog
from liandiao.intake.v1 import intake_pb2
from liandiao.rpc.checks import add_servicer
from liandiao.service import Runtime, ServiceApp, periodically
from services.intake.api import POLICY, IntakeApi
from services.intake.app import Intake
from services.intake.casecodes import CaseCodes
from services.intake.domain.lookups import LookupPolicy
from services.intake.domain.rules import RiskPolicy
from services.intake.domain.warnings import WarningPolicy
from services.intake.limits import LIMITS

DEV_CONSOLE_URL = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class IntakeConfig:
    risk: RiskPolicy = field(default_factory=RiskPolicy)
    warnings: WarningPolicy = field(default_factory=WarningPolicy)
    sweep_seconds: float = 30.0
    console_base_url: str = DEV_CONSOLE_URL
    lookups: LookupPolicy = field(default_factory=LookupPolicy)


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
                        sweep_seconds=float(sweep), console_base_url=_console_url(env), lookups=_lookups(env))


def _console_url(env: Mapping[str, str]) -> str:
    url = env.get("CONSOLE_BASE_URL", "").strip()
    production = env.get("ENV", "") == "production"
    if not url:
        if production:
            raise SettingsError("LIANDIAO_CONSOLE_BASE_URL (the console's public https address, printed on "
                                "receipts) is required in production")
        return DEV_CONSOLE_URL
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(f"LIANDIAO_CONSOLE_BASE_URL={url[:80]!r} is not an http(s) address without query")
    if production and parts.scheme != "https":
        raise SettingsError("LIANDIAO_CONSOLE_BASE_URL must be https in production (the QR code is public)")
    return url.rstrip("/")


def _lookups(env: Mapping[str, str]) -> LookupPolicy:
    return LookupPolicy(
        code_failures=whole_number(env, "CASE_CODE_MAX_FAILURES", 5, 1, 100),
        client_failures=whole_number(env, "CASE_CODE_CLIENT_MAX_FAILURES", 20, 1, 10_000),
        window=timedelta(minutes=whole_number(env, "CASE_CODE_WINDOW_MINUTES", 15, 1, 24 * 60)),
        lock=timedelta(minutes=whole_number(env, "CASE_CODE_LOCK_MINUTES", 30, 1, 7 * 24 * 60)))


app = ServiceApp("intake", Path(__file__).parent / "migrations", POLICY,
                 publishes=[catalog.DISPUTE_REGISTERED, catalog.RISK_FLAGGED, catalog.WARNING_ACKNOWLEDGED], config=load_config)


def _codes(rt: Runtime) -> CaseCodes:
    return CaseCodes(rt.pool, rt.pii, rt.config.console_base_url, rt.config.lookups)


def _intake(rt: Runtime) -> Intake:
    return Intake(rt.pool, rt.pii, rt.config.risk, rt.config.warnings, _codes(rt))


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


# The parties' status page (issue 11): where each dispute is, from the events that move it.
app.consume("status", [catalog.DISPUTE_ASSIGNED, catalog.SESSION_SCHEDULED, catalog.SESSION_CANCELLED,
                       catalog.AGREEMENT_EFFECTIVE,
                       catalog.MEDIATION_FAILED, catalog.CASE_RETURNED_TO_COURT, catalog.APPLICATION_FILED,
                       catalog.APPLICATION_ACCEPTED, catalog.APPLICATION_REFUSED, catalog.RULING_ISSUED],
            lambda rt: _codes(rt).on_event)


@app.once
async def issue_missing_case_codes(rt: Runtime) -> None:
    """Disputes registered before case codes existed get theirs."""
    await _codes(rt).issue_missing()


@app.task
async def prune_lookup_failures(rt: Runtime) -> None:
    await periodically(_codes(rt).prune, 600, rt.stopping, "pruning case-code look-up counters")
