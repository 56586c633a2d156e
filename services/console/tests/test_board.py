"""The supervisor's board as the console lays it out, with the statistics service replaced by a
fake that records what it was asked (the real one is in tests/browser): the period chosen in
China Standard Time, each figure with its formula and last year's value, "not available" never
shown as 0, the direction each figure moved, the ledger handed over as the service wrote it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from starlette.testclient import TestClient

from liandiao.personnel.v1 import personnel_pb2 as ppb
from liandiao.rpc.convert import timestamp
from liandiao.statistics.v1 import statistics_pb2 as spb
from services.console import config, users
from services.console.app import create_app
from services.console.pages import board

# ---- the period -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("now", "expected"), [
    (datetime(2026, 3, 31, 15, 59, tzinfo=UTC), "2026-Q1"),    # 23:59 CST on 31 March
    (datetime(2026, 3, 31, 16, 0, tzinfo=UTC), "2026-Q2"),     # 00:00 CST on 1 April
    (datetime(2026, 12, 31, 16, 30, tzinfo=UTC), "2027-Q1"),   # New Year in Beijing, not yet in UTC
    (datetime(2026, 7, 1, 0, 0, tzinfo=UTC), "2026-Q3"),
])
def test_the_default_is_the_current_quarter_in_china_standard_time(now, expected):
    assert str(board.current_quarter(now)) == expected
    assert board.chosen_period({}, now) == (board.current_quarter(now), True)


NOW = datetime(2026, 11, 15, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(("params", "expected", "understood"), [
    ({"kind": "year", "year": "2025"}, "2025", True),
    ({"kind": "quarter", "year": "2026", "quarter": "2"}, "2026-Q2", True),
    ({"kind": "month", "year": "2026", "month": "5"}, "2026-05", True),
    ({"period": "2025-Q4"}, "2025-Q4", True),
    ({"period": "2026-11"}, "2026-11", True),
    ({"kind": "quarter", "year": "2026", "quarter": "5"}, "2026-Q4", False),
    ({"kind": "month", "year": "2026", "month": "13"}, "2026-Q4", False),
    ({"kind": "week", "year": "2026"}, "2026-Q4", False),
    ({"kind": "year", "year": "1999"}, "2026-Q4", False),
    ({"kind": "year", "year": "twenty"}, "2026-Q4", False),
    ({"period": "2026-13"}, "2026-Q4", False),
    ({"period": "2026-Q2' or 1=1"}, "2026-Q4", False),
])
def test_a_chosen_period_or_the_current_quarter_and_whether_the_choice_was_read(params, expected, understood):
    period, ok = board.chosen_period(params, NOW)
    assert (str(period), ok) == (expected, understood)


# ---- the figures --------------------------------------------------------------------------------

def _value(value=None, num=0, den=0, note=""):
    if value is None:
        return spb.FigureValue(available=False, note=note)
    return spb.FigureValue(available=True, value=value, numerator=num, denominator=den, note=note)


def _figure(key, kind, goal, current, previous, change=None, source="platform"):
    return spb.Figure(key=key, label=key.upper(), kind=kind, goal=goal, formula=f"formula of {key}", source=source,
                      current=current, previous_year=previous, change_available=change is not None, change=change or 0)


RATE, COUNT = spb.FIGURE_KIND_RATE, spb.FIGURE_KIND_COUNT


@pytest.mark.parametrize(("goal", "current", "previous", "expected"), [
    (spb.GOAL_UP, 0.8, 0.6, "good"), (spb.GOAL_UP, 0.5, 0.6, "bad"), (spb.GOAL_UP, 0.6, 0.6, "flat"),
    (spb.GOAL_DOWN, 30, 40, "good"), (spb.GOAL_DOWN, 41, 40, "bad"),
    (spb.GOAL_DOWN, 3, 0, "bad"),          # up from zero: no percentage, still the wrong way
    (spb.GOAL_UP, 0.5, None, ""),          # nothing last year to compare with
    (spb.GOAL_UP, None, 0.5, ""),
    (spb.GOAL_UNSPECIFIED, 5, 3, ""),      # not a board figure: no desired direction
])
def test_whether_a_figure_moved_the_desired_way(goal, current, previous, expected):
    assert board.moved(goal, _value(current), _value(previous)) == expected


def test_a_figure_without_a_value_has_no_text_and_keeps_its_reason():
    gettext = lambda s: s  # noqa: E731
    row = board.figure_row(_figure("mediation_success_rate", RATE, spb.GOAL_UP, _value(note="denominator is zero"),
                                   _value(0.75, 3, 4)), gettext)
    assert row.current == board.Shown(None, "denominator is zero")
    assert row.previous.text == "75.0%（3/4）" and row.change is None and row.moved == ""
    assert board.figure_row(_figure("police_cases", COUNT, spb.GOAL_DOWN, _value(1234), _value(1000), 0.234),
                            gettext).change == "+23.4%"


def test_chart_series_leave_a_figure_without_a_value_out_rather_than_draw_zero():
    groups = [spb.FigureGroup(key="150502", label="科尔沁区", figures=[
                  _figure("disputes", COUNT, 0, _value(7), _value(5)),
                  _figure("mediation_success_rate", RATE, 0, _value(), _value())]),
              spb.FigureGroup(key="150521", label="科左中旗", figures=[_figure("disputes", COUNT, 0, _value(0), _value(2))])]
    assert board.chart_series(groups, ["disputes", "mediation_success_rate"]) == {
        "labels": ["科尔沁区", "科左中旗"], "series": {"disputes": [7, 0], "mediation_success_rate": [None, None]}}


# ---- the pages, with a fake statistics service ---------------------------------------------------

class FakeStatistics:
    def __init__(self):
        self.asked: list = []

    async def GetBoard(self, request):
        self.asked.append(request)
        return spb.Board(
            region_code=request.region_code, region_name="通辽市", period=request.period, previous_period="2025-Q2",
            period_start=timestamp(datetime(2026, 3, 31, 16, tzinfo=UTC)), period_end=timestamp(datetime(2026, 6, 30, 16, tzinfo=UTC)),
            three_up=[_figure("mediation_success_rate", RATE, spb.GOAL_UP, _value(note="denominator is zero"),
                              _value(0.5, 1, 2))],
            three_down=[_figure("police_cases", COUNT, spb.GOAL_DOWN, _value(12), _value(20), -0.4, source="police"),
                        _figure("petitions", COUNT, spb.GOAL_DOWN, _value(note="2 of 3 months reported"), _value(9),
                                source="petition")],
            figures=[_figure("disputes", COUNT, 0, _value(31), _value(25), 0.24)])

    async def GetFigures(self, request):
        self.asked.append(request)
        return spb.GetFiguresResponse(groups=[spb.FigureGroup(key="150502", label="科尔沁区", figures=[
            _figure("disputes", COUNT, 0, _value(31), _value(25)),
            _figure("mediation_success_rate", RATE, spb.GOAL_UP, _value(), _value())])])

    async def ExportLedger(self, request):
        self.asked.append(request)
        return spb.ExportLedgerResponse(content=b"\xef\xbb\xbfdispute,registered\n", filename="ledger-o-1-2026-Q2.csv",
                                        media_type="text/csv; charset=utf-8", rows=1)


class FakePersonnel:
    async def ListOrganizations(self, request):
        if request.kind != ppb.ORGANIZATION_KIND_JUDICIAL_OFFICE:
            return ppb.ListOrganizationsResponse()
        return ppb.ListOrganizationsResponse(organizations=[ppb.Organization(organization_id="o-1", name="大林司法所")])


class FakeBackend:
    def __init__(self):
        self.statistics, self.tokens = FakeStatistics(), []

    def open(self):
        pass

    async def close(self):
        pass

    def as_person(self, token):
        self.tokens.append(token)
        return SimpleNamespace(statistics=self.statistics, personnel=FakePersonnel())


@pytest.fixture
def client(tmp_path):
    people = tmp_path / "users.json"
    users.write(people, [users.DemoUser("supervisor-1505", "通辽市司法局 · 督导", "supervisor", "s-1", "bureau", ("1505",)),
                         users.DemoUser("mediator-1", "调解员", "mediator", "m-1", "c-1", ("1505",))])
    backend = FakeBackend()
    with TestClient(create_app(config.load({"LIANDIAO_CONSOLE_DEMO_USERS": str(people)}), backend)) as c:
        c.backend = backend
        yield c


def _sign_in(c, user):
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/sign-in").text).group(1)
    return c.post("/sign-in", data={"csrf": token, "user": user, "next": "/"}, follow_redirects=False)


def _row(html: str, key: str) -> str:
    return re.search(rf'<tr data-figure="{key}".*?</tr>', html, re.S).group(0)


def test_the_supervisor_lands_on_the_board_of_their_region_for_the_period_chosen(client):
    assert _sign_in(client, "supervisor-1505").status_code == 303
    home = client.get("/", follow_redirects=False)
    assert home.headers["location"] == "/board"
    page = client.get("/board?kind=quarter&year=2026&quarter=2")
    assert page.status_code == 200
    asked = client.backend.statistics.asked
    assert {(r.region_code, r.period) for r in asked} == {("1505", "2026-Q2")}
    assert {r.breakdown for r in asked if isinstance(r, spb.GetFiguresRequest)} == {
        spb.BREAKDOWN_SUBREGION, spb.BREAKDOWN_DISPUTE_TYPE, spb.BREAKDOWN_SOURCE}
    assert all(t == client.backend.tokens[0] for t in client.backend.tokens)     # the person's own token
    html = page.text
    assert "统计服务尚未接入" not in html
    assert "2026-04-01 00:00 起，至 2026-07-01 00:00 前" in html
    rate = _row(html, "mediation_success_rate")
    now_cell = re.search(r'<td class="current">(.*?)</td>', rate, re.S).group(1)
    assert "无数据" in now_cell and "denominator is zero" in now_cell and "%" not in now_cell
    assert "formula of mediation_success_rate" in rate and "50.0%（1/2）" in rate
    police = _row(html, "police_cases")
    assert 'data-moved="good"' in police and "-40.0%" in police and "公安机关报送" in police
    assert "2 of 3 months reported" in _row(html, "petitions")
    assert 'data-region="150502"' in html and "/static/vendor/echarts.min.js" in html
    assert '<option value="o-1">大林司法所</option>' in html


def test_a_period_that_cannot_be_read_shows_the_current_quarter_and_says_so(client):
    _sign_in(client, "supervisor-1505")
    page = client.get("/board?kind=month&year=2026&month=13")
    assert page.status_code == 200 and 'id="period-problem"' in page.text
    now = board.current_quarter(datetime.now(UTC))
    assert {r.period for r in client.backend.statistics.asked} == {str(now)}


def test_the_ledger_downloads_as_the_statistics_service_wrote_it(client):
    _sign_in(client, "supervisor-1505")
    r = client.get("/board/ledger?organization_id=o-1&period=2026-Q2&format=csv&region=1505")
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbfdispute")
    assert r.headers["content-disposition"] == 'attachment; filename="ledger-o-1-2026-Q2.csv"'
    (asked,) = client.backend.statistics.asked
    assert (asked.organization_id, asked.period, asked.format) == ("o-1", "2026-Q2", spb.LEDGER_FORMAT_CSV)
    missing = client.get("/board/ledger?organization_id=o-1&period=2026-Q2&format=pdf&region=1505",
                         follow_redirects=False)
    assert missing.status_code == 303 and "problem=ledger" in missing.headers["location"]
    assert len(client.backend.statistics.asked) == 1


def test_a_mediator_may_not_open_the_board(client):
    _sign_in(client, "mediator-1")
    assert client.get("/board").status_code == 403
    assert client.get("/board/ledger?organization_id=o-1&format=csv").status_code == 403
    assert client.backend.statistics.asked == []


def test_the_roll_up_leads_down_within_the_persons_scope_and_never_outside_it(client):
    _sign_in(client, "supervisor-1505")
    assert 'href="/board?region=150502&amp;period=' in client.get("/board?period=2026-Q2").text
    client.backend.statistics.asked.clear()
    client.get("/board?region=150502&period=2026-Q2")
    client.get("/board?region=150102&period=2026-Q2")     # Hohhot: not the supervisor's
    assert [r.region_code for r in client.backend.statistics.asked if isinstance(r, spb.GetBoardRequest)] == [
        "150502", "1505"]


async def test_the_seeded_users_include_a_supervisor_of_each_prefecture_and_the_fallback_one():
    from liandiao.devtools.province import County, Province
    from liandiao.ids import lookup

    class NoMediators:
        async def ListPeople(self, request, metadata=None):
            return ppb.ListPeopleResponse()

    prov = Province(counties=[County(division=lookup("150502")), County(division=lookup("150102"))])
    people = await users.users_for_province(NoMediators(), (), prov)
    supervisors = {u.key: u for u in people if u.role == "supervisor"}
    assert set(supervisors) == {"supervisor-1501", "supervisor-1505"}
    assert supervisors["supervisor-1505"].regions == ("1505",) and "通辽市" in supervisors["supervisor-1505"].label
    assert supervisors["supervisor-1505"].claims().role.value == "supervisor"
    assert [u.regions for u in users.FALLBACK if u.role == "supervisor"] == [("15",)]
