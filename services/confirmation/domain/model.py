"""Confirmation's own model of the agreement it confirms and of the courts that confirm it.

Built once from mediation's `agreement-effective` event (and personnel's court directory) by
the layers above; nothing here parses another service's messages. Frozen dataclasses, no I/O.

What a term *asks* is structured, because admissibility (SPC-Interp Art.355) depends on it and
not on the dispute type: a family dispute whose terms pay support is admissible, one whose term
declares a divorce is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

# The sides and what a term asks are the vocabulary of the signed ruling as well, so they live
# with its canonical format (liandiao.documents.ruling), which the console reads too.
from liandiao.documents.ruling import Asks, Side

# ---- parties ---------------------------------------------------------------------------------


class PartyKind(StrEnum):
    PERSON = "person"
    ORGANIZATION = "organization"


class AgentAuthority(StrEnum):
    """What an agent may do for a party.

    Applying for confirmation disposes of the party's claim, so a commissioned agent needs
    special authority (特别授权, CPL 2023 Art.62; SPC-Interp Art.351 admits agents under
    Art.61); a statutory agent (法定代理人, Art.60) acts for a party without capacity.
    A general authority (一般授权) does not suffice.
    """

    SPECIAL = "special"
    GENERAL = "general"
    STATUTORY = "statutory"

    @property
    def may_apply(self) -> bool:
        return self is not AgentAuthority.GENERAL


@dataclass(frozen=True)
class Agent:
    agent_id: str
    name: str
    authority: AgentAuthority


@dataclass(frozen=True, kw_only=True)
class Party:
    """A party as confirmation needs it. Personal data stays fingerprinted (keyed hashes from
    intake): enough to match the same person, phone or address across confirmations."""

    party_id: str
    name: str
    side: Side
    kind: PartyKind = PartyKind.PERSON
    domicile_region: str  # GB/T 2260 (6, 9 or 12 digits): where the party is domiciled (住所地)
    agents: tuple[Agent, ...] = ()
    id_fingerprint: str = ""
    phone_fingerprint: str = ""
    address_fingerprint: str = ""

    def agent(self, agent_id: str) -> Agent | None:
        return next((a for a in self.agents if a.agent_id == agent_id), None)


# ---- terms: what each term asks --------------------------------------------------------------


# Asks (what a term asks) is the signed ruling's vocabulary too: liandiao.documents.ruling.


class StatusRelation(StrEnum):
    """Identity relationships (身份关系, SPC-Interp Art.355 item 3: "婚姻关系、亲子关系、收养关系等")."""

    MARRIAGE = "marriage"
    PARENT_CHILD = "parent_child"
    ADOPTION = "adoption"
    OTHER = "other"  # the "等": another identity relationship


class OwnershipObject(StrEnum):
    PROPERTY = "property"  # 物权
    INTELLECTUAL_PROPERTY = "intellectual_property"  # 知识产权


class SpecialMatter(StrEnum):
    """Matters heard under other special procedures, public summons or bankruptcy (Art.355 item 4)."""

    VOTER_ELIGIBILITY = "voter_eligibility"
    MISSING_OR_DEAD = "missing_or_dead"
    ESTATE_ADMINISTRATOR = "estate_administrator"
    CAPACITY = "capacity"
    OWNERLESS_PROPERTY = "ownerless_property"
    SECURITY_INTEREST = "security_interest"
    PUBLIC_SUMMONS = "public_summons"
    BANKRUPTCY = "bankruptcy"


@dataclass(frozen=True, kw_only=True)
class Term:
    """One agreed term. `due_on` is the last day of performance (CPL 2023 Art.250 para.2 runs the
    enforcement period from it); the qualifier fields are required by, and allowed only for,
    their kind."""

    asks: Asks
    description: str
    obligor_party_id: str = ""
    obligee_party_id: str = ""
    due_on: date | None = None
    amount_fen: int | None = None  # PAYMENT
    relation: StatusRelation | None = None  # STATUS
    ownership_of: OwnershipObject | None = None  # OWNERSHIP
    matter: SpecialMatter | None = None  # SPECIAL_PROCEDURE

    def __post_init__(self) -> None:
        if not self.description.strip():
            raise ValueError("a term needs a description")
        qualifiers = {
            Asks.PAYMENT: ("amount_fen", self.amount_fen),
            Asks.STATUS: ("relation", self.relation),
            Asks.OWNERSHIP: ("ownership_of", self.ownership_of),
            Asks.SPECIAL_PROCEDURE: ("matter", self.matter),
        }
        for kind, (name, value) in qualifiers.items():
            if kind is self.asks and value is None:
                raise ValueError(f"a {kind.value} term needs {name}")
            if kind is not self.asks and value is not None:
                raise ValueError(f"{name} belongs to a {kind.value} term, not a {self.asks.value} one")
        if self.amount_fen is not None and (isinstance(self.amount_fen, bool) or self.amount_fen <= 0):
            raise ValueError("amount_fen must be a positive number of fen")


# ---- courts and the mediation organization ---------------------------------------------------


class CourtLevel(StrEnum):
    BASIC = "basic"  # 基层人民法院 (and its people's tribunals)
    INTERMEDIATE = "intermediate"  # 中级人民法院
    HIGH = "high"  # 高级人民法院


_REGION_PREFIX = {CourtLevel.BASIC: 6, CourtLevel.INTERMEDIATE: 4, CourtLevel.HIGH: 2}


@dataclass(frozen=True, kw_only=True)
class Court:
    """A court, or a people's tribunal (人民法庭) when `basic_court` is set.

    A tribunal is the basic court's branch: it hears confirmations for its court (SPC-2011 Art.1:
    "基层人民法院或者它派出的法庭"), numbers its cases under the court's code and shares its
    competence. `region_code` is the 6-digit GB/T 2260 code of the court's seat; the area it
    serves defaults to that code cut to its level (county, prefecture, province).
    `jurisdiction_regions` overrides it where the map is not the court's area (the three
    intermediate courts of Beijing share prefecture 1101; a tribunal serving some townships).
    `case_code` overrides the code derived from the region (railway courts, 兵团 courts).
    """

    court_id: str
    name: str
    region_code: str
    level: CourtLevel
    basic_court: Court | None = None
    jurisdiction_regions: tuple[str, ...] = ()
    case_code: str = ""

    def __post_init__(self) -> None:
        if not (len(self.region_code) == 6 and self.region_code.isascii() and self.region_code.isdigit()):
            raise ValueError(f"court {self.court_id}: region_code must be 6 digits, got {self.region_code!r}")
        if self.basic_court is not None:
            if self.level is not CourtLevel.BASIC or self.basic_court.level is not CourtLevel.BASIC:
                raise ValueError(f"court {self.court_id}: a people's tribunal belongs to a basic court")
            if self.basic_court.is_tribunal:
                raise ValueError(f"court {self.court_id}: a tribunal's court cannot be a tribunal")

    @property
    def is_tribunal(self) -> bool:
        return self.basic_court is not None

    @property
    def seat(self) -> Court:
        """The court a tribunal belongs to; a court is its own seat."""
        return self.basic_court if self.basic_court is not None else self

    @property
    def serves(self) -> tuple[str, ...]:
        """Region-code prefixes of the area whose places this court is "where ... lies" for."""
        if self.jurisdiction_regions:
            return self.jurisdiction_regions
        if self.basic_court is not None:
            return self.basic_court.serves
        return (self.region_code[: _REGION_PREFIX[self.level]],)

    def covers(self, place_region: str | None) -> bool:
        """True when a place (a county or a finer code) lies in the area this court serves."""
        if not place_region or len(place_region) < 6:
            return False  # a prefecture or province code does not name a place precisely enough
        return any(place_region.startswith(prefix) for prefix in self.serves)


@dataclass(frozen=True)
class MediationOrganization:
    organization_id: str
    name: str
    region_code: str  # where it sits (调解组织所在地)


class DisputeLevel(StrEnum):
    """Which first-instance court the dispute belongs to (CPL 2023 Art.205 item 2: "调解协议所涉纠纷
    应当由中级人民法院管辖的，向相应的中级人民法院提出")."""

    BASIC = "basic"
    INTERMEDIATE = "intermediate"


# ---- the agreement ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Agreement:
    """An effective mediation agreement (PML Art.29-30, SPC-Online Art.19).

    `delegating_court_id` is the court that delegated (委派) or invited the mediation before
    filing; only it may confirm (CPL 2023 Art.205 item 1), and its confirmation is numbered
    诉前调确. `registered_at` is when the dispute was registered (the false-mediation signal
    "agreed unusually fast" measures from it).
    """

    agreement_id: str
    dispute_id: str
    case_id: str = ""
    dispute_type: str
    parties: tuple[Party, ...]
    terms: tuple[Term, ...]
    effective_at: datetime
    organization: MediationOrganization
    mediator_ids: tuple[str, ...] = ()
    delegating_court_id: str | None = None
    subject_matter_region: str | None = None  # where the subject matter lies (标的物所在地)
    level: DisputeLevel = DisputeLevel.BASIC
    registered_at: datetime | None = None
    _by_id: dict[str, Party] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.effective_at.tzinfo is None:
            raise ValueError("effective_at must be an aware datetime")
        ids = [p.party_id for p in self.parties]
        if len(ids) != len(set(ids)):
            raise ValueError(f"agreement {self.agreement_id}: a party is listed twice")
        if {p.side for p in self.parties} != set(Side):
            raise ValueError(f"agreement {self.agreement_id}: needs parties on both sides")
        if not self.terms:
            raise ValueError(f"agreement {self.agreement_id}: has no terms")
        object.__setattr__(self, "_by_id", {p.party_id: p for p in self.parties})

    def party(self, party_id: str) -> Party | None:
        return self._by_id.get(party_id)

    @property
    def total_amount_fen(self) -> int:
        return sum(t.amount_fen or 0 for t in self.terms)


@dataclass(frozen=True)
class Applicant:
    """Who applies for a party: the party in person (`agent_id` empty) or through its agent.
    An organization in person means through its legal representative."""

    party_id: str
    agent_id: str = ""
