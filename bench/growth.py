"""--rows 10x|100x (issue 12, growth): the database already holds years of a province's disputes,
then the same rates run; afterwards the hot queries' plans and how each table was scanned.

How the rows are made: the disputes the warm-up drove through the whole flow are templates; every
per-dispute table of every service (a table with a dispute, case, application, agreement or delivery
id) is copied from its own rows with generate_series, in one INSERT ... SELECT per table and chunk,
inside PostgreSQL. Copy g of a row gets:
  - each uuid column (and each *_id text column holding a uuid) that names something of the dispute (its id, parties, case, sessions, agreement,
    application, deliveries ...) mapped to md5(old || g)::uuid: the same map in every table and
    schema, so copies join as the originals do (a copy's case belongs to that copy's dispute);
  - uuid columns that name the province's people and organizations (mediators, courts, offices)
    kept, so workload and roster queries see every mediator's years of cases;
  - text columns of unique indexes suffixed with '~g' (request ids, case numbers);
  - every timestamp and date shifted back by the same g-th step, so the copies spread evenly over
    the years (10x: ten years) and keep their own order of events;
  - timer columns (next sweep, next delivery attempt, reminders, escalations) emptied where nullable:
    a copied timer in the past would make the services work off ten years of due jobs at start-up,
    which is a migration, not growth.
The regions and types are the templates' (the flow draws counties and types as a province's
registrations do); the states are what the services left the templates in after a whole flow
(ruled and notified), which is where almost all of a year's disputes are. Outbox, inbox and dead
letters are not copied: retention keeps them to days (docs/operations.md), not years."""

from __future__ import annotations

import time
from typing import Any

import asyncpg

# A year of a province's disputes on the platform (the demo's size; a large province's people's
# mediation takes more, but 100x of that does not fit a 2-core benchmark box): --year-disputes.
YEAR_DISPUTES = 20_000
FACTORS = {"10x": 10, "100x": 100}
SCHEMAS = ("intake", "routing", "mediation", "confirmation", "notification", "statistics")
PER_DISPUTE = {"dispute_id", "case_id", "application_id", "agreement_id", "delivery_id", "ruling_id"}
SKIP = {"outbox", "inbox", "dead_letters", "audit_log", "parked"}
# The province's people and organizations: the same in every copy.
KEEP = {"mediator_id", "person_id", "organization_id", "court_id", "org_id", "recipient_person_id",
        "chosen_mediator_id", "office_org_id", "referring_org_id", "registering_org_id", "judge_id", "clerk_id"}
TIMERS = {"next_sweep_at", "next_attempt_at", "remind_at", "next_escalation_at", "supplement_by", "expires_at"}


async def _tables(conn: asyncpg.Connection, schema: str) -> list[str]:
    """The schema's per-dispute tables, parents before children (foreign keys)."""
    rows = await conn.fetch(
        """select c.table_name from information_schema.columns c
           join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
           where c.table_schema = $1 and t.table_type = 'BASE TABLE' and c.column_name = any($2::text[])
           group by c.table_name""", schema, list(PER_DISPUTE))
    names = {r["table_name"] for r in rows} - SKIP
    deps = await conn.fetch(
        """select cl.relname as child, pcl.relname as parent from pg_constraint k
           join pg_class cl on cl.oid = k.conrelid join pg_class pcl on pcl.oid = k.confrelid
           join pg_namespace n on n.oid = cl.relnamespace
           where k.contype = 'f' and n.nspname = $1""", schema)
    parents: dict[str, set[str]] = {n: set() for n in names}
    for d in deps:
        if d["child"] in names and d["parent"] in names and d["child"] != d["parent"]:
            parents[d["child"]].add(d["parent"])
    ordered: list[str] = []
    while parents:
        ready = sorted(n for n, p in parents.items() if not p - set(ordered))
        if not ready:             # a cycle: the rest in any order (their FKs are deferrable or absent)
            ready = sorted(parents)
        ordered += ready
        for n in ready:
            parents.pop(n)
    return ordered


