"""What the mediation domain decides happened. The application stores them in the outbox with
the case; the contracts (protos) say which are published and how they are masked.

Consumers named in issue 8: notification (sessions, reminders, extension requests, outcomes),
intake's `outcomes` and personnel's performance file (agreement, failure, termination),
confirmation (an effective agreement starts the 30-day window of CPL 2023 Art.205), the court
integration (a case returned to court, a false-mediation report on a court-related case).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TypedDict
from uuid import UUID

from liandiao.legaltime import Deadline
from services.mediation.domain.content import (
    AgreementContent,
    AgreementMode,
    PartyDetails,
    PartySignature,
    Seal,
    SignatureMethod,
    SignerRole,
)
from services.mediation.domain.model import (
    Case,
    CaseSource,
    ClosingReason,
    CourtNextStep,
    FollowUpResult,
    HoldKind,
    MediatorOnCase,
    Participant,
    Publicity,
    SessionRecord,
    TerminationGround,
    Venue,
)


@dataclass(frozen=True, kw_only=True)
class MediationEvent:
    case_id: UUID
    dispute_id: UUID
    at: datetime


class CaseRef(TypedDict):
    case_id: UUID
    dispute_id: UUID


def ref(case: Case) -> CaseRef:
    """The ids every event of `case` carries: `SomeEvent(**ref(case), at=now, ...)`."""
    return {"case_id": case.case_id, "dispute_id": case.dispute_id}


@dataclass(frozen=True, kw_only=True)
class CaseOpened(MediationEvent):
    organization_id: str
    mediator_id: str
    source: CaseSource
    deadline: Deadline


# ---- sessions ---------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class SessionScheduled(MediationEvent):
    session_id: str
    number: int
    scheduled_for: datetime
    venue: Venue
    participants: tuple[Participant, ...]
    publicity: Publicity


@dataclass(frozen=True, kw_only=True)
class SessionRescheduled(MediationEvent):
    session_id: str
    previous: datetime
    scheduled_for: datetime
    reason: str
    participants: tuple[Participant, ...]


@dataclass(frozen=True, kw_only=True)
class SessionCancelled(MediationEvent):
    session_id: str
    reason: str
    participants: tuple[Participant, ...]


@dataclass(frozen=True, kw_only=True)
class SessionHeld(MediationEvent):
    session_id: str
    record: SessionRecord


@dataclass(frozen=True, kw_only=True)
class SessionNoShow(MediationEvent):
    session_id: str
    absent_party_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class PublicityChosen(MediationEvent):
    party_id: str
    choice: Publicity
    publicity: Publicity  # what sessions scheduled from now on will be


@dataclass(frozen=True, kw_only=True)
class MediatorsChanged(MediationEvent):
    mediators: tuple[MediatorOnCase, ...]
    change: str


# ---- the clock --------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class ExtensionRequested(MediationEvent):
    request_id: str
    days: int
    reason: str
    party_ids: tuple[str, ...]  # whose consent is needed: every party


@dataclass(frozen=True, kw_only=True)
class ExtensionConsentRecorded(MediationEvent):
    request_id: str
    party_id: str
    waiting_for: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ExtensionGranted(MediationEvent):
    request_id: str
    days: int
    deadline: Deadline


@dataclass(frozen=True, kw_only=True)
class ExtensionRefused(MediationEvent):
    request_id: str
    party_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ExpiryReminderDue(MediationEvent):
    deadline: Deadline
    working_days_left: int
    mediator_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CaseSuspended(MediationEvent):
    kind: HoldKind
    reason: str


@dataclass(frozen=True, kw_only=True)
class CaseResumed(MediationEvent):
    kind: HoldKind
    deadline: Deadline
    days_not_counted: int


@dataclass(frozen=True, kw_only=True)
class FalseMediationReported(MediationEvent):
    """To the judicial office over the case's region and, when court-related, the court."""

    reason: str
    reported_by: str
    region_code: str
    organization_id: str
    court_id: str  # empty unless the case is court-related
    agreement_id: str  # the agreement concerned, if any


@dataclass(frozen=True, kw_only=True)
class FalseMediationCleared(MediationEvent):
    reason: str
    court_id: str


# ---- the agreement ----------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class AgreementDrafted(MediationEvent):
    agreement_id: str
    version: int
    mode: AgreementMode
    template_key: str
    digest: str


@dataclass(frozen=True, kw_only=True)
class AgreementAmended(MediationEvent):
    agreement_id: str
    version: int
    digest: str
    signatures_invalidated: int
    seal_invalidated: bool


@dataclass(frozen=True, kw_only=True)
class AgreementSigned(MediationEvent):
    agreement_id: str
    version: int
    signer_id: str
    role: SignerRole
    method: SignatureMethod
    digest: str
    waiting_for: tuple[str, ...]  # signers (and "seal") still missing


@dataclass(frozen=True, kw_only=True)
class SealApplied(MediationEvent):
    agreement_id: str
    key_id: str
    digest: str


@dataclass(frozen=True, kw_only=True)
class AgreementDiscarded(MediationEvent):
    agreement_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class OralAgreementRecorded(MediationEvent):
    agreement_id: str
    agreed_on: date
    digest: str


@dataclass(frozen=True, kw_only=True)
class AgreementEffective(MediationEvent):
    """What judicial confirmation needs (CPL 2023 Art.205, SPC-Interp Art.354): the structured
    content, the canonical document and its SM3 digest, the effective date (the 30-day window
    starts there), the organization that presided, the referring court if any, the parties."""

    agreement_id: str
    version: int
    mode: AgreementMode
    content: AgreementContent
    document: bytes  # the canonical document the signatures cover
    digest: str
    effective_on: date
    effective_at: datetime
    organization_id: str
    referring_org_id: str
    source: CaseSource
    region_code: str
    dispute_type: str
    parties: tuple[PartyDetails, ...]
    signatures: tuple[PartySignature, ...]
    seal: Seal | None
    copies: int
    mediator_ids: tuple[str, ...]  # presiding first


# ---- ending -----------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class MediationTerminated(MediationEvent):
    ground: TerminationGround
    reason: str
    routes_told: tuple[str, ...]
    source: CaseSource
    organization_id: str
    referring_org_id: str
    returned_to_court: bool
    mediator_ids: tuple[str, ...]
    cancelled_session_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CaseReturnedToCourt(MediationEvent):
    """A failed court-related case goes back (SPC-Invited Art.21)."""

    court_id: str
    next_step: CourtNextStep
    ground: TerminationGround
    reason: str
    source: CaseSource


@dataclass(frozen=True, kw_only=True)
class FollowUpRecorded(MediationEvent):
    visit_id: str
    result: FollowUpResult
    next_visit_on: date | None


@dataclass(frozen=True, kw_only=True)
class CaseClosed(MediationEvent):
    reason: ClosingReason
