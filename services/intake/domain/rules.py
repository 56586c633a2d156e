"""Intake rules: pure functions from a registration (and ``today``) to a decision
or the list of what is wrong with it. Sources: DOMAIN.md §2 and §8."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from liandiao.errors import FieldViolation, InvalidInput, shown
from liandiao.ids import (
    DivisionLevel,
    InvalidIdentifier,
    normalize_mobile,
    parse_credit_code,
    parse_resident_id,
    validate_region,
)
from services.intake.domain.model import (
    AgentAuthority,
    AgentIn,
    CheckedAgent,
    CheckedParty,
    Consent,
    Decision,
    IdType,
    PartyIn,
    PartyKind,
    ReferralKind,
    Registration,
    RiskAssessment,
    RiskFactors,
    Side,
    Source,
    Status,
)
from services.intake.limits import (
    AGENT_SCOPE,
    FACTS,
    MAX_AGE,
    MAX_AMOUNT_FEN,
    MAX_PEOPLE_INVOLVED,
    MAX_PRIOR_INCIDENTS,
    MAX_REPEAT_PETITIONS,
    NAME,
    REQUESTED_OUTCOME,
)

# A disclosure is recorded before the registration; a clerk's clock may run this far ahead.
CLOCK_SKEW = timedelta(minutes=5)

# The referral details each source carries (DOMAIN §2 "sources of a case").
_REFERRAL_OF = {
    Source.POLICE_REFERRAL: ReferralKind.POLICE,
    Source.COURT_DELEGATION: ReferralKind.COURT,
    Source.COURT_COMMISSION: ReferralKind.COURT,
    Source.DEPARTMENT_REFERRAL: ReferralKind.DEPARTMENT,
}
# Which GB 11643-scheme numbers each document type accepts (DOMAIN §8).
_ID_KINDS = {
    IdType.RESIDENT_ID: ("MAINLAND", "LEGACY_15"),
    IdType.HMT_PERMIT: ("HK_MACAO_TW_PERMIT",),
    IdType.FOREIGNER_PR_CARD: ("FOREIGNER_PR_2023",),
}


@dataclass(frozen=True)
class RiskPolicy:
    """Weights of the early-warning score (practice, not statute: configurable).
    A dispute at or above ``threshold`` raises a warning (预警, PML Art.25)."""
    threats_of_violence: int = 40
    per_prior_incident: int = 10
    per_ten_people: int = 10
    vulnerable_party: int = 15
    per_repeat_petition: int = 10
    threshold: int = 50


def assess_risk(f: RiskFactors, policy: RiskPolicy) -> RiskAssessment:
    parts: list[tuple[int, str]] = []
    if f.threats_of_violence:
        parts.append((policy.threats_of_violence, "threats of violence"))
    if f.prior_incidents:
        parts.append((policy.per_prior_incident * f.prior_incidents, f"{f.prior_incidents} prior incident(s)"))
    if f.people_involved >= 10:
        parts.append((policy.per_ten_people * (f.people_involved // 10), f"{f.people_involved} people involved"))
    if f.vulnerable_party:
        parts.append((policy.vulnerable_party, "vulnerable party"))
    if f.repeat_petitions:
        parts.append((policy.per_repeat_petition * f.repeat_petitions, f"{f.repeat_petitions} repeat petition(s)"))
    score = min(sum(p for p, _ in parts), 100)
    reasons = tuple(f"{why} (+{points})" for points, why in parts)
    return RiskAssessment(score=score, reasons=reasons, flagged=score >= policy.threshold)


def decide_registration(
    reg: Registration, *, known_types: Collection[str], today: date, risk_policy: RiskPolicy,
    now: datetime | None = None,
) -> Decision:
    """Validates everything at once (a clerk fixes all mistakes in one go) and
    decides the status. Raises InvalidInput listing every field at fault.

    ``now``: the registration's instant; a consent disclosed after it is refused."""
    bad: list[FieldViolation] = []
    warnings: list[str] = []

    try:
        if validate_region(reg.region_code).level is DivisionLevel.PROVINCE:
            # Where the dispute arose decides who mediates it and which shard carries it.
            bad.append(FieldViolation("region_code", "name the prefecture, county, township or village where the "
                                      "dispute arose, not the province"))
    except InvalidIdentifier as exc:
        bad.append(FieldViolation("region_code", exc.reason))
    if reg.dispute_type not in known_types:
        bad.append(FieldViolation("dispute_type", f"unknown dispute type {shown(reg.dispute_type)}; "
                                  "use a code of the dispute-type dictionary"))
    bad += _check_source(reg)
    if not reg.request_id:
        bad.append(FieldViolation("request_id", "required: a client-chosen id that makes retries safe"))
    elif (wrong := request_id_violation(reg.request_id)) is not None:
        bad.append(wrong)
    if not 0 <= reg.amount_fen <= MAX_AMOUNT_FEN:
        bad.append(FieldViolation("amount_in_dispute_fen", f"from 0 to {MAX_AMOUNT_FEN} fen"))
    for name, value, most in (("facts", reg.facts, FACTS), ("requested_outcome", reg.requested_outcome,
                                                          REQUESTED_OUTCOME)):
        if len(value) > most:
            bad.append(FieldViolation(name, f"longer than {most} characters"))
    if not reg.facts.strip():
        bad.append(FieldViolation("facts", "required: the brief facts of the dispute (受理登记)"))

    sides = {p.side for p in reg.parties}
    if Side.APPLICANT not in sides:
        bad.append(FieldViolation("parties", "at least one applicant party is required"))
    if Side.RESPONDENT not in sides:
        bad.append(FieldViolation("parties", "at least one respondent party is required"))

    bad += _check_risk_factors(reg.risk)

    checked: list[CheckedParty] = []
    for i, party in enumerate(reg.parties):
        result, problems, notes = _check_party(f"parties[{i}]", party, reg.source, today, now)
        bad += problems
        warnings += notes
        if result:
            checked.append(result)
    bad += _check_distinct_parties(reg.parties, checked)
    if bad:
        raise InvalidInput(bad)

    # PML Art.17: one party's express refusal means there is no mediation.
    refused = any(p.consent is Consent.REFUSED for p in reg.parties)
    return Decision(
        status=Status.REFUSED if refused else Status.REGISTERED,
        parties=tuple(checked),
        risk=assess_risk(reg.risk, risk_policy),
        warnings=tuple(warnings),
    )


