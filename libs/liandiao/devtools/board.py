"""The statistics board as `make demo` prints it, and the check behind it: the board's
platform figures against counts taken directly from the services' own tables (intake,
mediation, confirmation schemas), for the same region prefix and the same period.
A development tool: no service reads another's schema; this check does, on purpose."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import asyncpg

from liandiao.statistics.v1 import statistics_pb2 as pb

# Board figure key -> the same count straight from the service that owns the fact.
# $1, $2: the period [start, end); $3: the region prefix pattern.
DIRECT: Mapping[str, str] = {
    "disputes": """select count(*) from intake.disputes
                    where status <> 'refused' and registered_at >= $1 and registered_at < $2 and region_code like $3""",
    "assigned": """select count(*) from mediation.cases
                    where opened_at >= $1 and opened_at < $2 and region_code like $3""",
    "successful": """select count(distinct a.case_id) from mediation.agreements a join mediation.cases c using (case_id)
                      where a.effective_at >= $1 and a.effective_at < $2 and c.region_code like $3""",
    "failed": """select count(*) from mediation.terminations t join mediation.cases c using (case_id)
                  where t.terminated_at >= $1 and t.terminated_at < $2 and c.region_code like $3
                    and not exists (select 1 from mediation.agreements a
                                     where a.case_id = t.case_id and a.effective_at is not null)""",
    "applications": """select count(*) from confirmation.applications
                        where filed_at >= $1 and filed_at < $2 and region_code like $3""",
    "valid_rulings": """select count(*) from confirmation.rulings r join confirmation.applications a using (application_id)
                         where r.outcome = 'valid' and r.issued_at >= $1 and r.issued_at < $2
                           and a.region_code like $3""",
    "warnings": """select count(*) from intake.warnings
                    where flagged_at >= $1 and flagged_at < $2 and region_code like $3""",
}


async def direct_counts(dsn: str, region_prefix: str, start: datetime, end: datetime) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        out = {}
        for key, sql in DIRECT.items():
            try:
                out[key] = int(await conn.fetchval(sql, start, end, region_prefix + "%"))
            except asyncpg.UndefinedTableError:   # a service that never started holds no facts
                out[key] = 0
        out["mediated"] = out["successful"] + out["failed"]
        return out
    finally:
        await conn.close()


def figures_of(board: pb.Board) -> dict[str, pb.Figure]:
    return {f.key: f for f in (*board.three_up, *board.three_down, *board.figures)}


def mismatches(board: pb.Board, direct: Mapping[str, int]) -> list[str]:
    """One line per figure the board shows differently from the direct count."""
    shown = figures_of(board)
    wrong = []
    for key, expected in direct.items():
        f = shown.get(key)
        got = int(f.current.value) if f is not None else None
        if got != expected:
            wrong.append(f"{key}: board {got}, direct count {expected}")
    return wrong


def _value(f: pb.Figure, v: pb.FigureValue) -> str:
    if not v.available:
        return f"— ({v.note})" if v.note else "—"
    if f.kind == pb.FIGURE_KIND_RATE:
        return f"{v.value:.1%} ({v.numerator}/{v.denominator})"
    if f.kind in (pb.FIGURE_KIND_DAYS, pb.FIGURE_KIND_HOURS):
        return f"{v.value:.2f}"
    return f"{v.value:.0f}"


def render(board: pb.Board, direct: Mapping[str, int] | None = None) -> list[str]:
    lines = [f"Statistics board {board.region_name} ({board.region_code}), {board.period} "
             f"(vs {board.previous_period}):"]

    def row(f: pb.Figure) -> str:
        check = ""
        if direct is not None and f.key in direct:
            check = "  ✓ direct count" if int(f.current.value) == direct[f.key] else f"  ✗ direct {direct[f.key]}"
        return (f"    {f.label}: {_value(f, f.current)}  [last year {_value(f, f.previous_year)}]{check}\n"
                f"        = {f.formula}")
    lines.append("  三升 (up):")
    lines += [row(f) for f in board.three_up]
    lines.append("  三降 (down, imported):")
    lines += [row(f) for f in board.three_down]
    lines.append("  other figures:")
    lines += [row(f) for f in board.figures if f.key in (*DIRECT, "mediated", "days_to_assignment_avg",
                                                         "days_to_agreement_avg", "prevented_criminal",
                                                         "overdue", "ack_hours_avg")]
    return lines
