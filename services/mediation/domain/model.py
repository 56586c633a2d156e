"""The mediation case and its parts, as frozen dataclasses. No behaviour beyond lookups:
the rules are in rules.py, clock.py, sessions.py, agreement.py and ending.py.

The case owns its own copy of what it needs about the dispute and its parties (issue 8): built
once from routing's `dispute-assigned`, never another service's serialized message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING
from uuid import UUID

from liandiao.legaltime import Deadline
from services.mediation.domain.content import Agreement, PartyKind, PartySide
from services.mediation.domain.states import AgreementState, CaseState, SessionState

if TYPE_CHECKING:  # events.py builds on this module
    from services.mediation.domain.events import MediationEvent


class CaseSource(Enum):
    PARTY_APPLICATION = "party_application"
    OWN_INITIATIVE = "own_initiative"
    POLICE_REFERRAL = "police_referral"
    COURT_DELEGATION = "court_delegation"  # 委派, pre-filing
    COURT_COMMISSION = "court_commission"  # 委托, post-filing
    DEPARTMENT_REFERRAL = "department_referral"
    ONLINE = "online"

    @property
    def court_related(self) -> bool:
        """Delegated or commissioned by a court: a failure goes back to that court."""
        return self in (CaseSource.COURT_DELEGATION, CaseSource.COURT_COMMISSION)


class CourtProcedure(Enum):
    NONE = ""
    ORDINARY = "ordinary"
    SIMPLIFIED = "simplified"


class ActorRole(Enum):
    MEDIATOR = "mediator"
    CLERK = "clerk"  # the committee's staff
    PARTY = "party"
    OFFICIAL = "official"  # judicial office (司法所) staff supervising mediation
    SYSTEM = "system"  # the sweep, or a rule


@dataclass(frozen=True)
class Actor:
    """Who did it: a person and the organization they acted for (the timeline's "who")."""

    person_id: str
    organization_id: str
    role: ActorRole

    @classmethod
    def system(cls, organization_id: str) -> Actor:
        return cls("system", organization_id, ActorRole.SYSTEM)


@dataclass(frozen=True, kw_only=True)
class Party:
    """What the case keeps about a party (from the registration, masked)."""

    party_id: str
    name: str
    side: PartySide
    kind: PartyKind = PartyKind.NATURAL_PERSON
    masked_id_number: str = ""
    id_fingerprint: str = ""
    language: str = "zh"


@dataclass(frozen=True)
class MediatorOnCase:
    """A mediator of the case; exactly one presides (SPC-Invited Art.13)."""

    person_id: str
    organization_id: str
    presiding: bool = False


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    action: str  # an Action value
    from_state: CaseState | None
    to_state: CaseState
    actor: Actor
    reason: str


# ---- publicity (PML Art.23) ------------------------------------------------------------------

class Publicity(Enum):
    PUBLIC = "public"
    PRIVATE = "private"


@dataclass(frozen=True)
class PublicityChoice:
    party_id: str
    choice: Publicity
    at: datetime


# ---- sessions ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InPerson:
    place: str


@dataclass(frozen=True)
class Video:
    link: str


Venue = InPerson | Video


class ParticipantRole(Enum):
    PARTY = "party"
    MEDIATOR = "mediator"
    AGENT = "agent"  # 代理人
    INTERPRETER = "interpreter"
    WITNESS = "witness"
    OTHER = "other"  # e.g. a village cadre invited to help (PML Art.20)


@dataclass(frozen=True)
class Participant:
    """Someone at a session; parties and mediators by their case ids, others by name."""

    person_id: str
    role: ParticipantRole
    name: str = ""


@dataclass(frozen=True)
class Statement:
    speaker_id: str
    text: str


class SessionResult(Enum):
    AGREEMENT_REACHED = "agreement_reached"
    PARTIAL_AGREEMENT = "partial_agreement"
    NO_AGREEMENT = "no_agreement"
    ADJOURNED = "adjourned"


@dataclass(frozen=True, kw_only=True)
class SessionRecord:
    """调解记录 (PML Art.27; DOMAIN.md §4): time, place, participants, statements, the facts
    the parties confirmed as undisputed, the result. An electronic record counts as paper
    (SPC-Online Art.22)."""

    started_at: datetime
    ended_at: datetime
    place: str  # where it was held: the room, or the video link
    participants: tuple[Participant, ...]
    statements: tuple[Statement, ...]
    undisputed_facts: tuple[str, ...]
    result: SessionResult
    result_note: str = ""


@dataclass(frozen=True)
class Reschedule:
    previous: datetime
    scheduled_for: datetime
    reason: str
    at: datetime


@dataclass(frozen=True, kw_only=True)
class Session:
    session_id: str
    number: int  # 1, 2, ... in order of scheduling
    state: SessionState
    scheduled_for: datetime
    venue: Venue
    participants: tuple[Participant, ...]
    publicity: Publicity
    reschedules: tuple[Reschedule, ...] = ()
    record: SessionRecord | None = None
    absent_party_ids: tuple[str, ...] = ()
    cancel_reason: str = ""


# ---- the statutory clock -------------------------------------------------------------------

@dataclass(frozen=True)
class Suspension:
    """Time in pre-filing appraisal (鉴定), not counted in the mediation period."""

    started_at: datetime
    ended_at: datetime | None = None


@dataclass(frozen=True)
class Extension:
    request_id: str
    days: int
    granted_at: datetime


@dataclass(frozen=True, kw_only=True)
class Clock:
    """The period from the mediator's acceptance, and what moved its end since."""

    accepted_at: datetime
    base: Deadline  # from acceptance, by source (SPC-Invited Art.27)
    current: Deadline  # after extensions and appraisal time
    extensions: tuple[Extension, ...] = ()
    suspensions: tuple[Suspension, ...] = ()
    reminded_for: date | None = None  # the last day a reminder was sent for

    @property
    def running(self) -> bool:
        return not (self.suspensions and self.suspensions[-1].ended_at is None)


class ExtensionStatus(Enum):
    PENDING = "pending"
    GRANTED = "granted"
    REFUSED = "refused"  # a party said no
    LAPSED = "lapsed"  # the case ended before every party answered


@dataclass(frozen=True)
class Consent:
    party_id: str
    agreed: bool
    reason: str
    recorded_at: datetime
    recorded_by: Actor


@dataclass(frozen=True, kw_only=True)
class ExtensionRequest:
    request_id: str
    days: int
    reason: str
    requested_at: datetime
    requested_by: Actor
    status: ExtensionStatus = ExtensionStatus.PENDING
    consents: tuple[Consent, ...] = ()


# ---- holds, ending, follow-up ------------------------------------------------------------

class HoldKind(Enum):
    APPRAISAL = "appraisal"  # 鉴定: stops the clock
    FALSE_MEDIATION = "false_mediation"  # 虚假调解: suspended and reported


@dataclass(frozen=True)
class Hold:
    kind: HoldKind
    since: datetime
    reason: str
    by: Actor


class TerminationGround(Enum):
    """SPC-Online Art.25, in its order."""

    AGREEMENT = "agreement"
    SETTLED_WITHDRAWN = "settled_withdrawn"
    PARTY_UNREACHABLE = "party_unreachable"
    PARTY_REFUSES_TO_CONTINUE = "party_refuses_to_continue"
    POSITIONS_TOO_FAR_APART = "positions_too_far_apart"
    PERIOD_EXPIRED = "period_expired"
    PARTY_REFUSES_TO_SIGN = "party_refuses_to_sign"
    OTHER = "other"

    @property
    def failure(self) -> bool:
        """Mediation failed (the dispute is still open), as opposed to resolved by agreement
        or by the parties' own settlement."""
        return self not in (TerminationGround.AGREEMENT, TerminationGround.SETTLED_WITHDRAWN)


class CourtNextStep(Enum):
    # Pre-filing delegation failed: the court must register the case if the party insists.
    REGISTER_IF_PARTY_INSISTS = "register_if_party_insists"
    # Post-filing commission failed: the case returns to trial (SPC-Invited Art.21).
    RESUME_TRIAL = "resume_trial"


@dataclass(frozen=True, kw_only=True)
class Termination:
    ground: TerminationGround
    reason: str
    routes_told: tuple[str, ...]  # PML Art.26
    at: datetime
    by: Actor
    returned_to_court: str = ""  # the court's organization id when it went back
    court_next_step: CourtNextStep | None = None


class FollowUpResult(Enum):
    PERFORMED = "performed"
    PARTLY_PERFORMED = "partly_performed"
    NOT_PERFORMED = "not_performed"


@dataclass(frozen=True, kw_only=True)
class FollowUp:
    """A follow-up visit (回访) on performance (PML Art.31)."""

    visit_id: str
    visited_on: date
    result: FollowUpResult
    notes: str
    next_visit_on: date | None
    recorded_at: datetime
    by: Actor


class ClosingReason(Enum):
    PERFORMED = "performed"
    FOLLOW_UP_PERIOD_ENDED = "follow_up_period_ended"


@dataclass(frozen=True)
class Closure:
    reason: ClosingReason
    at: datetime


# ---- configuration ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Policy:
    """The practice values a region sets (DOMAIN.md: unconfirmed numbers are configuration).

    peoples_mediation_days: the period of people's mediation on its own (about one month);
    reminder_working_days: the expiry reminder goes out this many working days before the
    last day; follow_up_months: after the last performance deadline (or the effective date),
    how long the committee follows up before the case closes without a performance record;
    max_extension_days: the longest one extension may be (None: no cap, the law sets none).
    """

    peoples_mediation_days: int | None = None
    reminder_working_days: int = 3
    follow_up_months: int = 3
    max_extension_days: int | None = None

    def __post_init__(self) -> None:
        for name in ("reminder_working_days", "follow_up_months"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive whole number, not {value!r}")


# ---- the case ----------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Case:
    case_id: UUID
    dispute_id: UUID
    region_code: str
    dispute_type: str
    summary: str = ""  # the dispute as registered, to seed the agreement's facts
    source: CaseSource
    court_procedure: CourtProcedure = CourtProcedure.NONE
    organization_id: str  # the mediation committee
    referring_org_id: str = ""  # the court (delegation/commission) or police station
    parties: tuple[Party, ...]
    mediators: tuple[MediatorOnCase, ...]
    state: CaseState
    clock: Clock
    suspended_from: CaseState | None = None
    holds: tuple[Hold, ...] = ()
    publicity_choices: tuple[PublicityChoice, ...] = ()
    sessions: tuple[Session, ...] = ()
    extension_requests: tuple[ExtensionRequest, ...] = ()
    agreements: tuple[Agreement, ...] = ()  # every draft; void ones kept for the case file
    termination: Termination | None = None
    follow_ups: tuple[FollowUp, ...] = ()
    closure: Closure | None = None
    timeline: tuple[TimelineEntry, ...] = ()

    def party(self, party_id: str) -> Party | None:
        return next((p for p in self.parties if p.party_id == party_id), None)

    def mediator(self, person_id: str) -> MediatorOnCase | None:
        return next((m for m in self.mediators if m.person_id == person_id), None)

    @property
    def presiding(self) -> MediatorOnCase:
        return next(m for m in self.mediators if m.presiding)

    def session(self, session_id: str) -> Session | None:
        return next((s for s in self.sessions if s.session_id == session_id), None)

    @property
    def pending_extension(self) -> ExtensionRequest | None:
        return next((r for r in self.extension_requests if r.status is ExtensionStatus.PENDING), None)

    @property
    def agreement(self) -> Agreement | None:
        """The agreement being drafted or in effect; None if there is none (or only void ones)."""
        if self.agreements and self.agreements[-1].state is not AgreementState.VOID:
            return self.agreements[-1]
        return None

    def hold(self, kind: HoldKind) -> Hold | None:
        return next((h for h in self.holds if h.kind is kind), None)


@dataclass(frozen=True)
class Decision:
    """What a decide function returns: the case after the action (its timeline extended) and
    the events to publish, both stored in one transaction by the application."""

    case: Case
    events: tuple[MediationEvent, ...]
