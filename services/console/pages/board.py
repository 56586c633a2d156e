"""The supervisor's statistics board (三升三降) and the ledger (台账) export, made of the
statistics service's answers (protos/liandiao/statistics/v1) for the signed-in person's own
region and the period they pick: a year, a quarter or a month in China Standard Time, the
current quarter by default. Each figure is shown with its formula, the same period of the
previous year, and whether it moved the way the coordination group wants (up for the three
rates, down for the three counts); a figure without a value says so and why ("not available",
never 0). Below: the roll-up one level down and the split by dispute type and by source, drawn
with Apache ECharts from the console's own static files. The statistics service decides who
may read which region (services/statistics/access.py); the console only offers what it may."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from liandiao.ids import lookup
from liandiao.legaltime import CHINA_TZ
from liandiao.personnel.v1 import personnel_pb2 as ppb
from liandiao.statistics.v1 import statistics_pb2 as spb
from services.console import i18n, present
from services.console.backend import Caller
from services.console.present import N_
from services.console.session import User
from services.console.web import locale_of, page, render

READERS = ("supervisor", "operator")
KINDS = ("year", "quarter", "month")
FIRST_YEAR, LAST_YEAR = 2000, 2100
YEARS_OFFERED = 6
_FORM = re.compile(r"^(\d{4})(?:-(Q[1-4]|\d{2}))?$")
# The roll-up chart: the counts of each subdivision side by side (the rates are in its table).
ROLLUP_SERIES = (("disputes", N_("登记纠纷")), ("mediated", N_("调结")), ("successful", N_("调解成功")),
                 ("valid_rulings", N_("确认有效裁定")))
ROLLUP_COLUMNS = ("disputes", "mediated", "successful", "mediation_success_rate", "applications",
                  "confirmation_rate", "overdue")
LEDGER_FORMATS = {"xlsx": spb.LEDGER_FORMAT_XLSX, "csv": spb.LEDGER_FORMAT_CSV}
# The offices whose ledger an inspection asks for: those that hold cases or refer them.
LEDGER_KINDS = (ppb.ORGANIZATION_KIND_JUDICIAL_OFFICE, ppb.ORGANIZATION_KIND_MEDIATION_COMMITTEE,
                ppb.ORGANIZATION_KIND_POLICE_STATION, ppb.ORGANIZATION_KIND_BASIC_COURT,
                ppb.ORGANIZATION_KIND_PEOPLES_TRIBUNAL)


# ---- the period ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """A calendar period as the statistics service writes it: "2026", "2026-Q2", "2026-05"."""
    kind: str
    year: int
    number: int = 0    # the quarter or the month; 0 for a year

    def __str__(self) -> str:
        if self.kind == "year":
            return f"{self.year:04d}"
        if self.kind == "quarter":
            return f"{self.year:04d}-Q{self.number}"
        return f"{self.year:04d}-{self.number:02d}"


def current_quarter(now: datetime) -> Period:
    """The quarter ``now`` falls in, in China Standard Time (1 April 00:30 CST is Q2, though
    it is still 31 March in UTC)."""
    local = now.astimezone(CHINA_TZ)
    return Period("quarter", local.year, (local.month - 1) // 3 + 1)


def parse_period(text: str) -> Period | None:
    found = _FORM.match(text.strip())
    if not found or not FIRST_YEAR <= int(found.group(1)) <= LAST_YEAR:
        return None
    year, part = int(found.group(1)), found.group(2)
    if part is None:
        return Period("year", year)
    if part.startswith("Q"):
        return Period("quarter", year, int(part[1]))
    return Period("month", year, int(part)) if 1 <= int(part) <= 12 else None


def chosen_period(params, now: datetime) -> tuple[Period, bool]:
    """The period the form asks for (kind, year, and quarter or month; or "period" written out),
    and whether what was asked could be read; anything else is the current quarter."""
    default = current_quarter(now)
    if params.get("period"):
        found = parse_period(params["period"])
        return (found, True) if found else (default, False)
    kind = params.get("kind", "")
    if not kind:
        return default, True
    try:
        year = int(params.get("year") or default.year)
        number = int(params.get(kind) or 0) if kind != "year" else 0
    except ValueError:
        return default, False
    if kind not in KINDS or not FIRST_YEAR <= year <= LAST_YEAR:
        return default, False
    if (kind == "quarter" and not 1 <= number <= 4) or (kind == "month" and not 1 <= number <= 12):
        return default, False
    return Period(kind, year, number), True


# ---- the figures as a person reads them -----------------------------------------------------------

@dataclass(frozen=True)
class Shown:
    """One value as shown: its text, or None when the figure has no value (with the reason)."""
    text: str | None
    note: str = ""
    value: float | None = None


@dataclass(frozen=True)
class FigureRow:
    key: str
    label: str
    formula: str
    source: str
    goal: str               # "up", "down" or ""
    current: Shown
    previous: Shown
    change: str | None      # "+12.5%", or None when there is nothing to compare
    moved: str              # "good" (the desired way), "bad", "flat", or "" (cannot tell)


_UNITS = {spb.FIGURE_KIND_DAYS: N_("天"), spb.FIGURE_KIND_HOURS: N_("小时")}


def shown(kind: int, v: spb.FigureValue, gettext) -> Shown:
    if not v.available:
        return Shown(None, v.note)
    if kind == spb.FIGURE_KIND_RATE:
        return Shown(f"{v.value * 100:.1f}%（{v.numerator}/{v.denominator}）", v.note, v.value)
    if kind in _UNITS:
        return Shown(f"{v.value:.1f} {gettext(_UNITS[kind])}", v.note, v.value)
    if kind == spb.FIGURE_KIND_AMOUNT:
        return Shown(present.money(int(v.value)), v.note, v.value)
    return Shown(f"{int(v.value):,}", v.note, v.value)


def moved(goal: int, current: spb.FigureValue, previous: spb.FigureValue) -> str:
    """Whether the figure moved the desired way since the same period last year, from the two
    values themselves (a change from zero has no percentage but still has a direction)."""
    if goal not in (spb.GOAL_UP, spb.GOAL_DOWN) or not (current.available and previous.available):
        return ""
    if current.value == previous.value:
        return "flat"
    return "good" if (current.value > previous.value) == (goal == spb.GOAL_UP) else "bad"


def figure_row(f: spb.Figure, gettext) -> FigureRow:
    goal = {spb.GOAL_UP: "up", spb.GOAL_DOWN: "down"}.get(f.goal, "")
    return FigureRow(f.key, f.label, f.formula, f.source, goal, shown(f.kind, f.current, gettext),
                     shown(f.kind, f.previous_year, gettext),
                     f"{f.change * 100:+.1f}%" if f.change_available else None, moved(f.goal, f.current, f.previous_year))


def chart_series(groups, keys) -> dict:
    """ECharts' data for groups (subregions, types, sources): their labels and, per figure
    key, the current values (null where a figure has no value, so no bar is drawn as 0)."""
    labels = [g.label for g in groups]
    series = {}
    for key in keys:
        values = []
        for g in groups:
            f = next((x for x in g.figures if x.key == key), None)
            values.append(f.current.value if f is not None and f.current.available else None)
        series[key] = values
    return {"labels": labels, "series": series}


def region_choices(user: User) -> list[tuple[str, str]]:
    """The regions of the person's own scope, by code and name."""
    out = []
    for code in user.regions:
        d = lookup(code)
        out.append((code, d.name if d else code))
    return out


