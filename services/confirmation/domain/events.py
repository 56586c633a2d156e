"""What confirmation decides, as events: the only output of the decide_* functions.

The store persists them (and the state evolve() derives from them) with the outbox rows the
api layer maps to the protobuf events of protos/liandiao/confirmation/v1. Deadlines are
computed once, here, and travel on the event that started their clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from liandiao.legaltime import Deadline
from services.confirmation.domain.admissibility import Admissibility, AdmissionDecision
from services.confirmation.domain.jurisdiction import Competence
from services.confirmation.domain.materials import MaterialItem
from services.confirmation.domain.model import Applicant
from services.confirmation.domain.numbering import CaseNumber
from services.confirmation.domain.ruling import Outcome, RejectionGround, RulingDocument


class RefusalAdvice(StrEnum):
    """What the parties of a refused application may do (each locale words it itself)."""

    MEDIATE_AGAIN_OR_SUE = "mediate_again_or_sue"            # PML Art.33
    APPLY_TO_COMPETENT_COURT = "apply_to_competent_court"    # not this court's: SPC-Interp Art.351


@dataclass(frozen=True, kw_only=True)
class ApplicationFiled:
    application_id: str
    agreement_id: str
    dispute_id: str
    court_id: str
    applicants: tuple[Applicant, ...]
    filed_at: datetime
    submitted: frozenset[MaterialItem]
    missing: tuple[MaterialItem, ...]
    application_window: Deadline  # CPL 2023 Art.205, as it stood when filed
    accept_by: Deadline  # SPC-2011 Art.4
    competence: Competence
    proposed: Admissibility  # shown to the judge with its reasons (SPC-Interp Art.355)


@dataclass(frozen=True, kw_only=True)
class SupplementRequested:
    application_id: str
    requested_at: datetime
    items: tuple[MaterialItem, ...]
    supplement_by: Deadline
    during_review: bool  # Art.356 (after acceptance) rather than Art.354


@dataclass(frozen=True, kw_only=True)
class MaterialsSupplemented:
    application_id: str
    at: datetime
    items: frozenset[MaterialItem]
    outstanding: tuple[MaterialItem, ...]  # still missing of what the court asked for
    accept_by: Deadline | None  # restarted once complete before acceptance


@dataclass(frozen=True, kw_only=True)
class ApplicationAccepted:
    application_id: str
    accepted_at: datetime
    judge_id: str
    case_number: CaseNumber
    decide_by: Deadline  # SPC-2011 Art.5: 15 days
    ceiling: Deadline  # CPL 2023 Art.187: 30 days from 立案
    decision: AdmissionDecision
    late: bool  # after the 3 days of SPC-2011 Art.4


@dataclass(frozen=True, kw_only=True)
class ApplicationRefused:
    application_id: str
    refused_at: datetime
    judge_id: str
    decision: AdmissionDecision
    advice: str
    late: bool
    advice_code: RefusalAdvice = RefusalAdvice.MEDIATE_AGAIN_OR_SUE


@dataclass(frozen=True, kw_only=True)
class DecisionPeriodExtended:
    application_id: str
    at: datetime
    approved_by: str  # the court president (院长) who approved
    reason: str
    decide_by: Deadline  # 15 + 10 days from acceptance


@dataclass(frozen=True, kw_only=True)
class ApplicationWithdrawn:
    application_id: str
    at: datetime
    by_party_id: str  # empty when deemed withdrawn
    deemed: bool  # SPC-Interp Art.357: the supplement deadline passed
    reason: str
    source: str


@dataclass(frozen=True, kw_only=True)
class ApplicationClosed:
    application_id: str
    at: datetime
    winner_application_id: str
    winner_court_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RulingIssued:
    application_id: str
    ruling_id: str
    dispute_id: str
    court_id: str
    judge_id: str
    outcome: Outcome
    ground: RejectionGround | None
    case_number: CaseNumber
    issued_at: datetime
    document: RulingDocument
    # SM3 of render_ruling(document), hex: filled in by the layer that signs; the domain does not
    # digest (liandiao.signing owns the algorithm).
    document_digest: str = ""
    enforcement_by: Deadline | None  # CPL 2023 Art.250, valid rulings only
    late: bool


class NoticeRecipient(StrEnum):
    JUDICIAL_ADMINISTRATION = "judicial_administration"  # 同级司法行政机关
    MEDIATION_COMMITTEE = "mediation_committee"  # 相关人民调解委员会


@dataclass(frozen=True, kw_only=True)
class RejectionNotice:
    """SPC-2011 Art.12: the court informs the judicial administration of its level and the
    committee of agreements it did not confirm; notification turns this into messages."""

    application_id: str
    ruling_id: str
    recipient: NoticeRecipient
    recipient_ref: str  # the committee's organization id, or the administration's region code
    court_id: str
    case_number: CaseNumber
    ground: RejectionGround
    issued_at: datetime


@dataclass(frozen=True, kw_only=True)
class ObjectionFiled:
    application_id: str
    ruling_id: str
    objection_id: str
    objector: str  # a party id, or the third party's name
    third_party: bool
    grounds: str
    filed_at: datetime
    window: Deadline  # SPC-Interp Art.372


@dataclass(frozen=True, kw_only=True)
class ReminderDue:
    application_id: str
    court_id: str
    judge_id: str  # empty before acceptance: the court's filing desk
    deadline: str  # DeadlineKind value
    last_day: date
    lead_days: int  # the policy's working days before the last day
    at: datetime
    audience: str = "court"  # clock.Audience value
    working_days_left: int = 0
    due: Deadline | None = None
    outstanding: tuple[MaterialItem, ...] = ()  # a supplement reminder: what is still missing


Event = (
    ApplicationFiled | SupplementRequested | MaterialsSupplemented | ApplicationAccepted | ApplicationRefused
    | DecisionPeriodExtended | ApplicationWithdrawn | ApplicationClosed | RulingIssued | RejectionNotice
    | ObjectionFiled | ReminderDue
)