async def _select_list(conn: asyncpg.Connection, schema: str, table: str) -> tuple[list[str], list[str]]:
    cols = await conn.fetch(
        """select column_name, data_type, is_nullable = 'YES' as nullable, is_identity = 'YES' as identity,
                  coalesce(column_default, '') like 'nextval(%' as serial, is_generated = 'ALWAYS' as generated
           from information_schema.columns where table_schema = $1 and table_name = $2 order by ordinal_position""",
        schema, table)
    unique_text = {r["attname"] for r in await conn.fetch(
        """select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
           where i.indrelid = $1::regclass and i.indisunique""", f"{schema}.{table}")}
    names, exprs = [], []
    for c in cols:
        name, kind = c["column_name"], c["data_type"]
        if c["identity"] or c["serial"] or c["generated"]:
            continue
        q = f'"{name}"'
        if name in TIMERS and c["nullable"]:
            expr = "null"
        elif kind == "uuid" and name not in KEEP:
            expr = f"md5({q}::text || ':' || g)::uuid"
        elif kind in ("text", "character varying") and name.endswith("_id") and name not in KEEP:
            # An id kept as text (confirmation's agreement_id): the same map as a uuid column's when
            # it holds one, so the copies still join; otherwise made unique like the columns below.
            tail = f"{q} || '~' || g" if name in unique_text else q
            expr = f"case when {q} ~ '^[0-9a-f-]{{36}}$' then md5({q} || ':' || g)::uuid::text else {tail} end"
        elif kind in ("text", "character varying") and name in unique_text:
            expr = f"{q} || '~' || g"
        elif kind.startswith("timestamp"):
            expr = f"{q} - make_interval(secs => g * $1::float8)"
        elif kind == "date":
            expr = f"({q} - make_interval(secs => g * $1::float8))::date"
        else:
            expr = q
        names.append(q)
        exprs.append(expr)
    return names, exprs


async def prefill(dsn: str, rows: str, year_disputes: int, prefectures: list[str], chunk: int = 200) -> dict[str, Any]:
    factor = FACTORS[rows]
    conn = await asyncpg.connect(dsn)
    t0 = time.perf_counter()
    out: dict[str, Any] = {"rows": rows, "factor": factor, "year_disputes": year_disputes, "tables": {},
                           "skipped": {}}
    try:
        templates = await conn.fetchval("select count(*) from intake.disputes")
        if not templates:
            raise RuntimeError("no disputes to copy: the warm-up must run first")
        copies = max(1, round(factor * year_disputes / templates))
        step_seconds = factor * 365 * 86400 / copies     # copy g is g steps older
        out |= {"templates": templates, "copies": copies, "target_disputes": templates * copies}
        for schema in SCHEMAS:
            for table in await _tables(conn, schema):
                names, exprs = await _select_list(conn, schema, table)
                before = await conn.fetchval(f'select count(*) from "{schema}"."{table}"')
                if not before:
                    continue
                # The templates apart, so that a later chunk does not copy the copies.
                sql = (f'insert into "{schema}"."{table}" ({", ".join(names)}) select {", ".join(exprs)} '
                       f'from bench_templates t, generate_series($2::int, $3::int) g where $1::float8 is not null')
                try:
                    async with conn.transaction():
                        await conn.execute(f'create temp table bench_templates on commit drop as '
                                           f'select * from "{schema}"."{table}"')
                        for lo in range(1, copies + 1, chunk):
                            await conn.execute(sql, step_seconds, lo, min(copies, lo + chunk - 1))
                except asyncpg.PostgresError as exc:
                    out["skipped"][f"{schema}.{table}"] = str(exc).splitlines()[0][:160]
                    continue
                await conn.execute(f'analyze "{schema}"."{table}"')
                out["tables"][f"{schema}.{table}"] = await conn.fetchval(
                    f'select count(*) from "{schema}"."{table}"')
        out["seconds"] = time.perf_counter() - t0
        out["database_mib"] = await conn.fetchval("select pg_database_size(current_database()) / 1048576.0")
    finally:
        await conn.close()
    return out


def describe(g: dict[str, Any]) -> str:
    top = sorted(g["tables"].items(), key=lambda kv: -kv[1])[:12]
    lines = [f"Growth ({g['rows']}): {g['templates']} whole-flow disputes copied {g['copies']} times "
             f"= {g['target_disputes']:,} disputes ({g['factor']} x a year of {g['year_disputes']:,}) in "
             f"{g['seconds']:.0f} s; database {g['database_mib']:.0f} MiB. Largest tables: "
             + ", ".join(f"{k} {v:,}" for k, v in top)]
    if g["skipped"]:
        lines.append("Not copied: " + "; ".join(f"{k} ({v})" for k, v in g["skipped"].items()))
    return "\n".join(lines)


