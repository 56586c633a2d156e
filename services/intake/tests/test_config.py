"""Intake's own settings: the risk table and the early-warning timing are
configuration (practice, not statute), checked at start with the variable named."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from liandiao.config import SettingsError
from services.intake.domain.model import RiskFactors
from services.intake.domain.rules import RiskPolicy, assess_risk
from services.intake.main import load_config

REPO = Path(__file__).resolve().parents[3]


def test_defaults_are_the_documented_table_and_two_hours():
    config = load_config({})
    assert config.risk == RiskPolicy()
    assert config.warnings.escalate_after == timedelta(minutes=120)
    assert (config.warnings.max_level, config.sweep_seconds) == (3, 30.0)


def test_every_weight_and_the_threshold_are_read():
    config = load_config({"RISK_THREATS_OF_VIOLENCE": "30", "RISK_PER_PRIOR_INCIDENT": "5", "RISK_PER_TEN_PEOPLE": "0",
                          "RISK_VULNERABLE_PARTY": "25", "RISK_PER_REPEAT_PETITION": "20", "RISK_THRESHOLD": "60",
                          "WARNING_ESCALATE_MINUTES": "45", "WARNING_MAX_ESCALATIONS": "1",
                          "WARNING_SWEEP_SECONDS": "5"})
    assert config.risk == RiskPolicy(threats_of_violence=30, per_prior_incident=5, per_ten_people=0,
                                     vulnerable_party=25, per_repeat_petition=20, threshold=60)
    assert (config.warnings.escalate_after, config.warnings.max_level, config.sweep_seconds) == (
        timedelta(minutes=45), 1, 5.0)


@pytest.mark.parametrize("threshold, score, flagged", [(60, 59, False), (60, 60, True), (60, 61, True)])
def test_a_configured_threshold_flags_at_the_threshold_exactly(threshold, score, flagged):
    # 30 (threats) + 29 prior incidents of 1 point, or more
    policy = load_config({"RISK_THRESHOLD": str(threshold), "RISK_THREATS_OF_VIOLENCE": "30",
                          "RISK_PER_PRIOR_INCIDENT": "1"}).risk
    risk = assess_risk(RiskFactors(threats_of_violence=True, prior_incidents=score - 30), policy)
    assert (risk.score, risk.flagged) == (score, flagged)


@pytest.mark.parametrize("name, value, message", [
    ("RISK_THRESHOLD", "0", "LIANDIAO_RISK_THRESHOLD=0 must be between 1 and 100"),
    ("RISK_THRESHOLD", "101", "must be between 1 and 100"),
    ("RISK_THREATS_OF_VIOLENCE", "-1", "LIANDIAO_RISK_THREATS_OF_VIOLENCE=-1 must be between 0 and 100"),
    ("RISK_PER_TEN_PEOPLE", "ten", "LIANDIAO_RISK_PER_TEN_PEOPLE='ten' is not a whole number"),
    ("WARNING_ESCALATE_MINUTES", "0", "LIANDIAO_WARNING_ESCALATE_MINUTES=0 must be between 1 and 10080"),
    ("WARNING_ESCALATE_MINUTES", "1.5", "is not a whole number"),
    ("WARNING_MAX_ESCALATIONS", "11", "LIANDIAO_WARNING_MAX_ESCALATIONS=11"),
    ("WARNING_SWEEP_SECONDS", "0", "LIANDIAO_WARNING_SWEEP_SECONDS=0"),
])
def test_a_bad_value_is_refused_naming_the_variable(name, value, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        load_config({name: value})


def test_the_service_refuses_to_start_with_a_bad_value():
    env = {**os.environ, "LIANDIAO_WARNING_ESCALATE_MINUTES": "never", "LIANDIAO_ENV": "development",
           "LIANDIAO_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "LIANDIAO_KAFKA_BOOTSTRAP": "127.0.0.1:1",
           "PYTHONPATH": f"{REPO / 'libs'}{os.pathsep}{REPO}"}
    done = subprocess.run([sys.executable, "-m", "services.intake"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "LIANDIAO_WARNING_ESCALATE_MINUTES='never' is not a whole number" in done.stderr
