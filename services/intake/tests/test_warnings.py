"""Early-warning rules (预警, PML Art.25), table-driven, no I/O, the clock passed in:
who may acknowledge for which office, and when an unacknowledged warning escalates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from liandiao.errors import RuleViolation
from services.intake.domain.model import Acknowledgement, LiaisonOfficer, OfficeKind, WarningState
from services.intake.domain.warnings import (
    CONCERNED_OFFICE_RULE,
    REQUIRED_OFFICES,
    WarningPolicy,
    covers,
    decide_acknowledgement,
    decide_escalation,
    next_escalation_at,
)

FLAGGED = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
POLICY = WarningPolicy(escalate_after=timedelta(minutes=120), max_level=3)
REGION = "150502"   # 科尔沁区, 通辽市
MINUTE, SECOND = timedelta(minutes=1), timedelta(seconds=1)


def ack(office: OfficeKind) -> Acknowledgement:
    return Acknowledgement(office, f"liaison-{office.value}", f"org-{office.value}", FLAGGED + MINUTE)


def state(level: int = 0, acked: tuple[OfficeKind, ...] = ()) -> WarningState:
    return WarningState(REGION, FLAGGED, level, tuple(ack(o) for o in acked))


@pytest.mark.parametrize("level, acked, at, expected", [
    (0, (), 120 * MINUTE - SECOND, None),                   # one second before the configured minute
    (0, (), 120 * MINUTE, 1),                               # at the configured minute exactly
    (0, (OfficeKind.POLICE_STATION, OfficeKind.PEOPLES_TRIBUNAL), 120 * MINUTE, 1),  # one office missing is enough
    (0, REQUIRED_OFFICES, 120 * MINUTE, None),              # every office acknowledged: never escalates
    (1, (), 120 * MINUTE, None),                            # level 1 already sent
    (1, (), 240 * MINUTE - SECOND, None),
    (1, (), 240 * MINUTE, 2),
    (0, (), 300 * MINUTE, 2),                               # a late sweep goes to the level due now, once
    (3, (), 10 * 120 * MINUTE, None),                       # the last level is the last
    (0, (), 10 * 120 * MINUTE, 3),
    (0, (), -MINUTE, None),                                 # a clock behind the flag
], ids=["1s-before", "exactly", "one-missing", "all-acknowledged", "already-level-1", "level-2-1s-before",
        "level-2-exactly", "late-sweep", "capped", "capped-jump", "clock-behind"])
def test_escalation_falls_due_at_each_multiple_of_the_configured_time(level, acked, at, expected):
    step = decide_escalation(state(level, acked), FLAGGED + at, POLICY)
    assert (step.level if step else None) == expected


def test_an_escalation_names_the_offices_still_missing_and_when_the_next_level_is_due():
    step = decide_escalation(state(0, (OfficeKind.JUDICIAL_OFFICE,)), FLAGGED + 120 * MINUTE, POLICY)
    assert step is not None
    assert step.unacknowledged == (OfficeKind.POLICE_STATION, OfficeKind.PEOPLES_TRIBUNAL)
    assert step.next_at == FLAGGED + 240 * MINUTE
    last = decide_escalation(state(2), FLAGGED + 360 * MINUTE, POLICY)
    assert last is not None and (last.level, last.next_at) == (3, None)


@pytest.mark.parametrize("minutes", [1, 30, 120, 1440])
def test_the_escalation_time_is_configuration(minutes):
    policy = WarningPolicy(escalate_after=timedelta(minutes=minutes))
    assert decide_escalation(state(), FLAGGED + minutes * MINUTE - SECOND, policy) is None
    assert decide_escalation(state(), FLAGGED + minutes * MINUTE, policy) is not None
    assert next_escalation_at(state(), policy) == FLAGGED + minutes * MINUTE


def test_no_next_escalation_once_acknowledged_or_at_the_last_level():
    assert next_escalation_at(state(0, REQUIRED_OFFICES), POLICY) is None
    assert next_escalation_at(state(3), POLICY) is None
    assert next_escalation_at(state(1), POLICY) == FLAGGED + 240 * MINUTE


@pytest.mark.parametrize("office_region, dispute_region, covered", [
    ("150502", "150502", True),          # the county's own office
    ("150502", "150502001", True),       # ... covers its townships
    ("1505", "150502001", True),         # a prefecture-level office covers the whole prefecture
    ("150502001", "150502001", True),    # a township office covers its township
    ("150502001", "150502", False),      # ... not the whole county
    ("150502002", "150502001", False),   # ... nor the next township
    ("150521", "150502", False),         # another county
    ("159999", "150502", False),         # not a division
])
def test_an_office_covers_a_dispute_in_its_region_or_below(office_region, dispute_region, covered):
    assert covers(office_region, dispute_region) is covered


def liaison(office: OfficeKind, region: str = REGION, active: bool = True) -> LiaisonOfficer:
    return LiaisonOfficer(f"p-{office.value}", f"org-{office.value}", office, region, active)


def test_a_liaison_officer_of_a_covering_office_acknowledges_for_that_office():
    now = FLAGGED + 5 * MINUTE
    given, fresh = decide_acknowledgement(state(), liaison(OfficeKind.PEOPLES_TRIBUNAL), "p-peoples_tribunal", now)
    assert fresh and (given.office, given.organization_id, given.at) == (
        OfficeKind.PEOPLES_TRIBUNAL, "org-peoples_tribunal", now)


def test_an_office_that_acknowledged_keeps_its_first_acknowledgement():
    earlier = state(acked=(OfficeKind.POLICE_STATION,))
    given, fresh = decide_acknowledgement(earlier, liaison(OfficeKind.POLICE_STATION), "p-police_station",
                                          FLAGGED + 60 * MINUTE)
    assert not fresh and given == earlier.acknowledgements[0]


@pytest.mark.parametrize("who, reason", [
    (None, "is not a liaison officer"),
    (liaison(OfficeKind.POLICE_STATION, active=False), "is not a liaison officer"),
    (liaison(OfficeKind.POLICE_STATION, region="150521"), "does not cover the dispute's region 150502"),
], ids=["unknown", "no-longer-liaison", "other-county"])
def test_only_a_liaison_officer_of_a_covering_office_may_acknowledge(who, reason):
    with pytest.raises(RuleViolation) as raised:
        decide_acknowledgement(state(), who, "p-x", FLAGGED)
    assert raised.value.rule == CONCERNED_OFFICE_RULE
    assert reason in str(raised.value)
