"""Early warnings (预警): who must acknowledge one and when an unacknowledged one
escalates. Pure: state and ``now`` in, decisions out.

A dispute that may turn into a public-order or criminal case must be reported to
the police promptly (PML Art.25); strongly antagonistic disputes that may cause
extreme or mass incidents trigger an early warning to the relevant units
(DOMAIN §2). The relevant units are the police station, the people's tribunal
and the judicial office covering the dispute's region, each through its liaison
officer (联络人, DOMAIN §1). How long they have to acknowledge, and how often a
warning escalates, is practice, not statute: configuration (WarningPolicy).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from liandiao.errors import RuleViolation
from liandiao.ids import ancestors, lookup
from services.intake.domain.model import Acknowledgement, Escalation, LiaisonOfficer, OfficeKind, WarningState

# One acknowledgement from each (DOMAIN §1: "one named person per office for warnings").
REQUIRED_OFFICES: tuple[OfficeKind, ...] = (
    OfficeKind.POLICE_STATION, OfficeKind.PEOPLES_TRIBUNAL, OfficeKind.JUDICIAL_OFFICE,
)
CONCERNED_OFFICE_RULE = "early-warning.concerned-office"


@dataclass(frozen=True)
class WarningPolicy:
    """``escalate_after``: time allowed before the warning escalates, and again
    between levels; ``max_level``: escalations stop there (the warning stays open)."""
    escalate_after: timedelta = timedelta(minutes=120)
    max_level: int = 3


def covering_regions(region_code: str) -> frozenset[str]:
    """The dispute's own division and every division containing it (township,
    county, prefecture, province): an office whose region is one of these covers
    the dispute. A county office covers all its townships; a township office only
    its own."""
    own = lookup(region_code)
    if own is None:
        return frozenset({region_code})
    return frozenset({own.code, *(a.code for a in ancestors(own.code))})


def covers(office_region: str, dispute_region: str) -> bool:
    office = lookup(office_region)
    return office is not None and office.code in covering_regions(dispute_region)


def unacknowledged(state: WarningState) -> tuple[OfficeKind, ...]:
    done = {a.office for a in state.acknowledgements}
    return tuple(o for o in REQUIRED_OFFICES if o not in done)


def next_escalation_at(state: WarningState, policy: WarningPolicy) -> datetime | None:
    """When the next level falls due; None once every office acknowledged or the
    last level is reached."""
    if not unacknowledged(state) or state.escalation_level >= policy.max_level:
        return None
    return state.flagged_at + policy.escalate_after * (state.escalation_level + 1)


def decide_escalation(state: WarningState, now: datetime, policy: WarningPolicy) -> Escalation | None:
    """Level n falls due ``n * escalate_after`` after the warning was raised, at
    that instant exactly, while some office has not acknowledged. A sweep that
    comes late (the service was down) goes straight to the level due now, once."""
    missing = unacknowledged(state)
    if not missing:
        return None
    due = min(policy.max_level, (now - state.flagged_at) // policy.escalate_after)
    if due <= state.escalation_level:
        return None
    after = WarningState(state.region_code, state.flagged_at, due, state.acknowledgements)
    return Escalation(level=due, unacknowledged=missing, next_at=next_escalation_at(after, policy))


def decide_acknowledgement(
    state: WarningState, liaison: LiaisonOfficer | None, liaison_person_id: str, now: datetime,
) -> tuple[Acknowledgement, bool]:
    """The acknowledgement ``liaison_person_id`` gives for their office, and whether
    it is new. An office that acknowledged already keeps its first acknowledgement.
    Raises RuleViolation when the person is not the liaison officer of a police
    station, tribunal or judicial office covering the dispute (PML Art.25)."""
    if liaison is None or not liaison.active:
        raise RuleViolation(CONCERNED_OFFICE_RULE, f"person {liaison_person_id} is not a liaison officer (联络人) of "
                            "a police station, people's tribunal or judicial office")
    if not covers(liaison.office_region, state.region_code):
        raise RuleViolation(CONCERNED_OFFICE_RULE, f"the liaison officer's {liaison.office.value.replace('_', ' ')} "
                            f"(region {liaison.office_region}) does not cover the dispute's region "
                            f"{state.region_code}")
    for earlier in state.acknowledgements:
        if earlier.office is liaison.office:
            return earlier, False
    return Acknowledgement(liaison.office, liaison.person_id, liaison.organization_id, now), True
