"""The application state machine: one table, and every action outside it refused by name."""

from __future__ import annotations

import pytest

from services.confirmation.domain import rules
from services.confirmation.domain.commands import Accept, Extend
from services.confirmation.domain.errors import IllegalTransition
from services.confirmation.domain.states import (
    DOCKETED,
    PENDING,
    TERMINAL,
    TRANSITIONS,
    Action,
    Status,
    allowed_actions,
    transition,
)
from services.confirmation.tests.builders import CAL, accepted, at, ruled

S, A = Status, Action

# The table as the report states it; a change to states.TRANSITIONS must change this too.
EXPECTED = {
    S.FILED: {A.REQUEST_SUPPLEMENT: S.AWAITING_SUPPLEMENT, A.ACCEPT: S.ACCEPTED, A.REFUSE: S.REFUSED,
              A.WITHDRAW: S.WITHDRAWN, A.CLOSE: S.CLOSED, A.REMIND: S.FILED, A.SUPPLEMENT_PART: S.FILED,
              A.SUPPLEMENT_COMPLETE: S.FILED},
    S.AWAITING_SUPPLEMENT: {A.SUPPLEMENT_PART: S.AWAITING_SUPPLEMENT, A.SUPPLEMENT_COMPLETE: S.FILED,
                            A.LAPSE: S.WITHDRAWN, A.REFUSE: S.REFUSED, A.WITHDRAW: S.WITHDRAWN, A.CLOSE: S.CLOSED,
                            A.REMIND: S.AWAITING_SUPPLEMENT},
    S.ACCEPTED: {A.REQUEST_SUPPLEMENT: S.REVIEW_AWAITING_SUPPLEMENT, A.EXTEND: S.ACCEPTED,
                 A.RULE_VALID: S.RULED_VALID, A.RULE_REJECTED: S.RULED_REJECTED, A.WITHDRAW: S.WITHDRAWN,
                 A.CLOSE: S.CLOSED, A.REMIND: S.ACCEPTED},
    S.REVIEW_AWAITING_SUPPLEMENT: {A.SUPPLEMENT_PART: S.REVIEW_AWAITING_SUPPLEMENT,
                                   A.SUPPLEMENT_COMPLETE: S.ACCEPTED, A.LAPSE: S.WITHDRAWN,
                                   A.EXTEND: S.REVIEW_AWAITING_SUPPLEMENT, A.RULE_REJECTED: S.RULED_REJECTED,
                                   A.WITHDRAW: S.WITHDRAWN, A.CLOSE: S.CLOSED,
                                   A.REMIND: S.REVIEW_AWAITING_SUPPLEMENT},
    S.RULED_VALID: {A.OBJECT: S.RULED_VALID},
    S.RULED_REJECTED: {A.OBJECT: S.RULED_REJECTED},
    S.REFUSED: {}, S.WITHDRAWN: {}, S.CLOSED: {},
}


def test_the_table_is_exactly_the_documented_one():
    assert {(s, a): n for s, row in EXPECTED.items() for a, n in row.items()} == dict(TRANSITIONS)


@pytest.mark.parametrize(("state", "action"), [(s, a) for s in Status for a in Action if (s, a) not in TRANSITIONS])
def test_every_action_outside_the_table_raises_a_named_error(state, action):
    with pytest.raises(IllegalTransition) as err:
        transition(state, action)
    assert (err.value.state, err.value.action) == (state, action)
    assert err.value.rule == "confirmation.transition"
    assert state.value in str(err.value) and action.value in str(err.value)


def test_the_derived_sets():
    assert TERMINAL == {S.REFUSED, S.WITHDRAWN, S.RULED_VALID, S.RULED_REJECTED, S.CLOSED}
    assert PENDING == {S.FILED, S.AWAITING_SUPPLEMENT, S.ACCEPTED, S.REVIEW_AWAITING_SUPPLEMENT}
    assert DOCKETED == {S.ACCEPTED, S.REVIEW_AWAITING_SUPPLEMENT, S.RULED_VALID, S.RULED_REJECTED}
    assert allowed_actions(S.RULED_VALID) == (A.OBJECT,)


def test_decisions_consult_the_table_first():
    done = ruled()
    with pytest.raises(IllegalTransition) as err:
        rules.decide_accept(done, Accept(judge_id="j", sequence=2), at("2026-06-11"), CAL)
    assert str(err.value) == "cannot accept an application that is ruled_valid (confirmation.transition)"
    with pytest.raises(IllegalTransition):
        rules.decide_extend(done, Extend(approved_by="president", reason="复杂"), at("2026-06-11"), CAL)


def test_accepting_twice_is_refused():
    with pytest.raises(IllegalTransition):
        rules.decide_accept(accepted(), Accept(judge_id="j", sequence=2), at("2026-06-04"), CAL)
