"""Every event type of the platform: its producing service, its name on the topic
and its protobuf payload. Topic: ``liandiao.<service>.<event>.v1.<prefecture>``."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

from liandiao.confirmation.v1 import confirmation_pb2 as confirmation
from liandiao.intake.v1 import intake_pb2 as intake
from liandiao.mediation.v1 import mediation_pb2 as mediation
from liandiao.notification.v1 import notification_pb2 as notification
from liandiao.personnel.v1 import personnel_pb2 as personnel
from liandiao.routing.v1 import routing_pb2 as routing


@dataclass(frozen=True)
class EventType:
    service: str
    name: str
    message: type[Message]
    version: int = 1

    @property
    def key(self) -> str:
        """The value of the event-type header, e.g. ``intake.dispute-registered.v1``."""
        return f"{self.service}.{self.name}.v{self.version}"


DISPUTE_REGISTERED = EventType("intake", "dispute-registered", intake.DisputeRegistered)
RISK_FLAGGED = EventType("intake", "risk-flagged", intake.RiskFlagged)
WARNING_ACKNOWLEDGED = EventType("intake", "warning-acknowledged", intake.WarningAcknowledged)
PERSON_CHANGED = EventType("personnel", "person-changed", personnel.PersonChanged)
ROSTER_CHANGED = EventType("personnel", "roster-changed", personnel.RosterChanged)
DISPUTE_ASSIGNED = EventType("routing", "dispute-assigned", routing.DisputeAssigned)
DISPUTE_ESCALATED = EventType("routing", "dispute-escalated", routing.DisputeEscalated)
ASSIGNMENT_EXPIRED = EventType("routing", "assignment-expired", routing.AssignmentExpired)
SESSION_SCHEDULED = EventType("mediation", "session-scheduled", mediation.SessionScheduled)
SESSION_CANCELLED = EventType("mediation", "session-cancelled", mediation.SessionCancelled)
AGREEMENT_EFFECTIVE = EventType("mediation", "agreement-effective", mediation.AgreementEffective)
MEDIATION_FAILED = EventType("mediation", "mediation-failed", mediation.MediationFailed)
CASE_RETURNED_TO_COURT = EventType("mediation", "case-returned-to-court", mediation.CaseReturnedToCourt)
EXPIRY_REMINDER_DUE = EventType("mediation", "expiry-reminder-due", mediation.ExpiryReminderDue)
FALSE_MEDIATION_REPORTED = EventType("mediation", "false-mediation-reported", mediation.FalseMediationReported)
SIGNING_CODE_ISSUED = EventType("mediation", "signing-code-issued", mediation.SigningCodeIssued)
APPLICATION_FILED = EventType("confirmation", "application-filed", confirmation.ApplicationFiled)
APPLICATION_ACCEPTED = EventType("confirmation", "application-accepted", confirmation.ApplicationAccepted)
APPLICATION_REFUSED = EventType("confirmation", "application-refused", confirmation.ApplicationRefused)
RULING_ISSUED = EventType("confirmation", "ruling-issued", confirmation.RulingIssued)
APPLICATION_WITHDRAWN = EventType("confirmation", "application-withdrawn", confirmation.ApplicationWithdrawn)
OBJECTION_FILED = EventType("confirmation", "objection-filed", confirmation.ObjectionFiled)
COURT_DEADLINE_REMINDER = EventType("confirmation", "court-deadline-reminder", confirmation.ConfirmationDeadlineReminder)
SUPPLEMENT_DEADLINE_REMINDER = EventType("confirmation", "supplement-deadline-reminder",
                                         confirmation.ConfirmationDeadlineReminder)
DELIVERY_SUCCEEDED = EventType("notification", "delivery-succeeded", notification.DeliverySucceeded)
DELIVERY_FAILED = EventType("notification", "delivery-failed", notification.DeliveryFailed)

ALL: tuple[EventType, ...] = (
    DISPUTE_REGISTERED, RISK_FLAGGED, PERSON_CHANGED, ROSTER_CHANGED,
    DISPUTE_ASSIGNED, DISPUTE_ESCALATED, ASSIGNMENT_EXPIRED,
    SESSION_SCHEDULED, AGREEMENT_EFFECTIVE, MEDIATION_FAILED,
    CASE_RETURNED_TO_COURT, EXPIRY_REMINDER_DUE, FALSE_MEDIATION_REPORTED, SIGNING_CODE_ISSUED,
    APPLICATION_FILED, APPLICATION_ACCEPTED, APPLICATION_REFUSED, RULING_ISSUED,
    COURT_DEADLINE_REMINDER, SUPPLEMENT_DEADLINE_REMINDER, DELIVERY_SUCCEEDED, DELIVERY_FAILED,
    WARNING_ACKNOWLEDGED, SESSION_CANCELLED, APPLICATION_WITHDRAWN, OBJECTION_FILED,
)
BY_KEY = {e.key: e for e in ALL}
