"""A realistic province for the demo and the end-to-end tests: the offices of
each county of the chosen prefectures (from the shipped division codes), their
people, rosters and duty rota, and disputes of every channel. Deterministic for
a given seed (and, for the rota, a given ``today``).

``seed_province`` talks to PersonnelService over gRPC only; ``python -m
liandiao.devtools.seed`` is its command line."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from liandiao.common.v1 import common_pb2 as c
from liandiao.ids import Division, check_character, children, credit_code_check_character, lookup
from liandiao.intake.v1 import intake_pb2 as i
from liandiao.legaltime import to_china_date
from liandiao.personnel.v1 import personnel_pb2 as p
from liandiao.reference import dispute_types
from liandiao.rpc.convert import timestamp

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗包白乌那"
GIVEN = ["建国", "秀英", "桂兰", "志强", "海燕", "春梅", "宝音", "乌云", "其其格", "巴特尔", "立新", "丽娟",
         "文华", "玉兰", "明", "静", "磊", "娜仁", "敖登", "振华"]
# How often each type comes in at a county in this region (rough shares).
TYPE_WEIGHTS = {"neighbours": 18, "marriage_family": 16, "housing_homestead": 10, "contract": 10, "damages": 9,
                "forest_land": 8, "labour": 7, "traffic_accident": 6, "consumer": 4, "property_management": 3,
                "production_business": 3, "land_requisition": 2, "medical": 2, "inheritance": 1, "village_affairs": 1}
# Sector committees (行业性专业性) the seed sets up, one per county in turn, with the dispute type each serves.
SECTORS = [("traffic", "traffic_accident", "道路交通事故"), ("labour", "labour", "劳动争议"),
           ("family", "marriage_family", "婚姻家庭"), ("medical", "medical", "医疗纠纷")]
FIRM_NAMES = ["正义", "公信", "北疆", "草原", "明德", "金桥", "蒙科", "信达"]
# Share of office-weeks the seeded rota covers: "most", so a coverage report has something to show.
ROTA_COVERAGE = 0.9
LAWYERS_PER_FIRM = 1


@dataclass
class County:
    division: Division
    judicial_office: str = ""
    police_station: str = ""
    tribunal: str = ""
    committees: list[str] = field(default_factory=list)    # township committees, one per township
    townships: list[Division] = field(default_factory=list)
    basic_court: str = ""
    law_firm: str = ""
    legal_service_office: str = ""
    sector_committee: str = ""                              # set when mediators_per_county >= 8
    liaison_officers: dict[str, str] = field(default_factory=dict)   # office id -> person id
    lawyers: list[str] = field(default_factory=list)        # lawyers and legal-service workers


@dataclass
class Province:
    counties: list[County] = field(default_factory=list)
    mediators: list[str] = field(default_factory=list)
    lawyers: list[str] = field(default_factory=list)        # lawyers and legal-service workers
    liaison_officers: list[str] = field(default_factory=list)
    rota_weeks: list[str] = field(default_factory=list)     # ISO weeks the seeded rota spans
    # (office id, ISO week) the rota leaves without a lawyer or legal-service worker
    uncovered: list[tuple[str, str]] = field(default_factory=list)
    # person-changed events the seed caused (a projection waits for this many)
    person_events: int = 0


def resident_id(rng: random.Random, region: str, born: date, male: bool) -> str:
    seq = rng.randrange(0, 499) * 2 + (1 if male else 0)
    first17 = f"{region[:6]}{born:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"


def credit_code(rng: random.Random, prefix: str, region: str) -> str:
    """A valid GB 32100-2015 code: prefix (31 law firm, 33 legal-service office), the
    registering region, a 9-digit organisation code and the check character."""
    first17 = f"{prefix}{region[:6]}{rng.randrange(10**8):08d}{rng.randrange(10)}"
    return first17 + credit_code_check_character(first17)


def lawyer_licence(rng: random.Random, region: str) -> str:
    """17 digits (DOMAIN §8): issuing region(4) year of first licence(4) and a serial."""
    return f"{region[:4]}{rng.randint(1995, 2024)}{rng.randrange(10**9):09d}"


T = TypeVar("T")


async def _bounded(calls: Iterable[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    """Runs the calls at most ``limit`` at a time; results in the calls' order."""
    sem = asyncio.Semaphore(limit)

    async def run(call: Callable[[], Awaitable[T]]) -> T:
        async with sem:
            return await call()
    return await asyncio.gather(*(run(call) for call in calls))


