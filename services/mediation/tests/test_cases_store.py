"""Mediation against the real PostgreSQL: a case opens once on the mediator's
acceptance with its statutory deadline, and a deadline counted into a year whose
holidays were not loaded is counted again once they are."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from liandiao.auth import Claims, Role
from liandiao.common.v1 import common_pb2
from liandiao.events.consumer import ConsumedEvent
from liandiao.events.envelope import Envelope
from liandiao.legaltime import parse_calendar, shipped_calendar
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc.convert import timestamp
from services.mediation.app import Mediation

OPERATOR = Claims("op-1", "data-centre", Role.OPERATOR, ("15",))

pytestmark = pytest.mark.stack

# The 2027 New Year holiday as an operator would load it once the State Council publishes it.
WITH_2027 = parse_calendar({"format": 1, "years": {
    "2026": {"source": "国务院办公厅关于2026年部分节假日安排的通知",
             "holidays": [{"name": "元旦", "first": "2026-01-01", "last": "2026-01-03"}], "makeup_working_days": []},
    "2027": {"source": "test", "holidays": [{"name": "元旦", "first": "2027-01-01", "last": "2027-01-03"}],
             "makeup_working_days": []},
}})


def accepted(at: datetime, source=common_pb2.CASE_SOURCE_COURT_DELEGATION) -> ConsumedEvent:
    payload = routing_pb2.DisputeAssigned(dispute_id=str(uuid.uuid4()), region_code="150502", dispute_type="neighbours",
                                          source=source, mediator_id="m-1", accepted_at=timestamp(at))
    return ConsumedEvent(Envelope(str(uuid.uuid4()), "routing.dispute-assigned.v1", at, payload.dispute_id,
                                  "150502", "", ""), payload, "t")


@pytest.fixture
async def pool(service_pool):
    async with service_pool("mediation") as p:
        yield p


async def test_a_redelivered_acceptance_opens_one_case(pool):
    m = Mediation(pool, calendar=shipped_calendar())
    event = accepted(datetime(2026, 1, 5, 2, 0, tzinfo=UTC))
    for _ in range(2):
        async with pool.acquire() as conn, conn.transaction():
            await m.on_dispute_assigned(conn, event)
    case = await m.get(OPERATOR, dispute_id=event.payload.dispute_id)
    assert case.status == "open" and case.deadline_last_day == date(2026, 2, 4) and not case.deadline_provisional
    async with pool.acquire() as conn:
        assert await conn.fetchval("select count(*) from cases where dispute_id = $1", case.dispute_id) == 1


async def test_a_provisional_deadline_is_counted_again_once_next_years_holidays_are_loaded(pool):
    before = Mediation(pool, calendar=shipped_calendar())            # 2027 not loaded yet
    event = accepted(datetime(2026, 12, 2, 2, 0, tzinfo=UTC))         # day 30 is Fri 2027-01-01
    async with pool.acquire() as conn, conn.transaction():
        await before.on_dispute_assigned(conn, event)
    case = await before.get(OPERATOR, dispute_id=event.payload.dispute_id)
    assert case.deadline_last_day == date(2027, 1, 1) and case.deadline_provisional

    after = Mediation(pool, calendar=WITH_2027)                       # the operator loaded 2027, restarted
    assert await after.recompute_provisional_deadlines() >= 1
    case = await after.get(OPERATOR, dispute_id=event.payload.dispute_id)
    # Jan 1-3 2027 is a holiday: the last day rolls to Monday Jan 4 (CPL 2023 Art.85).
    assert case.deadline_last_day == date(2027, 1, 4) and not case.deadline_provisional