def region_of(user: User, asked: str) -> str:
    """The region asked for when it lies within the person's scope (a subdivision reached from
    the roll-up, "150502" inside "1505"), else their first own region. The statistics service
    checks the scope again; this only keeps the page from asking for what it cannot have."""
    own = [c for c, _ in region_choices(user)]
    if asked.isdigit() and lookup(asked) is not None and any(asked.startswith(c) for c in own):
        return lookup(asked).code   # type: ignore[union-attr]
    return own[0] if own else ""


def _locale(request: Request) -> str:
    return "en" if locale_of(request) == "en" else "zh-CN"


async def _offices(caller: Caller, region: str) -> list[ppb.Organization]:
    listed = await asyncio.gather(*(caller.personnel.ListOrganizations(ppb.ListOrganizationsRequest(
        region_prefix=region, kind=kind, page={"page_size": 100})) for kind in LEDGER_KINDS))
    return [o for answer in listed for o in answer.organizations]


@page(*READERS)
async def board(request: Request, user: User, caller: Caller) -> Response:
    gettext = i18n.translations(locale_of(request)).gettext
    params = request.query_params
    period, understood = chosen_period(params, datetime.now(UTC))
    region = region_of(user, params.get("region", ""))
    locale = _locale(request)
    figures = lambda breakdown: caller.statistics.GetFigures(spb.GetFiguresRequest(  # noqa: E731
        region_code=region, period=str(period), breakdown=breakdown, locale=locale))
    has_subregions = len(region) < 9    # a township's villages are the last level the board splits
    answers = await asyncio.gather(
        caller.statistics.GetBoard(spb.GetBoardRequest(region_code=region, period=str(period), locale=locale)),
        figures(spb.BREAKDOWN_DISPUTE_TYPE), figures(spb.BREAKDOWN_SOURCE),
        *([figures(spb.BREAKDOWN_SUBREGION)] if has_subregions else []), _offices(caller, region))
    b, by_type, by_source = answers[0], answers[1], answers[2]
    subregions = answers[3] if has_subregions else None
    offices = answers[-1]
    rollup = [(g, {f.key: figure_row(f, gettext) for f in g.figures}) for g in (subregions.groups if subregions else [])]
    charts = {
        "rollup": chart_series(subregions.groups if subregions else [], [k for k, _ in ROLLUP_SERIES]),
        "rollup_names": {k: gettext(label) for k, label in ROLLUP_SERIES},
        "types": chart_series(by_type.groups, ["disputes"]),
        "sources": chart_series(by_source.groups, ["disputes"]),
    }
    today = datetime.now(UTC).astimezone(CHINA_TZ)
    years = list(range(today.year, max(FIRST_YEAR, today.year - YEARS_OFFERED) - 1, -1))
    return render(request, "board.html", board=b, period=period, understood=understood, region=region,
                  regions=region_choices(user), years=years,
                  three_up=[figure_row(f, gettext) for f in b.three_up],
                  three_down=[figure_row(f, gettext) for f in b.three_down],
                  others=[figure_row(f, gettext) for f in b.figures], rollup=rollup, rollup_columns=ROLLUP_COLUMNS,
                  charts=json.dumps(charts, ensure_ascii=False), offices=offices,
                  problem=request.query_params.get("problem", ""))


@page(*READERS)
async def ledger(request: Request, user: User, caller: Caller) -> Response:
    """The ledger of one office for the period, as the statistics service writes it (xlsx or
    CSV, personal data masked); the office must be of the person's region (the service checks)."""
    params = request.query_params
    period, understood = chosen_period(params, datetime.now(UTC))
    kind = LEDGER_FORMATS.get(params.get("format", ""))
    office = params.get("organization_id", "").strip()
    back_to = f"/board?period={quote(str(period))}&region={quote(params.get('region', ''))}"
    if kind is None or not office or not understood:
        return _back(back_to, "ledger")
    answer = await caller.statistics.ExportLedger(spb.ExportLedgerRequest(
        organization_id=office, period=str(period), format=kind))
    return Response(answer.content, media_type=answer.media_type, headers={
        "content-disposition": f'attachment; filename="{answer.filename}"', "cache-control": "no-store",
        "x-ledger-rows": str(answer.rows)})


def _back(url: str, problem: str) -> Response:
    return RedirectResponse(f"{url}&problem={problem}#ledger", status_code=303)
