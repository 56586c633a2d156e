"""SQL statements per dispute, from pg_stat_statements (the local stack preloads it when the
server has it: scripts/stack.sh). Snapshots before and after a step, diffed by statement, so no
reset (which takes a superuser) is needed: counts are the bench databases' only."""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncpg

_QUERY = """
select s.queryid, min(s.query) as query, sum(s.calls)::bigint as calls, sum(s.total_exec_time) as ms
  from pg_stat_statements s join pg_database d on d.oid = s.dbid
 where d.datname = any($1::text[])
 group by s.queryid"""


@dataclass(frozen=True)
class Snapshot:
    rows: dict[int, tuple[str, int, float]]   # queryid -> (text, calls, exec ms)
    error: str = ""


async def snapshot(postgres_url: str, databases: list[str]) -> Snapshot:
    try:
        conn = await asyncpg.connect(postgres_url)
    except (OSError, asyncpg.PostgresError) as exc:
        return Snapshot({}, f"cannot connect: {exc}")
    try:
        got = await conn.fetch(_QUERY, databases)
    except asyncpg.PostgresError as exc:   # not preloaded, or no extension: say so, go on
        return Snapshot({}, f"{exc} (scripts/stack.sh up, then scripts/stack.sh pg-restart)")
    finally:
        await conn.close()
    return Snapshot({r["queryid"]: (r["query"], r["calls"], r["ms"]) for r in got})


def _short(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()[:110]


def per_dispute(before: Snapshot, after: Snapshot, disputes: int, top: int = 15) -> dict:
    """Statements and their execution time per dispute, and the statements called most."""
    if before.error or after.error:
        return {"error": before.error or after.error}
    per = max(disputes, 1)
    diff = []
    for qid, (text, calls, ms) in after.rows.items():
        _, calls0, ms0 = before.rows.get(qid, (text, 0, 0.0))
        if calls > calls0:
            diff.append((_short(text), (calls - calls0) / per, (ms - ms0) / per))
    diff.sort(key=lambda d: -d[1])
    return {"statements": sum(d[1] for d in diff), "exec_ms": sum(d[2] for d in diff),
            "top": [{"statement": t, "calls": round(c, 2), "exec_ms": round(m, 3)} for t, c, m in diff[:top]]}
