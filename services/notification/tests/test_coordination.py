"""Coordination reminders: when each is due (China Standard Time, once per period, not sent
days late), the schedule's checks, and, against the real PostgreSQL, each liaison officer
reminded once per period in their county's name."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from liandiao.legaltime import CHINA_TZ
from liandiao.personnel.v1 import personnel_pb2 as pp
from services.notification import config
from services.notification.domain.coordination import Reminder, due, period_label, source_id
from services.notification.domain.routing import RoutingError, parse_routing
from services.notification.handlers import routed_keys
from services.notification.tests.test_case_events import CLERK, consume, n, person  # noqa: F401

CFG = config.load({})
MONTHLY, QUARTERLY, YEARLY = (Reminder("monthly-meeting", "month", 3, 9), Reminder("quarterly-analysis", "quarter", 5, 9),
                              Reminder("annual-summary", "year", 10, 9))


def cst(*args) -> datetime:
    return datetime(*args, tzinfo=CHINA_TZ)


@pytest.mark.parametrize(("reminder", "now", "expected"), [
    (MONTHLY, cst(2026, 12, 3, 8, 59), None),                         # a minute early: not yet
    (MONTHLY, cst(2026, 12, 3, 9, 0), cst(2026, 12, 3, 9)),
    (MONTHLY, cst(2026, 12, 4, 8, 59), cst(2026, 12, 3, 9)),           # within a day's grace
    (MONTHLY, cst(2026, 12, 4, 9, 1), None),                          # too late to send
    (MONTHLY, cst(2027, 1, 3, 9, 30), cst(2027, 1, 3, 9)),
    (QUARTERLY, cst(2026, 10, 5, 10), cst(2026, 10, 5, 9)),
    (QUARTERLY, cst(2026, 11, 5, 10), None),                          # not a quarter's first month
    (YEARLY, cst(2027, 1, 10, 9), cst(2027, 1, 10, 9)),
    (YEARLY, cst(2026, 12, 10, 9), None),
])
def test_when_a_reminder_is_due(reminder, now, expected):
    assert due(reminder, now) == expected


def test_the_period_a_reminder_is_about():
    assert period_label(MONTHLY, cst(2026, 12, 3, 9)) == "2026年12月"
    assert period_label(QUARTERLY, cst(2027, 1, 5, 9)) == "2026年第4季度"
    assert period_label(YEARLY, cst(2027, 1, 10, 9)) == "2026年度"
    assert source_id(MONTHLY, cst(2026, 12, 3, 9)) == source_id(MONTHLY, cst(2026, 12, 3, 9))
    assert source_id(MONTHLY, cst(2026, 12, 3, 9)) != source_id(MONTHLY, cst(2027, 1, 3, 9))


@pytest.mark.parametrize(("entry", "named"), [
    ({"name": "nope", "every": "month"}, r"coordination\[0\].name"),
    ({"name": "monthly-meeting", "every": "week"}, r"coordination\[0\].every"),
    ({"name": "monthly-meeting", "every": "month", "day": 31}, r"coordination\[0\].day"),
    ({"name": "monthly-meeting", "every": "month", "channels": ["fax"]}, r"coordination\[0\].channels"),
])
def test_a_bad_schedule_is_refused_naming_the_entry(entry, named):
    data = {"route": [{"event": "routing.dispute-assigned", "audience": "party", "channels": ["sms"],
                       "template": "dispute-assigned/party"}], "coordination": [entry]}
    with pytest.raises(RoutingError, match=named):
        parse_routing(data, templates=CFG.templates.names, known_events=routed_keys())


def test_the_shipped_schedule_has_the_three_reminders():
    assert [(r.name, r.every) for r in CFG.routing.coordination] == [
        ("monthly-meeting", "month"), ("quarterly-analysis", "quarter"), ("annual-summary", "year")]


async def test_each_liaison_officer_is_reminded_once_per_period(n):  # noqa: F811
    officers = [person(pp.ORGANIZATION_KIND_POLICE_STATION, "巴特尔", region="150502001"),
                person(pp.ORGANIZATION_KIND_JUDICIAL_OFFICE, "乌云", region="150502002")]
    await consume(n, *officers)
    at = cst(2026, 12, 3, 9, 30)
    assert await n.remind_coordination(at - timedelta(hours=1)) == 0      # before 09:00
    assert await n.remind_coordination(at) == 2
    assert await n.remind_coordination(at + timedelta(minutes=1)) == 0     # the next tick: already made
    rows = await n.pool.fetch("select recipient_id, region_code, body, body_masked, template from deliveries "
                              "where template = 'coordination/monthly-meeting' order by recipient_id")
    assert {r["recipient_id"] for r in rows} == {o.payload.person.person_id for o in officers}
    assert {r["region_code"] for r in rows} == {"150502"}
    body = next(r for r in rows if "巴特尔" in r["body"])
    assert "2026年12月例会" in body["body"] and "科尔沁区" in body["body"] and "巴特尔" not in body["body_masked"]
