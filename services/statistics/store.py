"""Every SQL statement of the statistics service (its own schema only).

Facts are merged column by column: an event sets what it knows and leaves the rest,
so intake's registration may arrive after mediation's agreement (different topics keep
no order between them) and the row comes out the same. The figures are computed here,
in SQL, by the milestone that falls in the period ([start, end), instants)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

# How a column takes a new value when the row exists: text filled once (the first
# non-empty value stays), a milestone kept from its first event, a deadline or a
# level kept at its latest / highest.
_TEXT_ONCE = frozenset({"region_code", "dispute_type", "source", "referring_org_id", "organization_id",
                        "parties_masked", "mediator_id", "termination_ground", "ruling_outcome"})
_FIRST = frozenset({"registered_at", "assigned_at", "agreement_at", "terminated_at", "returned_to_court_at",
                    "application_filed_at", "accepted_at", "refused_at", "ruling_at", "warning_flagged_at",
                    "warning_acknowledged_at", "failure", "accept_by"})
_GREATEST = frozenset({"mediation_deadline", "warning_level", "decide_by", "amount_fen"})
MERGEABLE = _TEXT_ONCE | _FIRST | _GREATEST


def _rule(column: str) -> str:
    if column in _TEXT_ONCE:
        return f"case when dispute_facts.{column} = '' then excluded.{column} else dispute_facts.{column} end"
    if column in _FIRST:
        return f"coalesce(dispute_facts.{column}, excluded.{column})"
    return f"greatest(dispute_facts.{column}, excluded.{column})"


async def merge_facts(conn: asyncpg.Connection, dispute_id: UUID, values: Mapping[str, Any]) -> None:
    """Inserts or completes the dispute's row with ``values`` (column -> value; the
    column names are this module's constants, never input)."""
    values = {k: v for k, v in values.items() if v is not None and v != ""}
    unknown = set(values) - MERGEABLE
    if unknown:
        raise ValueError(f"not a fact column: {sorted(unknown)}")
    cols = list(values)
    placeholders = ", ".join(f"${i + 2}" for i in range(len(cols)))
    sets = ", ".join([*(f"{c} = {_rule(c)}" for c in cols), "updated_at = now()"])
    names = ", ".join(["dispute_id", *cols])
    await conn.execute(f"insert into dispute_facts ({names}) values ($1{', ' if cols else ''}{placeholders}) "
                       f"on conflict (dispute_id) do update set {sets}", dispute_id, *values.values())


async def add_offer_expiry(conn: asyncpg.Connection, assignment_id: str, dispute_id: UUID, expired_at: datetime) -> None:
    await conn.execute("insert into offer_expiries (assignment_id, dispute_id, expired_at) values ($1, $2, $3) "
                       "on conflict do nothing", assignment_id, dispute_id, expired_at)


async def add_acknowledgement(conn: asyncpg.Connection, dispute_id: UUID, office: str, region_code: str,
                              organization_id: str, flagged_at: datetime, acknowledged_at: datetime) -> None:
    await conn.execute(
        """insert into warning_acks (dispute_id, office, region_code, organization_id, flagged_at, acknowledged_at)
           values ($1, $2, $3, $4, $5, $6) on conflict do nothing""",
        dispute_id, office, region_code, organization_id, flagged_at, acknowledged_at)


# ---- figures -------------------------------------------------------------------------------

def _in(column: str) -> str:
    return f"{column} >= $2 and {column} < $3"


def _days(later: str, earlier: str = "registered_at") -> str:
    return f"extract(epoch from {later} - {earlier}) / 86400.0"


def _durations(name: str, later: str) -> list[str]:
    cond = f"{_in(later)} and registered_at is not null"
    value = _days(later)
    return [f"avg({value}) filter (where {cond}) as {name}_avg",
            f"percentile_cont(0.5) within group (order by {value}) filter (where {cond}) as {name}_p50",
            f"percentile_cont(0.9) within group (order by {value}) filter (where {cond}) as {name}_p90"]