def _check_risk_factors(f: RiskFactors) -> list[FieldViolation]:
    """Each factor feeds the score (PML Art.25 warning): a negative count would take
    points off another factor, a huge one is a typo. Out of range is refused."""
    bad = []
    for name, value, most in (("prior_incidents", f.prior_incidents, MAX_PRIOR_INCIDENTS),
                              ("people_involved", f.people_involved, MAX_PEOPLE_INVOLVED),
                              ("repeat_petitions", f.repeat_petitions, MAX_REPEAT_PETITIONS)):
        if not 0 <= value <= most:
            bad.append(FieldViolation(f"risk_factors.{name}", f"from 0 to {most}"))
    return bad


def _check_distinct_parties(parties: tuple[PartyIn, ...], checked: list[CheckedParty]) -> list[FieldViolation]:
    """One person or organization is one party: the same ID document twice (as applicant
    and respondent, or repeated) is a mistake, and would also hide the dispute from
    duplicate detection. Parties without a document cannot be told apart and pass."""
    if len(checked) != len(parties):
        return []   # some party is invalid already; its number may not be normalised
    first: dict[str, int] = {}
    bad = []
    for i, c in enumerate(checked):
        if not c.id_number:
            continue
        if c.id_number in first:
            field = "credit_code" if c.party.kind is PartyKind.ORGANIZATION else "id_document.number"
            bad.append(FieldViolation(f"parties[{i}].{field}", f"the same as parties[{first[c.id_number]}]: "
                                      "each party is registered once"))
        else:
            first[c.id_number] = i
    return bad


def request_id_violation(request_id: str) -> FieldViolation | None:
    """A request id is a UUID the client chose (8-4-4-4-12 hex digits): one that
    cannot be guessed from another's, checked before anything is read with it (issue 7)."""
    try:
        uuid.UUID(request_id)
    except ValueError:
        return FieldViolation("request_id", f"not a UUID ({shown(request_id)})")
    if len(request_id) != 36:
        return FieldViolation("request_id", "a UUID in its hyphenated form, 36 characters")
    return None


