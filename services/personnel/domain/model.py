"""Personnel's nouns and rules (DOMAIN §1, §6). Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from liandiao.errors import FieldViolation, InvalidInput
from liandiao.ids import InvalidIdentifier, normalize_mobile, parse_credit_code, parse_resident_id, validate_region


class OrgKind(StrEnum):
    JUDICIAL_OFFICE = "judicial_office"          # 司法所
    POLICE_STATION = "police_station"            # 派出所
    PEOPLES_TRIBUNAL = "peoples_tribunal"        # 人民法庭
    BASIC_COURT = "basic_court"
    LAW_FIRM = "law_firm"                        # USCC starts 31
    LEGAL_SERVICE_OFFICE = "legal_service_office"  # USCC starts 33
    MEDIATION_COMMITTEE = "mediation_committee"


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


@dataclass(frozen=True)
class NewOrganization:
    kind: OrgKind | None
    name: str
    region_code: str
    credit_code: str = ""
    parent_organization_id: str = ""
    committee_level: str = ""


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


def check_organization(o: NewOrganization) -> tuple[str, list[str]]:
    """Returns the normalised credit code and warnings; raises InvalidInput."""
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
        except InvalidIdentifier as exc:
            bad.append(FieldViolation("credit_code", exc.reason))
    if bad:
        raise InvalidInput(bad)
    return code, warnings


def check_person(p: NewPerson, known_types: set[str], today: date) -> tuple[str, str]:
    """Returns (normalised phone, normalised ID number); raises InvalidInput."""
    bad: list[FieldViolation] = []
    phone = id_number = ""
    if not p.name.strip():
        bad.append(FieldViolation("name", "required"))
    if not p.roles:
        bad.append(FieldViolation("roles", "at least one role"))
    for i, t in enumerate(p.specialties):
        if t not in known_types:
            bad.append(FieldViolation(f"specialties[{i}]", f"unknown dispute type {t!r}"))
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
    if bad:
        raise InvalidInput(bad)
    return phone, id_number
