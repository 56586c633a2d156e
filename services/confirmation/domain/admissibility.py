"""Admissibility (受理) of a confirmation application, proposed from the agreement's terms.

SPC-Interp Art.355: the court does not accept (不予受理) an application
  (1) outside the courts' remit;                    (2) outside this court's jurisdiction;
  (3) to declare an identity relationship (marriage, parent-child, adoption, ...) valid, void
      or dissolved;
  (4) on a matter of another special procedure, public summons or bankruptcy;
  (5) whose agreement confirms ownership of property or of an IP right.
Found after acceptance, the same grounds lead to a ruling rejecting the application (para.2).

The proposal reads what each term asks, not the dispute type: a family dispute whose terms
pay child support is admissible, one whose term dissolves the marriage is not. The judge sees
the proposal with its reasons; deciding otherwise needs a recorded reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from services.confirmation.domain.errors import GroundRequired, OverrideWithoutReason, ReasonsRequired
from services.confirmation.domain.jurisdiction import assess_jurisdiction
from services.confirmation.domain.model import Agreement, Asks, Court, Term


class InadmissibleGround(StrEnum):
    OUTSIDE_REMIT = "art355_1"
    NOT_THIS_COURT = "art355_2"
    IDENTITY_RELATIONSHIP = "art355_3"
    OTHER_PROCEDURE = "art355_4"
    OWNERSHIP = "art355_5"

    @property
    def citation(self) -> str:
        return f"SPC-Interp Art.355 item {self.value[-1]}"


@dataclass(frozen=True)
class Finding:
    ground: InadmissibleGround
    term_no: int  # 1-based; 0 when not about one term
    reason: str


@dataclass(frozen=True)
class Admissibility:
    """The proposed decision: admissible when nothing was found."""

    findings: tuple[Finding, ...]

    @property
    def admissible(self) -> bool:
        return not self.findings

    @property
    def grounds(self) -> frozenset[InadmissibleGround]:
        return frozenset(f.ground for f in self.findings)


def _term_finding(n: int, term: Term) -> Finding | None:
    if term.asks is Asks.STATUS and term.relation is not None:
        return Finding(InadmissibleGround.IDENTITY_RELATIONSHIP, n,
                       f"term {n} declares a {term.relation.value.replace('_', '-')} relationship "
                       "(身份关系); the courts do not confirm it")
    if term.asks is Asks.OWNERSHIP and term.ownership_of is not None:
        return Finding(InadmissibleGround.OWNERSHIP, n,
                       f"term {n} confirms ownership of {term.ownership_of.value.replace('_', ' ')} (确权)")
    if term.asks is Asks.SPECIAL_PROCEDURE and term.matter is not None:
        return Finding(InadmissibleGround.OTHER_PROCEDURE, n,
                       f"term {n} is a matter for another procedure ({term.matter.value.replace('_', ' ')})")
    if term.asks is Asks.NON_CIVIL:
        return Finding(InadmissibleGround.OUTSIDE_REMIT, n, f"term {n} is outside the courts' civil remit")
    return None


def assess_admissibility(agreement: Agreement, court: Court) -> Admissibility:
    findings = [f for n, t in enumerate(agreement.terms, start=1) if (f := _term_finding(n, t)) is not None]
    competence = assess_jurisdiction(court, agreement)
    if not competence.competent:
        findings.append(Finding(InadmissibleGround.NOT_THIS_COURT, 0, competence.reason))
    return Admissibility(tuple(findings))


@dataclass(frozen=True)
class AdmissionDecision:
    """What the judge decided, next to what was proposed."""

    accept: bool
    grounds: frozenset[InadmissibleGround]  # of a refusal
    reasons: str
    proposed: Admissibility
    override_reason: str

    @property
    def overridden(self) -> bool:
        return bool(self.override_reason)


def decide_admission(
    proposed: Admissibility, *, accept: bool, grounds: Iterable[InadmissibleGround] = (),
    reasons: str = "", override_reason: str = "",
) -> AdmissionDecision:
    """The judge's decision. Accepting what the proposal would refuse, refusing what it would
    accept, or refusing on other grounds than proposed: only with `override_reason`. A refusal
    names its Art.355 grounds and gives reasons."""
    chosen = frozenset(grounds)
    override_reason = override_reason.strip()
    if accept:
        if chosen:
            raise GroundRequired("an acceptance names no refusal grounds")
        if not proposed.admissible and not override_reason:
            raise OverrideWithoutReason("refuse", "accept")
        return AdmissionDecision(True, frozenset(), reasons.strip(), proposed,
                                 override_reason if not proposed.admissible else "")
    if not chosen:
        raise GroundRequired("a refusal names its SPC-Interp Art.355 ground(s)")
    if not reasons.strip():
        raise ReasonsRequired("a refusal")
    departs = chosen != proposed.grounds
    if departs and not override_reason:
        proposal = "accept" if proposed.admissible else f"refuse on {', '.join(sorted(g.citation for g in proposed.grounds))}"
        raise OverrideWithoutReason(proposal, f"refuse on {', '.join(sorted(g.citation for g in chosen))}")
    return AdmissionDecision(False, chosen, reasons.strip(), proposed, override_reason if departs else "")
