"""The duty rota: lawyers and legal-service workers serve at judicial offices and
police stations at least one day a week (DOMAIN §6, seeds). Weeks are ISO weeks,
Monday to Sunday, of China calendar days (liandiao.legaltime.chinatime). Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from liandiao.errors import FieldViolation, InvalidInput, RuleViolation, shown
from liandiao.legaltime import to_china_date
from services.personnel.domain.model import OrgKind, Role
from services.personnel.limits import DATES_PER_CALL, EARLIEST_YEAR, LATEST_YEAR, in_calendar

DUTY_OFFICE_KINDS = frozenset({OrgKind.JUDICIAL_OFFICE, OrgKind.POLICE_STATION})
DUTY_ROLES = frozenset({Role.LAWYER, Role.LEGAL_SERVICE_WORKER})
MAX_REPORT_WEEKS = 53          # one ISO year at most
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def next(self) -> IsoWeek:
        return week_of(self.monday + timedelta(days=7))


def week_of(day: date | datetime) -> IsoWeek:
    """The ISO week of a China calendar day; an instant is first taken to its China day
    (Sunday 23:30 in Beijing is still that week, though it is Sunday 15:30 UTC)."""
    y, w, _ = to_china_date(day).isocalendar()
    return IsoWeek(y, w)


def parse_week(field: str, text: str) -> IsoWeek:
    m = _WEEK.match(text.strip())
    if not m:
        raise InvalidInput(FieldViolation(field, f"an ISO week like 2026-W09, got {shown(text)}"))
    if not EARLIEST_YEAR <= int(m.group(1)) <= LATEST_YEAR:
        raise InvalidInput(FieldViolation(field, f"a week of the years {EARLIEST_YEAR} to {LATEST_YEAR}"))
    try:
        date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise InvalidInput(FieldViolation(field, f"{text.strip()} does not exist (weeks run 01 to 52, or 53 "
                                          "in a long ISO year)")) from None
    return IsoWeek(int(m.group(1)), int(m.group(2)))


def report_weeks(from_week: str, to_week: str) -> list[IsoWeek]:
    """Every week from ``from_week`` to ``to_week`` inclusive; raises InvalidInput."""
    start, end = parse_week("from_week", from_week), parse_week("to_week", to_week)
    if end < start:
        raise InvalidInput(FieldViolation("to_week", "comes before from_week"))
    weeks = [start]
    while weeks[-1] < end:
        weeks.append(weeks[-1].next())
        if len(weeks) > MAX_REPORT_WEEKS:
            raise InvalidInput(FieldViolation("to_week", f"at most {MAX_REPORT_WEEKS} weeks in one report"))
    return weeks


def uncovered(weeks: Sequence[IsoWeek], duty_days: Iterable[date]) -> list[IsoWeek]:
    """The weeks without a single duty day: one day in a week covers it (DOMAIN §6)."""
    covered = {week_of(d) for d in duty_days}
    return [w for w in weeks if w not in covered]


@dataclass(frozen=True)
class Office:
    organization_id: str
    name: str
    kind: OrgKind
    region_code: str


@dataclass(frozen=True)
class OfficeGap:
    office: Office
    uncovered: list[IsoWeek]
    covered: int


def coverage_gaps(offices: Sequence[Office], weeks: Sequence[IsoWeek],
                  duty_days: Mapping[str, Collection[date]]) -> list[OfficeGap]:
    """Offices (judicial offices and police stations only) with at least one week in
    which no lawyer or legal-service worker is on duty, by region code and name."""
    gaps = []
    for office in sorted(offices, key=lambda o: (o.region_code, o.name, o.organization_id)):
        if office.kind not in DUTY_OFFICE_KINDS:
            continue
        missing = uncovered(weeks, duty_days.get(office.organization_id, ()))
        if missing:
            gaps.append(OfficeGap(office, missing, len(weeks) - len(missing)))
    return gaps


def check_duty(roles: Collection[Role], office_kind: OrgKind, dates: Sequence[str]) -> list[date]:
    """The rota days of a SetDuty request; raises InvalidInput or RuleViolation."""
    bad: list[FieldViolation] = []
    days: list[date] = []
    if not dates:
        bad.append(FieldViolation("dates", "at least one date"))
    if len(dates) > DATES_PER_CALL:
        bad.append(FieldViolation("dates", f"at most {DATES_PER_CALL} dates in one call"))
    for i, text in enumerate(dates[:DATES_PER_CALL]):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            bad.append(FieldViolation(f"dates[{i}]", f"an ISO date like 2026-03-02, got {shown(text)}"))
            continue
        if not in_calendar(day):
            bad.append(FieldViolation(f"dates[{i}]", f"a day of the years {EARLIEST_YEAR} to {LATEST_YEAR}"))
        days.append(day)
    if bad:
        raise InvalidInput(bad)
    if not DUTY_ROLES & set(roles):
        raise RuleViolation("duty.lawyers-and-legal-service-workers",
                            "the duty rota is for lawyers and legal-service workers (DOMAIN §6)")
    if office_kind not in DUTY_OFFICE_KINDS:
        raise RuleViolation("duty.offices", f"duty is served at judicial offices and police stations, "
                            f"not at a {office_kind.value} (DOMAIN §6)")
    return sorted(set(days))
