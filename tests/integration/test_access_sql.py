"""The SQL form of the access policy keeps exactly the rows its Python form allows,
for every caller against every row: list queries filter in SQL by the same rule."""

from __future__ import annotations

import itertools

import pytest

from liandiao.access import Columns, Facts, Relation, visible_sql
from liandiao.auth import Role
from libs.tests.test_access import RULE, who

pytestmark = pytest.mark.stack

ROWS = [
    Facts(region, {Relation.HOLDER: frozenset({holder}), Relation.REFERRER: frozenset({ref} if ref else ()),
                   Relation.COURT: frozenset({court} if court else ()), Relation.MEDIATOR: frozenset(mediators)})
    for region, holder, ref, court, mediators in itertools.product(
        ["150502001", "150421", "110105"], ["C1", "C2"], ["P1", ""], ["T1", ""], [("m1",), ("m1", "m2"), ()])
]
CALLERS = [who(role, org, person, scope) for role, org, person, scope in itertools.product(
    [Role.CLERK, Role.POLICE, Role.COURT, Role.MEDIATOR, Role.OPERATOR, Role.LAWYER],
    ["C1", "P1", "T1", ""], ["m1", "m2", "z"], [("15",), ("1505",), ("150421",), ()])]
COLUMNS = Columns(region="region_code", related={Relation.HOLDER: "holder", Relation.REFERRER: "referrer",
                                                 Relation.COURT: "court", Relation.MEDIATOR: "mediators"},
                  arrays=frozenset({Relation.MEDIATOR}))


async def test_sql_and_python_agree_for_every_caller_and_row(pool):
    async with pool.acquire() as conn:
        await conn.execute("create table cases (id int, region_code text, holder text, referrer text, court text,"
                           " mediators text[])")
        await conn.executemany("insert into cases values ($1, $2, $3, $4, $5, $6)", [
            (i, f.region_code, *(next(iter(f.related[r]), None) for r in
                                  (Relation.HOLDER, Relation.REFERRER, Relation.COURT)),
             sorted(f.related[Relation.MEDIATOR])) for i, f in enumerate(ROWS)])
        for caller in CALLERS:
            for prefix in ("", "1505"):
                where, params = visible_sql(RULE, caller, COLUMNS, 1, region_prefix=prefix)
                got = {r["id"] for r in await conn.fetch(f"select id from cases where {where}", *params)}
                want = {i for i, f in enumerate(ROWS) if RULE.may_see(caller, f)
                        and (not prefix or f.region_code.startswith(prefix))}
                assert got == want, (caller, prefix, where)