def _check_source(reg: Registration) -> list[FieldViolation]:
    """The source is recorded, statistics are split by it (DOMAIN §2, §7), and each
    referring source brings its referral: a police station its station, officer
    and incident (PML Art.18); a court its case and, for a commission, the
    procedure that sets the period (SPC-Invited Art.27); a department its name and
    referral number. Details of another source are refused, not silently dropped."""
    r = reg.referral
    if reg.source is None:
        return [FieldViolation("source", "required: how the dispute came in")]
    bad = []
    expected = _REFERRAL_OF.get(reg.source)
    if r.kind is not None and r.kind is not expected:
        fits = "no referral details" if expected is None else f"the {expected.value} referral"
        bad.append(FieldViolation(r.kind.value, f"{r.kind.value} referral details do not fit the source "
                                  f"{reg.source.value}: send {fits}"))
        return bad
    if reg.source is Source.POLICE_REFERRAL:
        # PML Art.18: the station, the officer and the incident it refers.
        for field, value in (("police.station_org_id", r.org_id), ("police.officer_person_id", r.person_id),
                             ("police.incident_reference", r.reference)):
            if not value:
                bad.append(FieldViolation(field, "required for a police referral (PML Art.18)"))
    if reg.source in (Source.COURT_DELEGATION, Source.COURT_COMMISSION):
        for field, value in (("court.court_org_id", r.org_id), ("court.court_case_reference", r.reference)):
            if not value:
                bad.append(FieldViolation(field, "required for a court delegation or commission"))
        if reg.source is Source.COURT_COMMISSION and r.procedure is None:
            bad.append(FieldViolation("court.procedure", "required for a commissioned case: ordinary (15 days) "
                                      "or simplified (7 days) (SPC-Invited Art.27)"))
        if reg.source is Source.COURT_DELEGATION and r.procedure is not None:
            bad.append(FieldViolation("court.procedure", "only a commissioned case (委托, after filing) has a "
                                      "procedure; a delegation before filing (委派) runs 30 days (SPC-Invited Art.27)"))
    if reg.source is Source.DEPARTMENT_REFERRAL:
        # Which department referred it and under which number, so the referral can be traced.
        for field, value in (("department.department_name", r.department_name),
                             ("department.reference", r.reference)):
            if not value.strip():
                bad.append(FieldViolation(field, "required for a referral by a government department"))
        if len(r.department_name) > NAME:
            bad.append(FieldViolation("department.department_name", f"longer than {NAME} characters"))
    return bad


def _check_id_document(path: str, id_type: IdType, number: str, today: date) -> tuple[str, str, list[FieldViolation]]:
    """(normalised number, sex from the number, problems) for a document of the
    kinds of DOMAIN §8: GB 11643 resident IDs (incl. legacy 15 digits), HK/Macao/
    Taiwan residence permits, the 2023 foreigner PR card; passports by presence."""
    if id_type is IdType.PASSPORT:
        if not number.strip():
            return "", "", [FieldViolation(f"{path}.number", "required")]
        return number.strip().upper(), "", []
    try:
        parsed = parse_resident_id(number, today=today)
    except InvalidIdentifier as exc:
        return "", "", [FieldViolation(f"{path}.number", exc.reason)]
    if parsed.kind.name not in _ID_KINDS.get(id_type, ()):
        return "", "", [FieldViolation(f"{path}.number", f"is a {parsed.kind.name.lower()} number, "
                                       f"not a {id_type.value}")]
    return parsed.number, parsed.sex.name.lower(), []


def _check_agent(path: str, a: AgentIn, today: date) -> tuple[CheckedAgent | None, list[FieldViolation]]:
    """An agent (代理人) identifies themself and states their authority; special
    authority (特别授权: admit, waive or change claims, settle) must list the
    matters (CPL 2023 Art.62, applied to mediation by analogy)."""
    bad: list[FieldViolation] = []
    id_number = phone = ""
    if not a.name.strip():
        bad.append(FieldViolation(f"{path}.name", "required"))
    if a.id_type is None or a.id_type is IdType.NONE:
        bad.append(FieldViolation(f"{path}.id_document.type", "an agent must show an ID document"))
    else:
        id_number, _sex, problems = _check_id_document(f"{path}.id_document", a.id_type, a.id_number, today)
        bad += problems
    if a.phone:
        try:
            phone = normalize_mobile(a.phone)
        except InvalidIdentifier as exc:
            bad.append(FieldViolation(f"{path}.phone", exc.reason))
    if a.authority is None:
        bad.append(FieldViolation(f"{path}.authority", "required: general (一般授权) or special (特别授权)"))
    elif a.authority is AgentAuthority.SPECIAL and not a.scope.strip():
        bad.append(FieldViolation(f"{path}.scope", "special authority must list the authorised matters "
                                  "(CPL 2023 Art.62)"))
    if len(a.scope) > AGENT_SCOPE:
        bad.append(FieldViolation(f"{path}.scope", f"longer than {AGENT_SCOPE} characters"))
    if bad:
        return None, bad
    return CheckedAgent(agent=a, id_number=id_number, phone=phone), []


