"""Named errors of the mediation domain. Each is one of liandiao.errors' kinds, so the edge maps
it without knowing it: RuleViolation -> FAILED_PRECONDITION (the rule named), InvalidInput ->
INVALID_ARGUMENT with field violations, NotFound -> NOT_FOUND, PermissionDenied ->
PERMISSION_DENIED. Nothing is stored when one is raised: decide functions are pure."""

from __future__ import annotations

from collections.abc import Sequence

from liandiao.errors import FieldViolation, InvalidInput, NotFound, PermissionDenied, RuleViolation
from services.mediation.domain.states import Action, AgreementState, CaseState, SessionState


class TransitionNotAllowed(RuleViolation):
    """The action is not in the current state's row of the case transition table."""

    def __init__(self, state: CaseState, action: Action) -> None:
        self.state, self.action = state, action
        super().__init__("case.transition",
                         f"{action.value} is not allowed while the case is {state.value}")


class SessionActionNotAllowed(RuleViolation):
    def __init__(self, session_id: str, state: SessionState, action: Action) -> None:
        self.session_id, self.state, self.action = session_id, state, action
        super().__init__("session.transition",
                         f"{action.value} is not allowed on session {session_id}, which is {state.value}")


class AgreementActionNotAllowed(RuleViolation):
    def __init__(self, agreement_id: str, state: AgreementState, action: Action) -> None:
        self.agreement_id, self.state, self.action = agreement_id, state, action
        super().__init__("agreement.transition",
                         f"{action.value} is not allowed on agreement {agreement_id}, which is {state.value}")


class ActorNotAllowed(PermissionDenied):
    """The actor may not take this action on this case (role, case mediator, organization)."""

    def __init__(self, action: Action, person_id: str, why: str) -> None:
        self.action, self.person_id = action, person_id
        super().__init__(f"{person_id} may not {action.value}: {why}")


class SessionNotFound(NotFound):
    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(f"the case has no session {session_id}")


class NoAgreement(RuleViolation):
    def __init__(self, message: str = "the case has no agreement being drafted") -> None:
        super().__init__("agreement.none", message)


class PeriodExpired(RuleViolation):
    """The statutory period ran out: only termination (by the sweep or a mediator) remains."""

    def __init__(self, last_day: object) -> None:
        super().__init__("clock.expired", f"the mediation period ended on {last_day}")


class ExtensionPending(RuleViolation):
    def __init__(self, request_id: str) -> None:
        super().__init__("extension.pending", f"extension request {request_id} is still waiting for consents")


class NoPendingExtension(RuleViolation):
    def __init__(self) -> None:
        super().__init__("extension.none", "no extension request is waiting for consents")


class ConsentAlreadyRecorded(RuleViolation):
    def __init__(self, party_id: str) -> None:
        super().__init__("extension.consent-recorded", f"party {party_id} has already answered this request")


class SessionOutsidePeriod(RuleViolation):
    def __init__(self, message: str) -> None:
        super().__init__("session.time", message)


class PresidingMediatorRequired(RuleViolation):
    """SPC-Invited Art.13: several mediators, one of them presiding, always exactly one."""

    def __init__(self, message: str) -> None:
        super().__init__("mediators.presiding", message)


class AgreementIncomplete(RuleViolation):
    """PML Art.29 fields missing: nobody can sign until they are filled."""

    def __init__(self, violations: Sequence[FieldViolation]) -> None:
        self.violations = list(violations)
        super().__init__("agreement.incomplete",
                         "the agreement lacks what PML Art.29 requires: "
                         + "; ".join(f"{v.field}: {v.reason}" for v in self.violations))


class StaleDigest(RuleViolation):
    """The signer was shown another version of the agreement than the current one."""

    def __init__(self, shown: str, current: str) -> None:
        super().__init__("agreement.stale", f"the signature covers digest {shown[:16]}…, the agreement is now "
                                            f"{current[:16]}…: show the signer the current text")


class AlreadySigned(RuleViolation):
    def __init__(self, signer_id: str) -> None:
        super().__init__("agreement.signed", f"{signer_id} has already signed this version")


class SealInvalid(RuleViolation):
    def __init__(self, why: str) -> None:
        super().__init__("agreement.seal", f"the committee seal does not verify: {why}")


class WrongAgreementMode(RuleViolation):
    def __init__(self, message: str) -> None:
        super().__init__("agreement.mode", message)


class GroundNotAllowed(RuleViolation):
    def __init__(self, message: str) -> None:
        super().__init__("termination.ground", message)


class HoldNotActive(RuleViolation):
    def __init__(self, kind: str) -> None:
        super().__init__("hold.inactive", f"the case is not held for {kind}")


class HoldAlreadyActive(RuleViolation):
    def __init__(self, kind: str) -> None:
        super().__init__("hold.active", f"the case is already held for {kind}")


def invalid(field: str, reason: str) -> InvalidInput:
    """Bad input in one field, named as the request names it."""
    return InvalidInput(FieldViolation(field, reason))
