"""Who may apply for judicial confirmation, and until when.

CPL 2023 Art.205 (PML Art.33): the parties apply *jointly* within 30 days from the day the
agreement takes effect. SPC-Interp Art.351: each party applies in person or through an agent
(CPL 2023 Art.61), who needs special authority to dispose of the claim (Art.62); a statutory
agent acts for a party without capacity (Art.60). The 30 days are counted by CPL 2023 Art.85
with the official holiday calendar (liandiao.legaltime). One party alone, or day 31: not
eligible; nothing is filed and the parties are told they may sue (PML Art.32).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from liandiao.legaltime import Deadline, HolidayCalendar, deadline, is_expired, statutory
from services.confirmation.domain.model import Agreement, Applicant

# What a party refused here can still do (PML Art.32: a dispute over the agreement's content or
# performance may be brought to court by either party).
ADVICE_MAY_SUE = (
    "The parties may instead sue in a people's court over the agreement's performance or content "
    "(可以向人民法院提起诉讼, PML Art.32)."
)


class Problem(StrEnum):
    NOT_ALL_PARTIES = "not_all_parties"
    NOT_A_PARTY = "not_a_party"
    UNKNOWN_AGENT = "unknown_agent"
    AGENT_WITHOUT_AUTHORITY = "agent_without_authority"
    TOO_LATE = "too_late"
    NOT_YET_EFFECTIVE = "not_yet_effective"


@dataclass(frozen=True)
class Finding:
    problem: Problem
    detail: str
    source: str


@dataclass(frozen=True)
class Eligibility:
    window: Deadline  # the 30-day application window, as computed
    problems: tuple[Finding, ...]

    @property
    def eligible(self) -> bool:
        return not self.problems

    @property
    def advice(self) -> str:
        return "" if self.eligible else ADVICE_MAY_SUE


def application_window(agreement: Agreement, calendar: HolidayCalendar) -> Deadline:
    """The last day to apply: effective date + 30 days, rolled past rest days (CPL 2023 Art.85)."""
    return deadline(agreement.effective_at, statutory.CONFIRMATION_APPLICATION, calendar)


def assess_eligibility(
    agreement: Agreement, applicants: Sequence[Applicant], now: datetime, calendar: HolidayCalendar
) -> Eligibility:
    """Every problem with this application at `now`, each with its reason and source."""
    window = application_window(agreement, calendar)
    problems: list[Finding] = []
    represented: set[str] = set()
    for applicant in applicants:
        party = agreement.party(applicant.party_id)
        if party is None:
            problems.append(Finding(Problem.NOT_A_PARTY, f"{applicant.party_id} is not a party of the agreement",
                                    "CPL 2023 Art.205"))
            continue
        if applicant.agent_id:
            agent = party.agent(applicant.agent_id)
            if agent is None:
                problems.append(Finding(Problem.UNKNOWN_AGENT,
                                        f"{applicant.agent_id} is not an agent of {party.name}",
                                        "SPC-Interp Art.351"))
                continue
            if not agent.authority.may_apply:
                problems.append(Finding(
                    Problem.AGENT_WITHOUT_AUTHORITY,
                    f"agent {agent.name} has only general authority for {party.name}; applying for "
                    "confirmation needs special authority (特别授权)", "CPL 2023 Art.62; SPC-Interp Art.351"))
                continue
        represented.add(party.party_id)
    absent = [p for p in agreement.parties if p.party_id not in represented]
    if absent:
        names = ", ".join(p.name for p in absent)
        problems.append(Finding(Problem.NOT_ALL_PARTIES,
                                f"not a joint application: {names} did not apply (both parties must apply together)",
                                "CPL 2023 Art.205; SPC-Interp Art.351"))
    if now < agreement.effective_at:
        problems.append(Finding(Problem.NOT_YET_EFFECTIVE, "the agreement has not taken effect yet",
                                "PML Art.29-30"))
    elif is_expired(window, now):
        problems.append(Finding(
            Problem.TOO_LATE,
            f"the 30 days to apply ended on {window.last_day.isoformat()} (the agreement took effect on "
            f"{window.started_on.isoformat()})", window.period.source))
    return Eligibility(window, tuple(problems))
