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


@dataclass(frozen=True)
class Choice:
    mediator: Mediator
    level: Level
    reason: str


def _qualifies(m: Mediator, need: Need, languages: frozenset[str]) -> bool:
    return (m.active and m.on_duty and need.dispute_type in m.specialties
            and languages <= m.languages and m.person_id not in need.excluded)


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
