"""The courts confirmation knows: level, seat, tribunal -> basic court, case code. Operators
load them from a file (personnel holds the organizations; it publishes no event for them).

    python -m services.confirmation.courts load COURTS.json

COURTS.json: [{"court_id": "...", "name": "通辽市科尔沁区人民法院", "region_code": "150502",
"level": "basic", "basic_court_id": "" (a tribunal's court), "jurisdiction_regions": [],
"case_code": ""}, ...]. Basic courts are written before their tribunals; a court loaded again
is updated. Every entry is checked as the domain checks a Court before anything is written."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

import asyncpg

from services.confirmation import store
from services.confirmation.domain.model import Court, CourtLevel


def parse_courts(doc: Any) -> list[Court]:
    if not isinstance(doc, list):
        raise ValueError("expected a list of courts")
    by_id: dict[str, Court] = {}
    pending = list(doc)
    while pending:
        progress = False
        for item in list(pending):
            basic_id = str(item.get("basic_court_id") or "")
            if basic_id and basic_id not in by_id:
                continue
            court = Court(court_id=str(item["court_id"]), name=str(item["name"]),
                          region_code=str(item["region_code"]), level=CourtLevel(item["level"]),
                          basic_court=by_id[basic_id] if basic_id else None,
                          jurisdiction_regions=tuple(item.get("jurisdiction_regions") or ()),
                          case_code=str(item.get("case_code") or ""))
            by_id[court.court_id] = court
            pending.remove(item)
            progress = True
        if not progress:
            raise ValueError(f"tribunals whose court is not in the file: {[i['court_id'] for i in pending]}")
    return list(by_id.values())


async def load_courts(conn: asyncpg.Connection, courts: Sequence[Court]) -> int:
    async with conn.transaction():
        for c in courts:
            await store.upsert_court(conn, c.court_id, c.name, c.region_code, c.level.value,
                                     c.basic_court.court_id if c.basic_court else None, c.jurisdiction_regions,
                                     c.case_code)
    return len(courts)


async def _main(path: str) -> int:
    from liandiao import db
    from liandiao.config import load_settings

    with open(path, encoding="utf-8") as f:
        courts = parse_courts(json.load(f))
    settings = load_settings("confirmation")
    pool = await db.create_pool(settings.database_url, "confirmation")
    try:
        async with pool.acquire() as conn:
            n = await load_courts(conn, courts)
    finally:
        await pool.close()
    print(f"{n} court(s) loaded")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "load":
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(asyncio.run(_main(sys.argv[2])))
