"""What callers ask of an application. Ids are chosen by the caller (the app layer makes UUIDv7s)
so that the decisions stay pure; the case sequence comes from the store's counter for
rules.case_counter_key(...)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.confirmation.domain.admissibility import InadmissibleGround
from services.confirmation.domain.materials import MaterialItem
from services.confirmation.domain.model import Agreement, Applicant, Court
from services.confirmation.domain.ruling import Outcome, RejectionGround


@dataclass(frozen=True, kw_only=True)
class FileApplication:
    application_id: str
    agreement: Agreement
    court: Court
    applicants: tuple[Applicant, ...]
    submitted: frozenset[MaterialItem] = frozenset()
    # Courts the applicants could have chosen, to name them when this one is not competent.
    known_courts: tuple[Court, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RequestSupplement:
    days: int  # the court's deadline, counted by CPL 2023 Art.85
    items: tuple[MaterialItem, ...] = ()  # before acceptance: default, everything missing


@dataclass(frozen=True, kw_only=True)
class SubmitMaterials:
    items: frozenset[MaterialItem]


@dataclass(frozen=True, kw_only=True)
class Accept:
    judge_id: str
    sequence: int  # from the store's gapless counter
    reasons: str = ""
    override_reason: str = ""  # required when the proposal was to refuse


@dataclass(frozen=True, kw_only=True)
class Refuse:
    judge_id: str
    grounds: tuple[InadmissibleGround, ...]
    reasons: str
    override_reason: str = ""  # required when the grounds differ from the proposal


@dataclass(frozen=True, kw_only=True)
class Extend:
    approved_by: str  # the court president
    reason: str


@dataclass(frozen=True, kw_only=True)
class Withdraw:
    party_id: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class Rule:
    ruling_id: str
    judge_id: str
    judge_name: str
    outcome: Outcome
    reasons: str
    ground: RejectionGround | None = None


@dataclass(frozen=True, kw_only=True)
class Object:
    objection_id: str
    objector: str  # a party id, or a third party's name
    third_party: bool
    grounds: str
    received_on: date | None = None  # a party: when it received the ruling
    knew_on: date | None = None  # a third party: when it knew or should have known of the harm