async def seed_province(personnel, meta, prefectures: list[str], seed: int = 7,
                        mediators_per_county: int = 12, townships_per_county: int = 3, *,
                        today: date | None = None, rota_weeks: int = 8, concurrency: int = 24) -> Province:
    """Creates, through PersonnelService, every county of ``prefectures``: its basic
    court and tribunal, judicial office and police station (each with a liaison
    officer), township committees (and a sector committee), a law firm and a
    legal-service office with their lawyers and legal-service workers on a duty rota
    covering most office-weeks of ``rota_weeks`` weeks from ``today``, the mediators,
    and the basic court's roster. Returns what it made, for the dispute generator.

    Mediators are created first and everything else after them, so a projection of
    the roster that counts ``len(mediators)`` events has the mediators first."""
    rng = random.Random(seed)
    extra = random.Random(seed + 1)   # everything beyond the mediators: their draws stay as they were
    province = Province()
    counties = [County(d, townships=list(children(d.code))[:townships_per_county])
                for prefecture in prefectures for d in children(prefecture)]
    province.counties = counties

    def call(method: Any, request: Any) -> Callable[[], Awaitable[Any]]:
        return lambda: method(request, metadata=meta)

    # Drawn here, in county order, so that the order in which the calls finish does not matter.
    codes = [(credit_code(extra, "31", c.division.code), credit_code(extra, "33", c.division.code)) for c in counties]
    await _bounded([partial(_offices, personnel, meta, county, n, codes[n], mediators_per_county)
                    for n, county in enumerate(counties)], max(concurrency // 2, 1))

    # The mediators: their draws from ``rng`` in the same order as ever.
    types = list(TYPE_WEIGHTS)
    requests = []
    for n_county, county in enumerate(counties):
        for n in range(mediators_per_county):
            # Most mediators sit on a township committee and cover that township;
            # a few at the judicial office cover the whole county.
            at_town = bool(county.townships) and n % 4 != 0
            town_index = n % len(county.townships) if at_town else 0
            org = county.committees[town_index] if at_town else county.judicial_office
            coverage = county.townships[town_index].code if at_town else county.division.code
            # County-office mediators are generalists; committee members specialise.
            specialties = rng.sample(types, k=rng.randint(8, 12) if not at_town else rng.randint(3, 7))
            name = person_name(rng)
            languages = ["zh", "mn"] if rng.random() < 0.3 else ["zh"]
            phone = mobile(rng)
            if county.sector_committee and n == mediators_per_county - 1:
                # The last one sits on the county's sector committee and covers the county.
                sector_type = SECTORS[n_county % len(SECTORS)][1]
                org, coverage = county.sector_committee, county.division.code
                specialties = [sector_type, *(t for t in specialties if t != sector_type)]
            requests.append(p.CreatePersonRequest(
                name=name, organization_id=org, roles=[p.ROLE_MEDIATOR], specialties=specialties,
                languages=languages, region_codes=[coverage], phone=phone, on_duty=True))
    made = await _bounded([call(personnel.CreatePerson, r) for r in requests], concurrency)
    province.mediators = [m.person_id for m in made]
    province.person_events += len(made)

    by_org: dict[str, list[p.Person]] = {}
    for r, m in zip(requests, made, strict=True):
        by_org.setdefault(r.organization_id, []).append(m)

    people = [_people(county, extra) for county in counties]
    made = await _bounded([call(personnel.CreatePerson, r) for batch in people for r in batch], concurrency)
    for county, batch in zip(counties, people, strict=True):
        mine, made = made[:len(batch)], made[len(batch):]
        county.liaison_officers = {r.organization_id: m.person_id for r, m in zip(batch, mine, strict=True)
                                   if p.ROLE_LIAISON_OFFICER in r.roles}
        county.lawyers = [m.person_id for r, m in zip(batch, mine, strict=True) if p.ROLE_LIAISON_OFFICER not in r.roles]
    for county in counties:
        province.lawyers += county.lawyers
        province.liaison_officers += county.liaison_officers.values()
        province.person_events += len(county.lawyers) + len(county.liaison_officers)

    today = today or to_china_date(datetime.now(UTC))
    weeks = [today + timedelta(weeks=k) for k in range(rota_weeks)]
    province.rota_weeks = [_iso_week(d) for d in weeks]
    duty_calls, uncovered = _rota(counties, weeks, extra)
    province.uncovered = uncovered
    await _bounded([call(personnel.SetDuty, r) for r in duty_calls], concurrency)
    province.person_events += len(duty_calls)

    roster_calls = _roster(counties, by_org, extra)
    await _bounded([call(personnel.AddToRoster, r) for r in roster_calls], concurrency)
    province.person_events += sum(1 for r in roster_calls if r.person_id)
    return province


def _iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


async def _offices(personnel, meta, county: County, n_county: int, codes: tuple[str, str],
                   mediators_per_county: int) -> None:
    """The county's organizations: parents first, then what hangs under them."""
    new = personnel.CreateOrganization
    d = county.division
    firm_code, lso_code = codes
    firm_name = FIRM_NAMES[n_county % len(FIRM_NAMES)]
    court, office, station, firm, lso = await asyncio.gather(
        new(p.CreateOrganizationRequest(kind=p.ORGANIZATION_KIND_BASIC_COURT, name=f"{d.name}人民法院",
                                        region_code=d.code), metadata=meta),
        new(p.CreateOrganizationRequest(kind=p.ORGANIZATION_KIND_JUDICIAL_OFFICE, name=f"{d.name}司法所",
                                        region_code=d.code), metadata=meta),
        new(p.CreateOrganizationRequest(kind=p.ORGANIZATION_KIND_POLICE_STATION, name=f"{d.name}公安局城关派出所",
                                        region_code=d.code), metadata=meta),
        new(p.CreateOrganizationRequest(kind=p.ORGANIZATION_KIND_LAW_FIRM, name=f"内蒙古{firm_name}律师事务所{d.name}分所",
                                        region_code=d.code, credit_code=firm_code), metadata=meta),
        new(p.CreateOrganizationRequest(kind=p.ORGANIZATION_KIND_LEGAL_SERVICE_OFFICE, name=f"{d.name}城关法律服务所",
                                        region_code=d.code, credit_code=lso_code), metadata=meta),
    )
    county.basic_court, county.judicial_office, county.police_station = (
        court.organization_id, office.organization_id, station.organization_id)
    county.law_firm, county.legal_service_office = firm.organization_id, lso.organization_id
    below = [new(p.CreateOrganizationRequest(
        kind=p.ORGANIZATION_KIND_PEOPLES_TRIBUNAL, name=f"{d.name}人民法院城区人民法庭", region_code=d.code,
        parent_organization_id=court.organization_id), metadata=meta)]
    below += [new(p.CreateOrganizationRequest(
        kind=p.ORGANIZATION_KIND_MEDIATION_COMMITTEE, name=f"{town.name}人民调解委员会", region_code=town.code,
        committee_level=p.COMMITTEE_LEVEL_TOWNSHIP, parent_organization_id=office.organization_id), metadata=meta)
        for town in county.townships]
    if mediators_per_county >= 8:
        sector, _, zh = SECTORS[n_county % len(SECTORS)]
        below.append(new(p.CreateOrganizationRequest(
            kind=p.ORGANIZATION_KIND_MEDIATION_COMMITTEE, name=f"{d.name}{zh}人民调解委员会", region_code=d.code,
            committee_level=p.COMMITTEE_LEVEL_SECTOR, sector=sector, parent_organization_id=office.organization_id),
            metadata=meta))
    made = await asyncio.gather(*below)
    county.tribunal = made[0].organization_id
    county.committees = [m.organization_id for m in made[1:1 + len(county.townships)]]
    if mediators_per_county >= 8:
        county.sector_committee = made[-1].organization_id


def _people(county: County, rng: random.Random) -> list[p.CreatePersonRequest]:
    """The liaison officers of the judicial office, police station and tribunal, and
    the lawyers and legal-service workers of the law firm and legal-service office."""
    d = county.division
    liaisons = [(county.judicial_office, [p.ROLE_CLERK, p.ROLE_LIAISON_OFFICER]),
                (county.police_station, [p.ROLE_POLICE_OFFICER, p.ROLE_LIAISON_OFFICER]),
                (county.tribunal, [p.ROLE_CLERK, p.ROLE_LIAISON_OFFICER])]
    requests = [p.CreatePersonRequest(name=person_name(rng), organization_id=org, roles=roles, phone=mobile(rng),
                                      region_codes=[d.code], languages=["zh"], on_duty=True)
                for org, roles in liaisons]
    specialties = ["contract", "labour", "damages", "production_business", "housing_homestead"]
    requests += [p.CreatePersonRequest(
        name=person_name(rng), organization_id=county.law_firm, roles=[p.ROLE_LAWYER], phone=mobile(rng),
        region_codes=[d.code], specialties=rng.sample(specialties, k=3),
        languages=["zh", "mn"] if rng.random() < 0.25 else ["zh"], on_duty=True,
        lawyer_licence_number=lawyer_licence(rng, d.code)) for _ in range(LAWYERS_PER_FIRM)]
    requests.append(p.CreatePersonRequest(
        name=person_name(rng), organization_id=county.legal_service_office, roles=[p.ROLE_LEGAL_SERVICE_WORKER],
        phone=mobile(rng), region_codes=[t.code for t in county.townships] or [d.code],
        specialties=rng.sample(specialties, k=2), languages=["zh"], on_duty=True))
    return requests


def _rota(counties: list[County], weeks: list[date], rng: random.Random
          ) -> tuple[list[p.SetDutyRequest], list[tuple[str, str]]]:
    """One weekday a week at each judicial office and police station, except about one
    office-week in ten. Each of the county's lawyers and legal-service workers serves
    at one office (alternately the judicial office and the police station), so the
    rota is one SetDuty call per person."""
    days: dict[tuple[str, str], list[str]] = {}
    uncovered = []
    for county in counties:
        at_office = county.lawyers[0::2]
        at_station = county.lawyers[1::2] or at_office
        for office, serving in ((county.judicial_office, at_office), (county.police_station, at_station)):
            for week in weeks:
                monday = week - timedelta(days=week.weekday())
                if rng.random() >= ROTA_COVERAGE or not serving:
                    uncovered.append((office, _iso_week(monday)))
                    continue
                who = rng.choice(serving)
                days.setdefault((who, office), []).append((monday + timedelta(days=rng.randrange(5))).isoformat())
    calls = [p.SetDutyRequest(person_id=who, office_org_id=office, dates=dates) for (who, office), dates in days.items()]
    return calls, uncovered


def _roster(counties: list[County], by_org: dict[str, list[p.Person]], rng: random.Random) -> list[p.AddToRosterRequest]:
    """The basic court invites a county-level mediator and the sector committee's, the
    first township committee (free, PML Art.4) and the law firm (a low fee); its
    tribunal uses that roster."""
    calls = []
    for county in counties:
        court = county.basic_court
        for m in by_org.get(county.judicial_office, [])[:1] + by_org.get(county.sector_committee, []):
            calls.append(p.AddToRosterRequest(court_org_id=court, person_id=m.person_id,
                                              dispute_scope=list(m.specialties)[:6]))
        for committee in county.committees[:1]:
            calls.append(p.AddToRosterRequest(court_org_id=court, organization_id=committee,
                                              dispute_scope=["neighbours", "marriage_family", "housing_homestead",
                                                             "inheritance"]))
        calls.append(p.AddToRosterRequest(court_org_id=court, organization_id=county.law_firm, fee_charging=True,
                                          fee_standard=f"按件收费，每件不超过{rng.choice([300, 500, 800])}元",
                                          dispute_scope=["contract", "labour", "damages", "production_business"]))
    return calls


def _place_name(region: str) -> str:
    county = lookup(region[:6])
    return county.name if county else ""




def party(rng: random.Random, side: c.PartySide, region: str, *, online: bool = False,
          language: str = "zh", consent: i.ConsentDecision = i.CONSENT_DECISION_GIVEN) -> i.PartyInput:
    male = rng.random() < 0.5
    born = date(rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28))
    number = resident_id(rng, region, born, male)
    return i.PartyInput(
        kind=c.PARTY_KIND_NATURAL_PERSON, side=side, name=person_name(rng), sex=i.SEX_MALE if male else i.SEX_FEMALE,
        age=2026 - born.year, ethnicity=rng.choice(["汉族", "蒙古族"]), occupation=rng.choice(["农民", "牧民", "个体", "职工"]),
        phone=mobile(rng), address=f"{_place_name(region)}某村{rng.randint(1, 99)}号",
        id_document=i.IdDocument(type=i.ID_DOCUMENT_TYPE_RESIDENT_ID, number=number), language=language,
        consent=i.Consent(decision=consent, disclosed_at=timestamp(datetime.now(UTC) - timedelta(minutes=30)),
                          routes_told=["arbitration", "litigation"] if consent == i.CONSENT_DECISION_REFUSED else []),
        service_address=f"{number[-6:]}@sd.example.cn" if online else "", service_address_confirmed=online,
    )


def dispute_request(rng: random.Random, province: Province, source: c.CaseSource | None = None,
                    refuse: bool = False) -> i.RegisterDisputeRequest:
    county = rng.choice(province.counties)
    town = rng.choice(county.townships) if county.townships else county.division
    if source is None:
        source = rng.choices([c.CASE_SOURCE_PARTY_APPLICATION, c.CASE_SOURCE_POLICE_REFERRAL,
                              c.CASE_SOURCE_COURT_DELEGATION, c.CASE_SOURCE_ONLINE, c.CASE_SOURCE_OWN_INITIATIVE],
                             weights=[40, 25, 15, 15, 5])[0]
    dtype = rng.choices(list(TYPE_WEIGHTS), weights=list(TYPE_WEIGHTS.values()))[0]
    online = source == c.CASE_SOURCE_ONLINE
    language = "mn" if rng.random() < 0.1 else "zh"
    parties = [party(rng, c.PARTY_SIDE_APPLICANT, town.code, online=online, language=language),
               party(rng, c.PARTY_SIDE_RESPONDENT, town.code, online=online,
                     consent=i.CONSENT_DECISION_REFUSED if refuse else i.CONSENT_DECISION_GIVEN)]
    req = i.RegisterDisputeRequest(
        request_id=str(uuid.UUID(int=rng.getrandbits(128))), region_code=town.code, dispute_type=dtype,
        source=source, facts=f"{dispute_types()[dtype].zh}纠纷：双方就相关事项发生争执，请求调解。",
        requested_outcome="请求依法调解", amount_in_dispute_fen=rng.choice([0, 50_000, 300_000, 1_200_000]),
        parties=parties, registering_org_id=county.judicial_office,
        risk_factors=i.RiskFactors(threats_of_violence=rng.random() < 0.05, prior_incidents=rng.choice([0, 0, 0, 1, 2]),
                                   people_involved=rng.choice([2, 2, 3, 12])),
    )
    if source == c.CASE_SOURCE_POLICE_REFERRAL:
        req.police.CopyFrom(i.PoliceReferral(station_org_id=county.police_station, officer_person_id="officer-1",
                                             incident_reference=f"JQ{rng.randrange(10**8):08d}"))
    elif source == c.CASE_SOURCE_COURT_DELEGATION:
        req.court.CopyFrom(i.CourtReferral(court_org_id=county.tribunal,
                                           court_case_reference=f"（2026）蒙{county.division.code[2:6]}民诉前调{rng.randint(1, 999)}号"))
    return req


def corrupt(req: i.RegisterDisputeRequest, kind: int) -> i.RegisterDisputeRequest:
    """A registration with one mistake a clerk makes: a mistyped ID check
    character, an unknown region code, or a missing respondent."""
    if kind % 3 == 0:
        number = req.parties[0].id_document.number
        req.parties[0].id_document.number = number[:-1] + ("0" if number[-1] != "0" else "1")
    elif kind % 3 == 1:
        req.region_code = "159999"
    else:
        req.parties.pop()
    return req