_COURT = "source in ('court_delegation', 'court_commission')"
# A deadline in the period that was missed: the milestone it bounds came after it, or
# has not come by the period's end (or now, for the period under way). A mediation that
# ran out its period and was terminated for it (SPC-Online Art.25) is not overdue.
_OVERDUE = """
    (mediation_deadline >= $2 and mediation_deadline < least($3, $4)
     and (concluded_at is null and least($3, $4) > mediation_deadline
          or concluded_at > mediation_deadline and termination_ground <> 'period_expired'))
 or (accept_by >= $2 and accept_by < least($3, $4) and coalesce(accepted_at, refused_at, least($3, $4)) > accept_by)
 or (decide_by >= $2 and decide_by < least($3, $4) and coalesce(ruling_at, least($3, $4)) > decide_by)"""

_MEASURES_SQL = ", ".join([
    f"count(*) filter (where {_in('registered_at')}) as disputes",
    f"coalesce(sum(amount_fen) filter (where {_in('registered_at')}), 0)::bigint as amount_fen",
    f"count(*) filter (where {_in('assigned_at')}) as assigned",
    f"count(*) filter (where {_in('concluded_at')}) as mediated",
    f"count(*) filter (where {_in('agreement_at')}) as successful",
    f"count(*) filter (where agreement_at is null and {_in('terminated_at')}) as failed",
    f"count(*) filter (where {_COURT} and {_in('concluded_at')}) as court_mediated",
    f"count(*) filter (where {_COURT} and {_in('agreement_at')}) as court_successful",
    f"count(*) filter (where {_in('returned_to_court_at')}) as returned_to_court",
    f"count(*) filter (where {_in('agreement_at')}) as agreements",
    f"count(*) filter (where {_in('application_filed_at')}) as applications",
    f"count(*) filter (where {_in('accepted_at')}) as applications_accepted",
    f"count(*) filter (where {_in('refused_at')}) as applications_refused",
    f"count(*) filter (where ruling_outcome = 'valid' and {_in('ruling_at')}) as valid_rulings",
    f"count(*) filter (where ruling_outcome = 'rejected' and {_in('ruling_at')}) as rejected_rulings",
    f"count(*) filter (where {_OVERDUE}) as overdue",
    "coalesce(sum(expired_offers), 0)::bigint as offers_expired",
    f"count(*) filter (where warning_flagged_at is not null and {_in('agreement_at')}) as prevented_criminal",
    f"count(*) filter (where {_in('warning_flagged_at')}) as warnings",
    f"count(*) filter (where warning_level > 0 and {_in('warning_flagged_at')}) as warnings_escalated",
    f"count(*) filter (where warning_acknowledged_at is not null and {_in('warning_flagged_at')}) "
    "as warnings_acknowledged",
    *_durations("days_to_assignment", "assigned_at"),
    *_durations("days_to_agreement", "agreement_at"),
    *_durations("days_to_ruling", "ruling_at"),
])

_ACKS_SQL = ", ".join([
    "count(*) as acknowledgements",
    "avg(extract(epoch from a.acknowledged_at - a.flagged_at) / 3600.0) as ack_hours_avg",
    "percentile_cont(0.9) within group (order by extract(epoch from a.acknowledged_at - a.flagged_at) / 3600.0) "
    "as ack_hours_p90",
])


@dataclass(frozen=True)
class Grouping:
    """What a figures query groups by: nothing (one row, key ''), a column of the facts,
    or the first ``length`` digits of the region code (one level down)."""
    column: str = ""
    length: int = 0

    def sql(self, alias: str = "") -> str:
        p = f"{alias}." if alias else ""
        if self.length:
            return f"left({p}region_code, {int(self.length)})"
        if self.column in ("dispute_type", "source"):
            return f"{p}{self.column}"
        return "''"


WHOLE = Grouping()