def duplicate_key(dispute_type: str, fingerprints: Iterable[str]) -> str | None:
    """The key under which an open dispute is found again from any channel: its
    type and the set of its parties' ID fingerprints. None when fewer than two
    parties carry an ID: without IDs "the same parties" cannot be told apart
    from namesakes, so such a registration always opens its own dispute."""
    ids = sorted({f for f in fingerprints if f})
    if len(ids) < 2:
        return None
    return hashlib.sha256(f"{dispute_type}|{','.join(ids)}".encode()).hexdigest()


def mask_address(text: str) -> str:
    """An electronic service address as views show it: "ab***@sd.example.cn";
    anything else keeps its first two characters."""
    value = text.strip()
    local, at, domain = value.partition("@")
    if at:
        return f"{local[:2]}***@{domain}"
    return value[:2] + "***" if value else ""


def _check_party(
    path: str, p: PartyIn, source: Source | None, today: date, now: datetime | None = None,
) -> tuple[CheckedParty | None, list[FieldViolation], list[str]]:
    bad: list[FieldViolation] = []
    notes: list[str] = []
    id_number, phone, sex = "", "", p.sex
    if not p.name.strip():
        bad.append(FieldViolation(f"{path}.name", "required"))
    if p.kind is None:
        bad.append(FieldViolation(f"{path}.kind", "required: natural person or organization"))
    if p.side is None:
        bad.append(FieldViolation(f"{path}.side", "required: applicant or respondent"))

    if p.kind is PartyKind.PERSON:
        if p.id_type is None:
            bad.append(FieldViolation(f"{path}.id_document.type", "required (use NONE with a reason if there is none)"))
        elif p.id_type is IdType.NONE:
            if not p.no_id_reason.strip():
                bad.append(FieldViolation(f"{path}.no_id_reason", "required when the party has no ID document"))
        else:
            id_number, id_sex, problems = _check_id_document(f"{path}.id_document", p.id_type, p.id_number, today)
            bad += problems
            sex = sex or id_sex
    elif p.kind is PartyKind.ORGANIZATION:
        try:
            code = parse_credit_code(p.credit_code)
            id_number = code.code
            notes += [f"{path}.credit_code: {w}" for w in code.warnings]
        except InvalidIdentifier as exc:
            bad.append(FieldViolation(f"{path}.credit_code", exc.reason))

    if p.phone:
        try:
            phone = normalize_mobile(p.phone)
        except InvalidIdentifier as exc:
            bad.append(FieldViolation(f"{path}.phone", exc.reason))
    if source is Source.ONLINE:
        # SPC-Online Art.8: online intake needs a valid mobile number and a
        # confirmed electronic service address (送达地址确认书).
        if not p.phone:
            bad.append(FieldViolation(f"{path}.phone", "required for an online application (SPC-Online Art.8)"))
        if not p.service_address.strip():
            bad.append(FieldViolation(f"{path}.service_address", "required for an online application (SPC-Online Art.8)"))
        elif not p.service_address_confirmed:
            bad.append(FieldViolation(f"{path}.service_address_confirmed",
                                      "the party must confirm the service address (送达地址确认书)"))

    if p.consent is None:
        bad.append(FieldViolation(f"{path}.consent.decision",
                                  "record whether the party consents to mediation (PML Art.17)"))
    elif p.disclosed_at is None:
        bad.append(FieldViolation(f"{path}.consent.disclosed_at",
                                  "record when the party was told their rights, the options and the effect "
                                  "of an agreement (SPC-Invited Art.14)"))
    elif now is not None and p.disclosed_at > now + CLOCK_SKEW:
        bad.append(FieldViolation(f"{path}.consent.disclosed_at", "lies after the registration: the options are "
                                  "disclosed before (SPC-Invited Art.14)"))
    if p.consent is Consent.REFUSED and not p.routes_told:
        bad.append(FieldViolation(f"{path}.consent.routes_told",
                                  "a refusing party must be told the other routes (arbitration, litigation, ...)"))
    if p.age < 0 or p.age > MAX_AGE:
        bad.append(FieldViolation(f"{path}.age", f"must be between 0 and {MAX_AGE}"))
    agents = []
    for j, agent in enumerate(p.agents):
        checked, problems = _check_agent(f"{path}.agents[{j}]", agent, today)
        bad += problems
        if checked:
            agents.append(checked)
    if bad:
        return None, bad, notes
    return CheckedParty(party=p, id_number=id_number, phone=phone, birth_sex=sex, agents=tuple(agents)), [], notes
