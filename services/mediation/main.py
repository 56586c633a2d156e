"""Wiring of the mediation service."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from liandiao.config import SettingsError, whole_number
from liandiao.events import catalog
from liandiao.mediation.v1 import mediation_pb2
from liandiao.rpc.checks import add_servicer
from liandiao.service import Runtime, ServiceApp, periodically
from liandiao.signing import KEYS_FILE_ENV, KeyConfigError, load_keys
from services.mediation.api import POLICY, MediationApi
from services.mediation.app import Mediation, Settings, SigningKeys
from services.mediation.domain.false_mediation import FalseMediationRules
from services.mediation.handlers import assignments, duty_rota
from services.mediation.limits import LIMITS


def load_config(env: Mapping[str, str]) -> Settings:
    """LIANDIAO_PEOPLES_MEDIATION_DAYS: the practice period of people's mediation (DOMAIN §4:
    "about one month", unconfirmed), default 30. LIANDIAO_MEDIATION_REMINDER_WORKING_DAYS: the
    expiry reminder this many working days before the last day (default 3).
    LIANDIAO_MEDIATION_FOLLOW_UP_MONTHS (default 3), LIANDIAO_MEDIATION_SWEEP_SECONDS (default 30),
    LIANDIAO_CASE_FILE_RETENTION_YEARS (default 30). The false-mediation rule (DOMAIN §4 names no
    thresholds): LIANDIAO_FALSE_MEDIATION_FAST_AMOUNT_YUAN (100000) agreed within
    LIANDIAO_FALSE_MEDIATION_FAST_MINUTES (120) of opening; a party in
    LIANDIAO_FALSE_MEDIATION_REPEAT_CASES (3) cases of the committee within
    LIANDIAO_FALSE_MEDIATION_REPEAT_DAYS (90); 0 turns a sign off."""
    days = whole_number(env, "PEOPLES_MEDIATION_DAYS", 0, 0, 365)
    return Settings(peoples_mediation_days=days or None,
                    reminder_working_days=whole_number(env, "MEDIATION_REMINDER_WORKING_DAYS", 3, 1, 20),
                    follow_up_months=whole_number(env, "MEDIATION_FOLLOW_UP_MONTHS", 3, 1, 36),
                    sweep_seconds=float(whole_number(env, "MEDIATION_SWEEP_SECONDS", 30, 1, 3600)),
                    retention_years=whole_number(env, "CASE_FILE_RETENTION_YEARS", 30, 1, 100),
                    # The false-mediation rule's signs (domain/false_mediation.py); 0 turns one off.
                    false_mediation=FalseMediationRules(
                        fast_amount_fen=100 * whole_number(env, "FALSE_MEDIATION_FAST_AMOUNT_YUAN", 100000, 0,
                                                           10**9),
                        fast_minutes=whole_number(env, "FALSE_MEDIATION_FAST_MINUTES", 120, 0, 60 * 24 * 30),
                        repeat_cases=whole_number(env, "FALSE_MEDIATION_REPEAT_CASES", 3, 0, 1000),
                        repeat_days=whole_number(env, "FALSE_MEDIATION_REPEAT_DAYS", 90, 0, 3650)))


log = logging.getLogger(__name__)

app = ServiceApp("mediation", Path(__file__).parent / "migrations", POLICY,
                 publishes=[catalog.SESSION_SCHEDULED, catalog.AGREEMENT_EFFECTIVE, catalog.MEDIATION_FAILED,
                            catalog.CASE_RETURNED_TO_COURT, catalog.EXPIRY_REMINDER_DUE,
                            catalog.FALSE_MEDIATION_REPORTED, catalog.SIGNING_CODE_ISSUED,
                            catalog.SESSION_CANCELLED],
                 config=load_config)

_KEYS: dict[int, SigningKeys] = {}


def _keys(rt: Runtime) -> SigningKeys:
    """The seal keys: the configured file; in development without one, keys made on first use."""
    found = _KEYS.get(id(rt))
    if found is None:
        import os
        if os.environ.get(KEYS_FILE_ENV):
            try:
                ring, signers = load_keys()
            except KeyConfigError as exc:
                raise SettingsError(str(exc)) from None
            found = SigningKeys(ring, signers)
        elif rt.settings.environment == "development":
            found = SigningKeys(generate=True)
        else:
            raise SettingsError(f"{KEYS_FILE_ENV} is required outside development (the committees' seal keys)")
        _KEYS[id(rt)] = found
    return found


def _mediation(rt: Runtime) -> Mediation:
    return Mediation(rt.pool, rt.pii, rt.config, keys=_keys(rt))


@app.grpc
def register(rt: Runtime, server):
    service = mediation_pb2.DESCRIPTOR.services_by_name["MediationService"]
    return [add_servicer(server, service, MediationApi(_mediation(rt)), LIMITS)]


app.consume("assignments", [catalog.DISPUTE_ASSIGNED], lambda rt: assignments(_mediation(rt)))
app.consume("duty", [catalog.PERSON_CHANGED], lambda rt: duty_rota)


@app.once
async def firm_up_provisional_deadlines(rt: Runtime) -> None:
    """Once at start: operators restart the services after loading next year's holidays; cases
    stored before 0002 get their own copy of the parties."""
    m = _mediation(rt)
    converted = await m.convert_legacy_cases()
    if converted:
        log.info("cases converted to their own records", extra={"cases": converted})
    changed = await m.recompute_provisional_deadlines()
    if changed:
        log.info("provisional deadlines counted again with the loaded calendar", extra={"cases": changed})


@app.task
async def clock_sweep(rt: Runtime) -> None:
    """Reminders, expiry, oral agreements' dates, follow-up periods: safe with two replicas
    (rows locked FOR UPDATE SKIP LOCKED, see Mediation.sweep)."""
    m = _mediation(rt)
    await periodically(m.sweep, rt.config.sweep_seconds, rt.stopping, "mediation clock sweep",
                       again_at_once=lambda made: made >= 100)
