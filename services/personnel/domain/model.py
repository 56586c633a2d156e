"""Personnel's nouns and the rules for organizations and people (DOMAIN §1, §6, §8). Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from liandiao.errors import FieldViolation, InvalidInput, shown
from liandiao.ids import InvalidIdentifier, normalize_mobile, parse_credit_code, parse_resident_id, validate_region


class OrgKind(StrEnum):
    JUDICIAL_OFFICE = "judicial_office"          # 司法所
    POLICE_STATION = "police_station"            # 派出所
    PEOPLES_TRIBUNAL = "peoples_tribunal"        # 人民法庭
    BASIC_COURT = "basic_court"
    LAW_FIRM = "law_firm"                        # USCC starts 31
    LEGAL_SERVICE_OFFICE = "legal_service_office"  # USCC starts 33
    MEDIATION_COMMITTEE = "mediation_committee"
    JUSTICE_BUREAU = "justice_bureau"            # 司法局: guides people's mediation (PML Art.5)


class CommitteeLevel(StrEnum):
    VILLAGE = "village"
    TOWNSHIP = "township"
    SECTOR = "sector"    # 行业性专业性: labour, family, traffic, medical ...


class Role(StrEnum):
    MEDIATOR = "mediator"
    LAWYER = "lawyer"
    LEGAL_SERVICE_WORKER = "legal_service_worker"
    JUDGE = "judge"
    CLERK = "clerk"
    POLICE_OFFICER = "police_officer"
    LIAISON_OFFICER = "liaison_officer"


class RosterStatus(StrEnum):
    ACTIVE = "active"
    REMOVED = "removed"   # 除名 (SPC-Invited Art.10, 28)


class RemovalGround(StrEnum):
    """What a mediator may be removed from the roster (除名) for: SPC-Invited Art.10, 28
    and SPC-Online Art.29, as DOMAIN.md §6 lists them. Nothing else removes a person;
    a removal names its ground and says in words what happened."""
    FORCED_MEDIATION = "forced_mediation"     # 强迫调解
    BRIBERY = "bribery"                       # 收受财物或者接受请托
    LEAKING = "leaking"                       # 泄露调解过程或者调解协议内容
    REPEATED_REFUSAL = "repeated_refusal"     # 无正当理由多次拒绝接受委派


# GB 32100-2015 code table: registration authority 3 (judicial administration),
# institution kind 1 law firm (律师执业机构), 3 grassroots legal-service office.
# A code with another prefix belongs to another kind of body: refused. (Only a
# failing check character is the pilot exception that is warned about.)
CREDIT_CODE_PREFIX = {OrgKind.LAW_FIRM: "31", OrgKind.LEGAL_SERVICE_OFFICE: "33"}
# Every law firm and legal-service office is registered by the judicial administration and has a code.
CREDIT_CODE_REQUIRED = frozenset(CREDIT_CODE_PREFIX)

# Specialised sectors (DOMAIN §1: labour, family, traffic, medical; SPC-Online Art.28
# adds financial consumer and IP). The dispute-type dictionary's rosters are added
# by the caller, so an operator's new roster is a sector too.
BASE_SECTORS = frozenset({"labour", "family", "traffic", "medical", "financial_consumer", "intellectual_property"})

# Where a role is exercised. Lawyers Law Art.10: a lawyer practises in one law firm;
# legal-service workers practise in a legal-service office (基层法律服务工作者管理办法 2017);
# a tribunal is part of its basic court (People's Courts Organic Law 2018 Art.26).
ROLE_HOME: dict[Role, frozenset[OrgKind]] = {
    Role.LAWYER: frozenset({OrgKind.LAW_FIRM}),
    Role.LEGAL_SERVICE_WORKER: frozenset({OrgKind.LEGAL_SERVICE_OFFICE}),
    Role.JUDGE: frozenset({OrgKind.PEOPLES_TRIBUNAL, OrgKind.BASIC_COURT}),
    Role.POLICE_OFFICER: frozenset({OrgKind.POLICE_STATION}),
}

LAWYER_LICENCE = re.compile(r"^[0-9]{17}$")   # DOMAIN §8: 17 digits
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")   # what SMTP can be given; the server checks the rest
LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")   # BCP-47, as far as routing matches on it


@dataclass(frozen=True)
class Parent:
    """What the rules need to know of a parent organization."""
    kind: OrgKind
    region_code: str


@dataclass(frozen=True)
class NewOrganization:
    kind: OrgKind | None
    name: str
    region_code: str
    credit_code: str = ""
    parent_organization_id: str = ""
    committee_level: str = ""
    sector: str = ""


@dataclass(frozen=True)
class NewPerson:
    name: str
    organization_id: str
    roles: tuple[Role, ...]
    specialties: tuple[str, ...] = ()
    languages: tuple[str, ...] = ("zh",)
    region_codes: tuple[str, ...] = ()
    phone: str = ""
    id_number: str = ""
    on_duty: bool = True
    lawyer_licence_number: str = ""
    email: str = ""


@dataclass(frozen=True)
class CheckedPerson:
    """Normalised identifiers ('' when not given)."""
    phone: str
    id_number: str
    lawyer_licence: str
    email: str = ""


def check_organization(o: NewOrganization, parent: Parent | None, sectors: Collection[str]) -> tuple[str, list[str]]:
    """Returns the normalised credit code and warnings; raises InvalidInput.

    ``parent`` is the named parent organization (None when none is named)."""
    bad: list[FieldViolation] = []
    warnings: list[str] = []
    code = ""
    if o.kind is None:
        bad.append(FieldViolation("kind", "required"))
    if not o.name.strip():
        bad.append(FieldViolation("name", "required"))
    try:
        validate_region(o.region_code)
    except InvalidIdentifier as exc:
        bad.append(FieldViolation("region_code", exc.reason))
    if o.credit_code:
        try:
            parsed = parse_credit_code(o.credit_code)
            code = parsed.code
            warnings += list(parsed.warnings)
            prefix = CREDIT_CODE_PREFIX.get(o.kind) if o.kind else None
            if o.kind and prefix and not code.startswith(prefix):
                bad.append(FieldViolation("credit_code", f"a {o.kind.value.replace('_', ' ')}'s credit code starts "
                                          f"{prefix} (GB 32100-2015: judicial administration), got {code[:2]}"))
        except InvalidIdentifier as exc:
            bad.append(FieldViolation("credit_code", exc.reason))
    elif o.kind is not None and o.kind in CREDIT_CODE_REQUIRED:
        bad.append(FieldViolation("credit_code", f"required for a {o.kind.value.replace('_', ' ')} "
                                  "(registered by the judicial administration)"))
    bad += _parent_violations(o, parent)
    bad += _committee_violations(o, sectors)
    if bad:
        raise InvalidInput(bad)
    return code, warnings


def _parent_violations(o: NewOrganization, parent: Parent | None) -> list[FieldViolation]:
    field = "parent_organization_id"
    if o.kind is OrgKind.PEOPLES_TRIBUNAL:
        # People's Courts Organic Law 2018 Art.26: a tribunal is part of its basic court.
        if parent is None:
            return [FieldViolation(field, "a people's tribunal names its basic court")]
        if parent.kind is not OrgKind.BASIC_COURT:
            return [FieldViolation(field, f"a people's tribunal's parent is a basic court, not a {parent.kind.value}")]
        if not o.region_code.startswith(parent.region_code):
            return [FieldViolation("region_code", f"a tribunal lies within its basic court's region "
                                   f"{parent.region_code}")]
    if o.kind is OrgKind.MEDIATION_COMMITTEE and parent is not None and parent.kind is not OrgKind.JUDICIAL_OFFICE:
        return [FieldViolation(field, f"a committee's parent is the judicial office that guides it, "
                               f"not a {parent.kind.value}")]
    return []


def _committee_violations(o: NewOrganization, sectors: Collection[str]) -> list[FieldViolation]:
    if o.kind is not OrgKind.MEDIATION_COMMITTEE:
        bad = []
        if o.committee_level:
            bad.append(FieldViolation("committee_level", "only a mediation committee has a level"))
        if o.sector:
            bad.append(FieldViolation("sector", "only a sector mediation committee has a sector"))
        return bad
    if not o.committee_level:
        # PML Art.8: village and residents' committees set up mediation committees; townships
        # and sectors set them up as needed. Which one it is decides who it serves.
        return [FieldViolation("committee_level", "required: village, township or sector (PML Art.8)")]
    if o.committee_level == CommitteeLevel.SECTOR:
        if not o.sector:
            return [FieldViolation("sector", "a sector committee names its sector (e.g. labour, family, traffic, "
                                   "medical)")]
        if o.sector not in sectors:
            return [FieldViolation("sector", f"unknown sector {shown(o.sector)}; known: {', '.join(sorted(sectors))}")]
    elif o.sector:
        return [FieldViolation("sector", "only a sector committee has a sector")]
    return []


def check_person(p: NewPerson, org_kind: OrgKind | None, known_types: Collection[str], today: date,
                 *, licence_on_file: bool = False) -> CheckedPerson:
    """Validates a new or updated person at an organization of ``org_kind``; raises InvalidInput.

    ``licence_on_file``: an update that keeps the stored lawyer licence."""
    bad: list[FieldViolation] = []
    phone = id_number = licence = ""
    if not p.name.strip():
        bad.append(FieldViolation("name", "required"))
    if not p.roles:
        bad.append(FieldViolation("roles", "at least one role"))
    if len(set(p.roles)) != len(p.roles):
        bad.append(FieldViolation("roles", "a role is named twice"))
    if org_kind is not None:
        for i, role in enumerate(p.roles):
            home = ROLE_HOME.get(role)
            if home is not None and org_kind not in home:
                bad.append(FieldViolation(f"roles[{i}]", f"a {role.value.replace('_', ' ')} belongs to a "
                                          f"{' or '.join(sorted(k.value for k in home))}, not a {org_kind.value}"))
    for i, t in enumerate(p.specialties):
        if t not in known_types:
            bad.append(FieldViolation(f"specialties[{i}]", f"unknown dispute type {shown(t)}"))
    for i, lang in enumerate(p.languages):
        if not LANGUAGE_TAG.match(lang):
            bad.append(FieldViolation(f"languages[{i}]", f"{shown(lang)} is not a BCP-47 language tag (e.g. zh, mn)"))
    for name in ("specialties", "languages", "region_codes"):
        values = getattr(p, name)
        if len(set(values)) != len(values):
            bad.append(FieldViolation(name, "a value is named twice"))
    for i, code in enumerate(p.region_codes):
        try:
            validate_region(code)
        except InvalidIdentifier as exc:
            bad.append(FieldViolation(f"region_codes[{i}]", exc.reason))
    if Role.MEDIATOR in p.roles and not p.region_codes:
        bad.append(FieldViolation("region_codes", "a mediator must cover at least one region"))
    if p.phone:
        try:
            phone = normalize_mobile(p.phone)
        except InvalidIdentifier as exc:
            bad.append(FieldViolation("phone", exc.reason))
    if p.id_number:
        try:
            id_number = parse_resident_id(p.id_number, today=today).number
        except InvalidIdentifier as exc:
            bad.append(FieldViolation("id_number", exc.reason))
    licence = p.lawyer_licence_number.strip()
    if licence:
        if Role.LAWYER not in p.roles:
            bad.append(FieldViolation("lawyer_licence_number", "only a lawyer has a lawyer licence"))
        elif not LAWYER_LICENCE.match(licence):
            bad.append(FieldViolation("lawyer_licence_number", "a lawyer licence number has 17 digits (DOMAIN §8)"))
    elif Role.LAWYER in p.roles and not licence_on_file:
        bad.append(FieldViolation("lawyer_licence_number", "required for a lawyer (17 digits)"))
    email = p.email.strip()
    if email and (len(email) > 254 or not EMAIL.match(email)):
        bad.append(FieldViolation("email", "not an e-mail address (name@domain)"))
    if bad:
        raise InvalidInput(bad)
    return CheckedPerson(phone=phone, id_number=id_number, lawyer_licence=licence, email=email)


UPDATABLE = ("roles", "specialties", "languages", "region_codes", "on_duty", "phone", "lawyer_licence_number",
             "email")


@dataclass(frozen=True)
class PersonUpdate:
    """The fields named in ``paths`` take the values given here; the rest stay."""
    paths: tuple[str, ...]
    roles: tuple[Role, ...] = ()
    specialties: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    region_codes: tuple[str, ...] = ()
    on_duty: bool = False
    phone: str = ""
    lawyer_licence_number: str = ""
    email: str = ""


def merge_update(current: NewPerson, u: PersonUpdate) -> NewPerson:
    """The person as the update would leave them; raises InvalidInput for a bad mask.

    ``current`` carries no identifiers (they are stored encrypted): phone and
    licence are set only when named."""
    if not u.paths:
        raise InvalidInput(FieldViolation("update_mask", f"name the fields to change: {', '.join(UPDATABLE)}"))
    unknown = [p for p in u.paths if p not in UPDATABLE]
    if unknown:
        raise InvalidInput(FieldViolation("update_mask", f"cannot change {', '.join(shown(p) for p in unknown[:3])}"
                                          f"{' ...' if len(unknown) > 3 else ''}; changeable: {', '.join(UPDATABLE)}"))
    if len(set(u.paths)) != len(u.paths):
        raise InvalidInput(FieldViolation("update_mask", "a field is named twice"))
    changes = {p: getattr(u, p) for p in u.paths}
    if "languages" in changes and not changes["languages"]:
        changes["languages"] = ("zh",)
    return replace(current, **changes)
