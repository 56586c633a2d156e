"""A realistic province for the demo and the end-to-end tests: the offices of
each county of the chosen prefectures (from the shipped division codes), their
mediators, and disputes of every channel. Deterministic for a given seed."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from liandiao.common.v1 import common_pb2 as c
from liandiao.ids import Division, check_character, children, lookup
from liandiao.intake.v1 import intake_pb2 as i
from liandiao.personnel.v1 import personnel_pb2 as p
from liandiao.reference import dispute_types

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗包白乌那"
GIVEN = ["建国", "秀英", "桂兰", "志强", "海燕", "春梅", "宝音", "乌云", "其其格", "巴特尔", "立新", "丽娟",
         "文华", "玉兰", "明", "静", "磊", "娜仁", "敖登", "振华"]
# How often each type comes in at a county in this region (rough shares).
TYPE_WEIGHTS = {"neighbours": 18, "marriage_family": 16, "housing_homestead": 10, "contract": 10, "damages": 9,
                "forest_land": 8, "labour": 7, "traffic_accident": 6, "consumer": 4, "property_management": 3,
                "production_business": 3, "land_requisition": 2, "medical": 2, "inheritance": 1, "village_affairs": 1}


@dataclass
class County:
    division: Division
    judicial_office: str = ""
    police_station: str = ""
    tribunal: str = ""
    committees: list[str] = field(default_factory=list)
    townships: list[Division] = field(default_factory=list)


@dataclass
class Province:
    counties: list[County] = field(default_factory=list)
    mediators: list[str] = field(default_factory=list)


def resident_id(rng: random.Random, region: str, born: date, male: bool) -> str:
    seq = rng.randrange(0, 499) * 2 + (1 if male else 0)
    first17 = f"{region[:6]}{born:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"


async def seed_province(personnel, meta, prefectures: list[str], seed: int = 7,
                        mediators_per_county: int = 12, townships_per_county: int = 3) -> Province:
    """Creates, through PersonnelService, the offices and mediators of every
    county of ``prefectures``. Returns what it made, for the dispute generator."""
    rng = random.Random(seed)
    province = Province()
    types = list(TYPE_WEIGHTS)
    for prefecture in prefectures:
        for county_div in children(prefecture):
            county = County(county_div)
            county.townships = [t for t in children(county_div.code)][:townships_per_county]
            new = personnel.CreateOrganization
            court = await new(p.CreateOrganizationRequest(
                kind=p.ORGANIZATION_KIND_BASIC_COURT, name=f"{county_div.name}人民法院", region_code=county_div.code),
                metadata=meta)
            county.judicial_office = (await new(p.CreateOrganizationRequest(
                kind=p.ORGANIZATION_KIND_JUDICIAL_OFFICE, name=f"{county_div.name}司法所",
                region_code=county_div.code), metadata=meta)).organization_id
            county.police_station = (await new(p.CreateOrganizationRequest(
                kind=p.ORGANIZATION_KIND_POLICE_STATION, name=f"{county_div.name}公安局城关派出所",
                region_code=county_div.code), metadata=meta)).organization_id
            county.tribunal = (await new(p.CreateOrganizationRequest(
                kind=p.ORGANIZATION_KIND_PEOPLES_TRIBUNAL, name=f"{county_div.name}人民法院城区人民法庭",
                region_code=county_div.code, parent_organization_id=court.organization_id),
                metadata=meta)).organization_id
            for town in county.townships:
                county.committees.append((await new(p.CreateOrganizationRequest(
                    kind=p.ORGANIZATION_KIND_MEDIATION_COMMITTEE, name=f"{town.name}人民调解委员会",
                    region_code=town.code, committee_level=p.COMMITTEE_LEVEL_TOWNSHIP,
                    parent_organization_id=county.judicial_office), metadata=meta)).organization_id)
            for n in range(mediators_per_county):
                # Most mediators sit on a township committee and cover that township;
                # a few at the judicial office cover the whole county.
                at_town = bool(county.townships) and n % 4 != 0
                town_index = n % len(county.townships) if at_town else 0
                org = county.committees[town_index] if at_town else county.judicial_office
                coverage = county.townships[town_index].code if at_town else county_div.code
                # County-office mediators are generalists; committee members specialise.
                specialties = rng.sample(types, k=rng.randint(8, 12) if not at_town else rng.randint(3, 7))
                person = await personnel.CreatePerson(p.CreatePersonRequest(
                    name=person_name(rng), organization_id=org, roles=[p.ROLE_MEDIATOR],
                    specialties=specialties, languages=["zh", "mn"] if rng.random() < 0.3 else ["zh"],
                    region_codes=[coverage], phone=mobile(rng), on_duty=True), metadata=meta)
                province.mediators.append(person.person_id)
            province.counties.append(county)
    return province


def _place_name(region: str) -> str:
    county = lookup(region[:6])
    return county.name if county else ""


def _ts(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


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
        consent=i.Consent(decision=consent, disclosed_at=_ts(datetime.now(UTC) - timedelta(minutes=30)),
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
