"""Named errors of judicial confirmation. Each is a RuleViolation (FAILED_PRECONDITION at the
gRPC edge, with the rule named) carrying the facts a caller needs to explain itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from liandiao.errors import RuleViolation

if TYPE_CHECKING:
    from services.confirmation.domain.eligibility import Eligibility
    from services.confirmation.domain.jurisdiction import Competence
    from services.confirmation.domain.materials import MaterialItem
    from services.confirmation.domain.states import Action, Status


class IllegalTransition(RuleViolation):
    """The application's state does not allow the action (see states.TRANSITIONS)."""

    def __init__(self, state: Status, action: Action) -> None:
        self.state, self.action = state, action
        super().__init__("confirmation.transition", f"cannot {action.value} an application that is {state.value}")


class NotEligible(RuleViolation):
    """Not a joint application by every party, or outside the 30 days (CPL 2023 Art.205):
    nothing is filed; the parties are told why and that they may sue."""

    def __init__(self, eligibility: Eligibility) -> None:
        self.eligibility = eligibility
        reasons = "; ".join(p.detail for p in eligibility.problems)
        super().__init__("confirmation.eligibility", f"{reasons}. {eligibility.advice}")


class NotCompetent(RuleViolation):
    """The court applied to has no jurisdiction (CPL 2023 Art.205, SPC-Interp Art.352, 355 item 2)."""

    def __init__(self, competence: Competence, competent_court_names: tuple[str, ...] = ()) -> None:
        self.competence, self.competent_court_names = competence, competent_court_names
        hint = f"; competent: {', '.join(competent_court_names)}" if competent_court_names else ""
        super().__init__("confirmation.jurisdiction", f"{competence.reason}{hint}")


class AlreadyApplied(RuleViolation):
    """Another application for the same agreement is docketed, ruled, or pending at this court."""

    def __init__(self, message: str) -> None:
        super().__init__("confirmation.duplicate-application", message)


class MaterialsMissing(RuleViolation):
    """The court cannot accept while SPC-Interp Art.354 materials are missing: ask for them first."""

    def __init__(self, missing: tuple[MaterialItem, ...]) -> None:
        self.missing = missing
        names = ", ".join(m.label for m in missing)
        super().__init__("confirmation.materials", f"materials missing (SPC-Interp Art.354): {names}")


class OverrideWithoutReason(RuleViolation):
    """The judge departed from the proposed admissibility decision without recording why."""

    def __init__(self, proposed: str, chosen: str) -> None:
        super().__init__(
            "confirmation.admissibility-override",
            f"the proposed decision is to {proposed}; to {chosen} instead, record the reason",
        )


class ReasonsRequired(RuleViolation):
    """A refusal, a rejection, an extension or a withdrawal is recorded with its reasons."""

    def __init__(self, what: str) -> None:
        super().__init__("confirmation.reasons-required", f"{what} needs written reasons")


class GroundRequired(RuleViolation):
    """A refusal names an SPC-Interp Art.355 ground; a rejection an Art.358 (or 355 para.2) ground."""

    def __init__(self, message: str) -> None:
        super().__init__("confirmation.ground-required", message)


class ExtensionNotAllowed(RuleViolation):
    """SPC-2011 Art.5: one extension of 10 days, approved by the court president, before the
    15 days run out."""

    def __init__(self, message: str) -> None:
        super().__init__("confirmation.extension", message)


class NotAParty(RuleViolation):
    """Only a party of the agreement may withdraw or object as a party."""

    def __init__(self, party_id: str) -> None:
        self.party_id = party_id
        super().__init__("confirmation.not-a-party", f"{party_id} is not a party of the agreement")


class ObjectionOutOfTime(RuleViolation):
    """SPC-Interp Art.372: a party objects within 15 days of receipt, a third party within
    6 months of knowing."""

    def __init__(self, message: str) -> None:
        super().__init__("confirmation.objection-time", message)


class InvalidCaseNumber(ValueError):
    """Text that is not a case number of the form （2026）蒙0502民特123号."""


class NothingToSupplement(RuleViolation):
    """A supplement request names what is missing; before acceptance, something must be."""

    def __init__(self, message: str) -> None:
        super().__init__("confirmation.materials", message)


class InvalidObjection(RuleViolation):
    """An objection that cannot be heard as given (who objects, from when)."""

    def __init__(self, message: str) -> None:
        super().__init__("confirmation.objection", message)


class SupplementLate(RuleViolation):
    """Materials brought after the court's deadline: the application already counts as withdrawn
    (SPC-Interp Art.357); the parties may apply again while the 30 days last."""

    def __init__(self, last_day: str) -> None:
        super().__init__("confirmation.supplement-late",
                         f"the deadline to supplement ended on {last_day}; the application counts as withdrawn")
