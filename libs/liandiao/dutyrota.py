"""The duty rota (值班) as every service that honours the lawyer-on-duty relation keeps it
(liandiao.access.Relation.ON_DUTY, issue 7): intake (the dispute), routing (its
assignment) and mediation (its case) each project personnel's person-changed into a
``duty_rota`` table of their own schema (person_id text, office_org_id text, day date),
and ask it, for one caller, whether the rota lists them at the resource's offices within
the duty window (liandiao.access.DUTY_WINDOW_DAYS); list queries ask the same table in
SQL (liandiao.access.on_duty_sql).

One projection for the three, so that a lawyer on an office's rota sees that office's
dispute, assignment and case alike, and loses all three together."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

import asyncpg

from liandiao.access import duty_window_at
from liandiao.auth import Claims, Role
from liandiao.legaltime import to_china_date
from liandiao.personnel.v1 import personnel_pb2

# personnel's person-changed lists at most this many rota days (Person.duty_days).
DUTY_DAYS_SHOWN = 100


async def project(conn: asyncpg.Connection, person: personnel_pb2.Person, occurred_at: datetime) -> None:
    """The rota days of a person-changed snapshot. Personnel lists them from its "today"
    on (at most DUTY_DAYS_SHOWN), so only that stretch is replaced; days already past keep
    relating the lawyer to the office for the rest of the duty window."""
    days = [(d.office_org_id, date.fromisoformat(d.date)) for d in person.duty_days]
    since = to_china_date(occurred_at)
    until = max(day for _, day in days) if len(days) >= DUTY_DAYS_SHOWN else None
    await conn.execute("delete from duty_rota where person_id = $1 and day >= $2 and ($3::date is null or day <= $3)",
                       person.person_id, since, until)
    await conn.executemany("insert into duty_rota (person_id, office_org_id, day) values ($1, $2, $3) "
                           "on conflict do nothing", [(person.person_id, office, day) for office, day in days])


async def on_duty_at(conn: asyncpg.Connection, office_ids: Iterable[str], first: date, last: date) -> set[str]:
    """The people the rota lists at any of ``office_ids`` on a day from ``first`` to ``last``."""
    rows = await conn.fetch("select distinct person_id from duty_rota where office_org_id = any($1::text[]) "
                            "and day between $2 and $3", sorted(set(office_ids) - {""}), first, last)
    return {r["person_id"] for r in rows}


async def caller_on_duty(conn: asyncpg.Connection, caller: Claims, offices: Iterable[str],
                         now: datetime | None = None) -> frozenset[str]:
    """For the policy's ``Facts``: the caller's own id when the caller is a lawyer the rota
    lists at one of ``offices`` within the duty window, else nothing (the only person the
    answer is asked about, so no other lawyer's duty is read)."""
    wanted = set(offices) - {""}
    if caller.role is not Role.LAWYER or not wanted or not caller.subject:
        return frozenset()
    first, last = duty_window_at(now or datetime.now(UTC))
    return frozenset(await on_duty_at(conn, wanted, first, last) & {caller.subject})