async def measure_rows(conn: asyncpg.Connection | asyncpg.Pool, region_prefix: str, start: datetime, end: datetime,
                       now: datetime, grouping: Grouping = WHOLE) -> dict[str, dict[str, Any]]:
    """Group key -> measure name -> value, for the disputes under ``region_prefix``."""
    rows = await conn.fetch(
        f"""with f as (
                select d.*, coalesce(d.agreement_at, d.terminated_at) as concluded_at, {grouping.sql('d')} as g,
                       (select count(*) from offer_expiries o
                         where o.dispute_id = d.dispute_id and o.expired_at >= $2 and o.expired_at < $3) as expired_offers
                  from dispute_facts d where d.region_code like $1)
            select g, {_MEASURES_SQL} from f group by g""",
        region_prefix + "%", start, end, now)
    out: dict[str, dict[str, Any]] = {r["g"]: {k: v for k, v in r.items() if k != "g"} for r in rows}
    acks = await conn.fetch(
        f"""select {grouping.sql('d')} as g, {_ACKS_SQL}
              from warning_acks a join dispute_facts d using (dispute_id)
             where a.region_code like $1 and a.acknowledged_at >= $2 and a.acknowledged_at < $3 group by 1""",
        region_prefix + "%", start, end)
    for r in acks:
        out.setdefault(r["g"], {}).update({k: v for k, v in r.items() if k != "g"})
    return out


async def external_total(conn: asyncpg.Connection | asyncpg.Pool, source_system: str, region_prefix: str,
                         months: Sequence[date]) -> tuple[int, int]:
    """(sum, months reported) of one system's counts for a region: the region's own
    figure where it was reported, else the sum of its nearest reported subdivisions, so
    a prefecture's total and its counties' never count twice."""
    row = await conn.fetchrow(
        """select coalesce(sum(f.count), 0)::bigint as total, count(distinct f.month) as months
             from external_figures f
            where f.source_system = $1 and f.month = any($3::date[]) and f.region_code like $2
              and not exists (select 1 from external_figures g
                               where g.source_system = f.source_system and g.month = f.month
                                 and g.region_code <> f.region_code and g.region_code like $2
                                 and f.region_code like g.region_code || '%')""",
        source_system, region_prefix + "%", list(months))
    return int(row["total"]), int(row["months"])


async def facts_as_of(conn: asyncpg.Connection | asyncpg.Pool) -> datetime | None:
    return await conn.fetchval("select max(updated_at) from dispute_facts")


# ---- imports ---------------------------------------------------------------------------------

async def replace_external(conn: asyncpg.Connection, source_system: str, region_code: str, month: date,
                           count: int, imported_by: str) -> str:
    """'created', 'replaced' or 'unchanged'."""
    before = await conn.fetchval(
        "select count from external_figures where source_system = $1 and region_code = $2 and month = $3 for update",
        source_system, region_code, month)
    if before == count:
        return "unchanged"
    await conn.execute(
        """insert into external_figures (source_system, region_code, month, count, imported_by)
           values ($1, $2, $3, $4, $5)
           on conflict (source_system, region_code, month)
           do update set count = excluded.count, imported_by = excluded.imported_by, imported_at = now()""",
        source_system, region_code, month, count, imported_by)
    return "created" if before is None else "replaced"


# ---- ledger ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerRow:
    dispute_id: UUID
    region_code: str
    dispute_type: str
    source: str
    parties_masked: str
    organization_id: str
    referring_org_id: str
    registered_at: datetime | None
    assigned_at: datetime | None
    agreement_at: datetime | None
    terminated_at: datetime | None
    termination_ground: str
    returned_to_court_at: datetime | None
    application_filed_at: datetime | None
    ruling_at: datetime | None
    ruling_outcome: str
    warning_flagged_at: datetime | None
    amount_fen: int


_LEDGER_COLS = ", ".join(LedgerRow.__dataclass_fields__)


async def ledger_rows(conn: asyncpg.Connection | asyncpg.Pool, organization_id: str, start: datetime, end: datetime,
                      region_scope: Sequence[str], limit: int) -> list[LedgerRow]:
    """The disputes an office held or referred, registered in the period, within the
    caller's regions, oldest first."""
    rows = await conn.fetch(
        f"""select {_LEDGER_COLS} from dispute_facts
             where (organization_id = $1 or referring_org_id = $1)
               and registered_at >= $2 and registered_at < $3 and region_code like any($4::text[])
             order by registered_at, dispute_id limit $5""",
        organization_id, start, end, [p + "%" for p in region_scope], limit)
    return [LedgerRow(**r) for r in rows]
