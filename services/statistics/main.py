"""Wiring of the statistics service: the read model of the coordination work (issue 11)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from liandiao.config import SettingsError
from liandiao.rpc.checks import add_servicer
from liandiao.service import Runtime, ServiceApp
from liandiao.statistics.v1 import statistics_pb2
from services.statistics.api import POLICY, StatisticsApi
from services.statistics.app import EVENTS, Statistics
from services.statistics.domain.formulas import FormulaError, Formulas, parse_formulas
from services.statistics.handlers import facts
from services.statistics.limits import LIMITS

SHIPPED_FORMULAS = Path(__file__).parent / "formulas.toml"


@dataclass(frozen=True)
class Settings:
    formulas: Formulas
    formulas_file: Path


def load_formulas(path: Path) -> Formulas:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"LIANDIAO_STATISTICS_FORMULAS_FILE: cannot read {path}: {exc.strerror}") from None
    try:
        return parse_formulas(text)
    except FormulaError as exc:
        raise SettingsError(f"LIANDIAO_STATISTICS_FORMULAS_FILE ({path}): {exc}") from None


def load_config(env: Mapping[str, str]) -> Settings:
    """LIANDIAO_STATISTICS_FORMULAS_FILE: the figures and their formulas (TOML, see
    services/statistics/formulas.toml, the default); checked here, at start-up."""
    path = Path(env.get("STATISTICS_FORMULAS_FILE", "") or SHIPPED_FORMULAS)
    return Settings(load_formulas(path), path)


app = ServiceApp("statistics", Path(__file__).parent / "migrations", POLICY, publishes=[], config=load_config)


def _statistics(rt: Runtime) -> Statistics:
    return Statistics(rt.pool, rt.config.formulas)


@app.grpc
def register(rt: Runtime, server):
    service = statistics_pb2.DESCRIPTOR.services_by_name["StatisticsService"]
    return [add_servicer(server, service, StatisticsApi(_statistics(rt)), LIMITS)]


app.consume("facts", EVENTS, lambda rt: facts(_statistics(rt)))
