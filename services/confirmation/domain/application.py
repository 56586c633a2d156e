"""The application aggregate: its state, started by ApplicationFiled and moved by evolve().

The state is a fold of the events; every status change goes through states.transition, so a
store that replays events cannot reach a state the table does not allow.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from liandiao.legaltime import Deadline
from services.confirmation.domain import events as ev
from services.confirmation.domain.materials import MaterialItem, missing_materials
from services.confirmation.domain.model import Agreement, Applicant, Court
from services.confirmation.domain.numbering import CaseNumber
from services.confirmation.domain.ruling import Outcome, RejectionGround
from services.confirmation.domain.states import Action, Status, transition


@dataclass(frozen=True)
class Ruled:
    ruling_id: str
    outcome: Outcome
    ground: RejectionGround | None
    issued_at: datetime


@dataclass(frozen=True, kw_only=True)
class Application:
    application_id: str
    agreement: Agreement
    court: Court
    applicants: tuple[Applicant, ...]
    status: Status
    filed_at: datetime
    required: frozenset[MaterialItem]
    submitted: frozenset[MaterialItem]
    accept_by: Deadline
    supplement_items: tuple[MaterialItem, ...] = ()  # what the court asked for, while waiting
    supplement_by: Deadline | None = None
    accepted_at: datetime | None = None
    judge_id: str = ""
    case_number: CaseNumber | None = None
    decide_by: Deadline | None = None
    ceiling: Deadline | None = None
    extended: bool = False
    ruling: Ruled | None = None
    objection_ids: tuple[str, ...] = ()
    reminders_sent: frozenset[tuple[str, str, int]] = frozenset()  # (deadline kind, last day, lead)

    @property
    def missing(self) -> tuple[MaterialItem, ...]:
        return missing_materials(self.required, self.submitted)

    @property
    def outstanding(self) -> tuple[MaterialItem, ...]:
        """What the court asked for and has not received."""
        return missing_materials(self.supplement_items, self.submitted)


def start(filed: ev.ApplicationFiled, agreement: Agreement, court: Court, required: frozenset[MaterialItem]) -> Application:
    return Application(
        application_id=filed.application_id, agreement=agreement, court=court, applicants=filed.applicants,
        status=Status.FILED, filed_at=filed.filed_at, required=required, submitted=filed.submitted,
        accept_by=filed.accept_by,
    )


def _moved(app: Application, action: Action, **changes: object) -> Application:
    return replace(app, status=transition(app.status, action), **changes)  # type: ignore[arg-type]


def evolve(app: Application, event: ev.Event) -> Application:
    """The state after `event` (an event decided for this application)."""
    match event:
        case ev.SupplementRequested():
            return _moved(app, Action.REQUEST_SUPPLEMENT, supplement_items=event.items,
                          supplement_by=event.supplement_by)
        case ev.MaterialsSupplemented():
            submitted = app.submitted | event.items
            if event.outstanding:
                return _moved(app, Action.SUPPLEMENT_PART, submitted=submitted)
            return _moved(app, Action.SUPPLEMENT_COMPLETE, submitted=submitted, supplement_items=(),
                          supplement_by=None, accept_by=event.accept_by or app.accept_by)
        case ev.ApplicationAccepted():
            return _moved(app, Action.ACCEPT, accepted_at=event.accepted_at, judge_id=event.judge_id,
                          case_number=event.case_number, decide_by=event.decide_by, ceiling=event.ceiling)
        case ev.ApplicationRefused():
            return _moved(app, Action.REFUSE, judge_id=event.judge_id)
        case ev.DecisionPeriodExtended():
            return _moved(app, Action.EXTEND, extended=True, decide_by=event.decide_by)
        case ev.ApplicationWithdrawn():
            return _moved(app, Action.LAPSE if event.deemed else Action.WITHDRAW, supplement_by=None)
        case ev.ApplicationClosed():
            return _moved(app, Action.CLOSE, supplement_by=None)
        case ev.RulingIssued():
            action = Action.RULE_VALID if event.outcome is Outcome.VALID else Action.RULE_REJECTED
            return _moved(app, action, supplement_by=None,
                          ruling=Ruled(event.ruling_id, event.outcome, event.ground, event.issued_at))
        case ev.ObjectionFiled():
            return _moved(app, Action.OBJECT, objection_ids=(*app.objection_ids, event.objection_id))
        case ev.ReminderDue():
            sent = (event.deadline, event.last_day.isoformat(), event.lead_days)
            return _moved(app, Action.REMIND, reminders_sent=app.reminders_sent | {sent})
        case ev.RejectionNotice() | ev.ApplicationFiled():
            return app
    raise TypeError(f"not an application event: {event!r}")

