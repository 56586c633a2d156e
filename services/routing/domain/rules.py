"""Routing rules: pure choice of a mediator for a dispute (DOMAIN §3).

Candidates must be on the roster (not removed), on duty, carry the dispute type
among their specialties and cover the dispute's region. The search starts at the
dispute's own division (village, township, county, ...) and widens one level at a
time only when nobody nearer qualifies. Among equals the one with the fewest open
cases is chosen, ties broken by id so the choice is reproducible; the reason is
written down so a clerk can check it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Mediator:
    person_id: str
    name: str
    organization_id: str
    specialties: frozenset[str]
    languages: frozenset[str]
    region_codes: frozenset[str]
    active: bool
    on_duty: bool
    # Keyed fingerprints of people and organizations the mediator declared a
    # relationship with (near relatives, interests): grounds for recusal.
    relations: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Level:
    code: str
    label: str   # e.g. "county 科尔沁区 (150502)"


@dataclass(frozen=True)
class Need:
    dispute_type: str
    region_chain: tuple[Level, ...]      # nearest first: the dispute's own division, then its ancestors
    languages: frozenset[str]            # languages parties need besides Mandarin (e.g. "mn")
    chosen_mediator_id: str = ""         # parties' joint choice (SPC-Invited Art.12)
    excluded: frozenset[str] = frozenset()  # already offered this dispute
    # Fingerprints of the parties' and their agents' ID numbers (SPC-Invited Art.15).
    party_fingerprints: frozenset[str] = frozenset()
    # Mediators who disclosed a relationship and whom every party agreed to keep.
    kept_after_disclosure: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Choice:
    mediator: Mediator
    level: Level
    reason: str


def must_step_aside(m: Mediator, need: Need) -> bool:
    """Recusal (回避, SPC-Invited Art.15, SPC-Online Art.13): a mediator related to a
    party or an agent, or with an interest, steps aside unless both parties agreed
    to keep them after the disclosure."""
    return bool(m.relations & need.party_fingerprints) and m.person_id not in need.kept_after_disclosure


def _qualifies(m: Mediator, need: Need, languages: frozenset[str]) -> bool:
    return (m.active and m.on_duty and need.dispute_type in m.specialties
            and languages <= m.languages and m.person_id not in need.excluded
            and not must_step_aside(m, need))


def choose_mediator(need: Need, roster: Sequence[Mediator], open_cases: Mapping[str, int]) -> Choice | None:
    for languages, note in ((need.languages, ""), (frozenset(), "; no mediator speaks {}: interpreter needed")):
        choice = _choose(need, roster, open_cases, languages)
        if choice:
            if note and need.languages:
                return Choice(choice.mediator, choice.level,
                              choice.reason + note.format(", ".join(sorted(need.languages))))
            return choice
        if not need.languages:
            break
    return None


def _choose(need: Need, roster: Sequence[Mediator], open_cases: Mapping[str, int],
            languages: frozenset[str]) -> Choice | None:
    qualified = [m for m in roster if _qualifies(m, need, languages)]
    if need.chosen_mediator_id:
        for level in need.region_chain:
            for m in qualified:
                if m.person_id == need.chosen_mediator_id and level.code in m.region_codes:
                    return Choice(m, level, f"joint choice of the parties (SPC-Invited Art.12); covers {level.label}")
    for level in need.region_chain:
        here = [m for m in qualified if level.code in m.region_codes]
        if not here:
            continue
        best = min(here, key=lambda m: (open_cases.get(m.person_id, 0), m.person_id))
        load = open_cases.get(best.person_id, 0)
        widened = "" if level == need.region_chain[0] else " (widened: nobody nearer qualified)"
        return Choice(best, level, (
            f"covers {level.label}{widened}; specialty {need.dispute_type}; "
            f"{load} open case(s), fewest of {len(here)} eligible mediator(s) at this level"))
    return None


@dataclass(frozen=True)
class Difficulty:
    """When a dispute is difficult enough for a joint consultation (会商) of the
    judicial office, police station and tribunal (DOMAIN §3). Practice, not
    statute: every threshold is configuration."""
    risk_score: int = 50                 # intake's early-warning threshold
    parties: int = 5                     # many parties (群体性)
    amount_fen: int = 50_000_000         # ¥500,000


def difficulty_reasons(risk_score: int, parties: int, amount_fen: int, policy: Difficulty) -> tuple[str, ...]:
    reasons = []
    if risk_score >= policy.risk_score:
        reasons.append(f"high risk (score {risk_score} >= {policy.risk_score})")
    if parties >= policy.parties:
        reasons.append(f"many parties ({parties} >= {policy.parties})")
    if amount_fen >= policy.amount_fen:
        reasons.append(f"large amount (¥{amount_fen // 100:,} >= ¥{policy.amount_fen // 100:,})")
    return tuple(reasons)


def waits_for_joint_choice(source: str, chosen_mediator_id: str) -> bool:
    """A court-delegated case gives the parties 2 working days to choose jointly
    before the mediator is appointed (SPC-Online Art.10)."""
    return source == "court_delegation" and not chosen_mediator_id
