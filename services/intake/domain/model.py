"""Intake's nouns: the registration command as the domain sees it, and the
decision it leads to. Frozen dataclasses; no I/O, no protobuf."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Source(StrEnum):
    """How the dispute came in; statistics are split by it (DOMAIN §2, §7)."""
    PARTY_APPLICATION = "party_application"
    OWN_INITIATIVE = "own_initiative"
    POLICE_REFERRAL = "police_referral"          # PML Art.18
    COURT_DELEGATION = "court_delegation"        # 委派, before filing
    COURT_COMMISSION = "court_commission"        # 委托, after filing
    DEPARTMENT_REFERRAL = "department_referral"
    ONLINE = "online"                            # SPC-Online Art.8


class Procedure(StrEnum):
    ORDINARY = "ordinary"
    SIMPLIFIED = "simplified"


class PartyKind(StrEnum):
    PERSON = "person"
    ORGANIZATION = "organization"


class Side(StrEnum):
    APPLICANT = "applicant"
    RESPONDENT = "respondent"


class IdType(StrEnum):
    RESIDENT_ID = "resident_id"
    HMT_PERMIT = "hmt_residence_permit"
    FOREIGNER_PR_CARD = "foreigner_pr_card"
    PASSPORT = "passport"
    NONE = "none"


class Consent(StrEnum):
    GIVEN = "given"
    REFUSED = "refused"


class Status(StrEnum):
    REGISTERED = "registered"
    REFUSED = "refused"   # PML Art.17: a party expressly refused; no mediation


class ReferralKind(StrEnum):
    """Which referral details a registration carries; each fits certain sources."""
    POLICE = "police"
    COURT = "court"
    DEPARTMENT = "department"


class AgentAuthority(StrEnum):
    GENERAL = "general"   # 一般授权
    SPECIAL = "special"   # 特别授权 (CPL 2023 Art.62: the matters written out)


class OfficeKind(StrEnum):
    """The offices whose liaison officers (联络人) receive early warnings (DOMAIN §1, §2)."""
    POLICE_STATION = "police_station"
    PEOPLES_TRIBUNAL = "peoples_tribunal"
    JUDICIAL_OFFICE = "judicial_office"


@dataclass(frozen=True)
class Referral:
    kind: ReferralKind | None = None    # None: no referral details given
    org_id: str = ""
    person_id: str = ""
    reference: str = ""                 # incident number, court case or department referral number
    procedure: Procedure | None = None  # commissioned cases only
    department_name: str = ""           # department referrals only


@dataclass(frozen=True)
class AgentIn:
    """A party's agent (代理人) as given in the power of attorney."""
    name: str
    id_type: IdType | None = None
    id_number: str = ""
    phone: str = ""
    authority: AgentAuthority | None = None
    scope: str = ""


@dataclass(frozen=True)
class PartyIn:
    kind: PartyKind | None
    side: Side | None
    name: str
    sex: str = ""
    ethnicity: str = ""
    age: int = 0
    occupation: str = ""
    phone: str = ""
    address: str = ""
    id_type: IdType | None = None
    id_number: str = ""
    no_id_reason: str = ""
    credit_code: str = ""
    language: str = "zh"
    consent: Consent | None = None
    disclosed_at: datetime | None = None
    routes_told: tuple[str, ...] = ()
    service_address: str = ""
    service_address_confirmed: bool = False
    agents: tuple[AgentIn, ...] = ()


@dataclass(frozen=True)
class RiskFactors:
    threats_of_violence: bool = False
    prior_incidents: int = 0
    people_involved: int = 0
    vulnerable_party: bool = False
    repeat_petitions: int = 0


@dataclass(frozen=True)
class Registration:
    request_id: str
    region_code: str
    dispute_type: str
    source: Source | None
    referral: Referral
    facts: str
    requested_outcome: str
    amount_fen: int
    parties: tuple[PartyIn, ...]
    registering_person_id: str
    registering_org_id: str
    chosen_mediator_id: str = ""
    risk: RiskFactors = field(default_factory=RiskFactors)
    # The court or police case system the referral came from (external-systems API), if any.
    referring_system_id: str = ""


@dataclass(frozen=True)
class CheckedAgent:
    agent: AgentIn
    id_number: str        # normalised
    phone: str            # normalised ('' when none)


@dataclass(frozen=True)
class CheckedParty:
    """A party after validation: normalised identifiers, ready to store."""
    party: PartyIn
    id_number: str        # normalised ('' when none)
    phone: str            # normalised ('' when none)
    birth_sex: str        # from the ID when it has one
    agents: tuple[CheckedAgent, ...] = ()


@dataclass(frozen=True)
class RiskAssessment:
    score: int
    reasons: tuple[str, ...]
    flagged: bool


@dataclass(frozen=True)
class Decision:
    status: Status
    parties: tuple[CheckedParty, ...]
    risk: RiskAssessment
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class LiaisonOfficer:
    """A liaison officer as intake knows them, projected from personnel's person-changed."""
    person_id: str
    organization_id: str
    office: OfficeKind
    office_region: str      # the organization's region code
    active: bool            # holds the liaison role and is not removed


@dataclass(frozen=True)
class Acknowledgement:
    office: OfficeKind
    liaison_person_id: str
    organization_id: str
    at: datetime


@dataclass(frozen=True)
class WarningState:
    """An early warning (预警) as the escalation rules see it."""
    region_code: str
    flagged_at: datetime
    escalation_level: int
    acknowledgements: tuple[Acknowledgement, ...] = ()


@dataclass(frozen=True)
class Escalation:
    level: int
    unacknowledged: tuple[OfficeKind, ...]
    next_at: datetime | None   # when the following level is due; None at the last level