async def table_scans(dsn: str) -> dict[str, tuple[int, int, int]]:
    """Per table: sequential scans, index scans, live rows (pg_stat_user_tables)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("select schemaname || '.' || relname as t, seq_scan, coalesce(idx_scan, 0) as idx, "
                                "n_live_tup from pg_stat_user_tables where schemaname = any($1::text[])", list(SCHEMAS))
    finally:
        await conn.close()
    return {r["t"]: (r["seq_scan"], r["idx"], r["n_live_tup"]) for r in rows}


def scan_delta(before: dict[str, tuple[int, int, int]], after: dict[str, tuple[int, int, int]]) -> dict[str, dict]:
    out = {}
    for t, (seq, idx, live) in after.items():
        s0, i0, _ = before.get(t, (0, 0, 0))
        if seq - s0 or idx - i0:
            out[t] = {"seq_scans": seq - s0, "idx_scans": idx - i0, "rows": live}
    return out


# The queries the flow runs for every dispute (read from the services' store.py and libs/liandiao/events),
# each with a query that picks a real parameter from the copied rows.
HOT: list[tuple[str, str, str]] = [
    ("routing: mediators' open cases (workload)",
     "select mediator_id, count(*) as n from routing.assignments where status in ('offered', 'accepted') "
     "and mediator_id = any($1::uuid[]) group by mediator_id",
     "select array_agg(person_id) from (select person_id from routing.mediators limit 20) m"),
    ("routing: eligible mediators",
     "select person_id, name, organization_id, specialties, languages, region_codes, roster_status, on_duty, relations "
     "from routing.mediators where 'mediator' = any(roles) and $1 = any(specialties) and region_codes && $2::text[]",
     "select (select dispute_type from routing.disputes limit 1), array[region_code, left(region_code, 6), "
     "left(region_code, 4)] from routing.disputes limit 1"),
    ("routing: assignment of a dispute", "select * from routing.assignments where dispute_id = $1",
     "select dispute_id from routing.assignments order by offered_at desc limit 1"),
    ("intake: duplicate key", "select dispute_id from intake.dispute_keys where duplicate_key = $1",
     "select duplicate_key from intake.dispute_keys limit 1"),
    ("intake: a dispute", "select * from intake.disputes where dispute_id = $1",
     "select dispute_id from intake.disputes order by registered_at desc limit 1"),
    ("mediation: the case of a dispute", "select aggregate, row_version, trace_parent from mediation.cases "
     "where dispute_id = $1", "select dispute_id from mediation.cases order by opened_at desc limit 1"),
    ("mediation: due sweeps", "select case_id from mediation.cases where next_sweep_at <= now() "
     "and aggregate is not null order by next_sweep_at limit 100", ""),
    ("confirmation: applications of an agreement", "select * from confirmation.applications where agreement_id = $1 "
     "order by filed_at, application_id", "select agreement_id from confirmation.applications limit 1"),
    ("notification: due deliveries", "select delivery_id from notification.deliveries where status = 'pending' "
     "and next_attempt_at <= now() order by next_attempt_at limit 100", ""),
    ("notification: already delivered for an event", "select true from notification.deliveries "
     "where source_event_id = $1 limit 1", "select source_event_id from notification.deliveries limit 1"),
    ("notification: deliveries of a dispute", "select * from notification.deliveries where dispute_id = $1 "
     "order by created_at", "select dispute_id from notification.deliveries limit 1"),
]


async def plans(dsn: str) -> list[dict[str, str]]:
    conn = await asyncpg.connect(dsn)
    out = []
    try:
        for name, sql, param in HOT:
            try:
                args = list(await conn.fetchrow(param)) if param else []
                rows = await conn.fetch(f"explain (analyze, buffers) {sql}", *args)
                plan = "\n".join(r[0] for r in rows)
            except asyncpg.PostgresError as exc:
                plan = f"(not explained: {str(exc).splitlines()[0]})"
            out.append({"query": name, "sql": sql, "plan": plan,
                        "uses_index": "Index" in plan or "Bitmap" in plan, "seq_scan": "Seq Scan" in plan})
    finally:
        await conn.close()
    return out


def describe_plans(g: dict[str, Any]) -> str:
    lines = ["EXPLAIN (ANALYZE, BUFFERS) of the flow's per-dispute queries on the grown database:"]
    for p in g["plans"]:
        lines.append(f"-- {p['query']}: " + ("index" if p["uses_index"] else "NO INDEX")
                     + (", has a Seq Scan" if p["seq_scan"] else ""))
        lines += ["   " + line for line in p["plan"].splitlines()]
    seq = {t: s for t, s in g.get("scans", {}).items() if s["seq_scans"] and s["rows"] > 10_000}
    lines.append("Tables of > 10,000 rows scanned sequentially during the rates: "
                 + (", ".join(f"{t} ({s['seq_scans']} seq / {s['idx_scans']} index scans, {s['rows']:,} rows)"
                              for t, s in seq.items()) or "none"))
    return "\n".join(lines)


def latency_note(steps: list, rows: str) -> str:
    parts = []
    for s in steps:
        if s.offered_rate:
            r = s.latency_ms.get("registration_to_assigned", {})
            c = s.latency_ms.get("accepted_to_case_open", {})
            parts.append(f"{s.label}: reg→assigned p50 {r.get('p50', 0):.0f} / p99 {r.get('p99', 0):.0f} ms, "
                         f"accept→case p99 {c.get('p99', 0):.0f} ms")
    return (f"Growth ({rows}): " + "; ".join(parts) + ". Whether latency grew: compare with the same rates of a "
            "run without --rows (same --seconds), in the same session.")
