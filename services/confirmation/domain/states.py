"""The application's state machine: one Enum of states, one Enum of actions, one table.

Every decide_* in rules.py asks `transition(state, action)` first; evolve() uses the same
table, so a status can only change along a row of TRANSITIONS.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from services.confirmation.domain.errors import IllegalTransition


class Status(StrEnum):
    # Received; the court accepts or refuses within 3 days (SPC-2011 Art.4).
    FILED = "filed"
    # Materials missing; the court set a deadline to supplement them (SPC-Interp Art.354).
    AWAITING_SUPPLEMENT = "awaiting_supplement"
    # Docketed (立案) with a case number; the judge rules within 15 (+10) days (SPC-2011 Art.5).
    ACCEPTED = "accepted"
    # Under review, the court asked for further statements or proofs (SPC-Interp Art.356).
    REVIEW_AWAITING_SUPPLEMENT = "review_awaiting_supplement"
    # Not accepted (不予受理, SPC-Interp Art.355).
    REFUSED = "refused"
    # Withdrawn before the ruling, or deemed withdrawn for a missed deadline (SPC-Interp Art.357).
    WITHDRAWN = "withdrawn"
    # Ruled: the agreement is valid and enforceable (CPL 2023 Art.206).
    RULED_VALID = "ruled_valid"
    # Ruled: the application is rejected (驳回申请, SPC-Interp Art.358; Art.355 para.2).
    RULED_REJECTED = "ruled_rejected"
    # Another court docketed the same agreement first (SPC-Interp Art.352).
    CLOSED = "closed"


class Action(StrEnum):
    REQUEST_SUPPLEMENT = "request_supplement"
    SUPPLEMENT_PART = "supplement_part"  # some, not all, of what was asked for
    SUPPLEMENT_COMPLETE = "supplement_complete"
    LAPSE = "lapse"  # the supplement deadline passed with something still missing
    ACCEPT = "accept"
    REFUSE = "refuse"
    EXTEND = "extend"
    WITHDRAW = "withdraw"
    RULE_VALID = "rule_valid"
    RULE_REJECTED = "rule_rejected"
    CLOSE = "close"
    OBJECT = "object"
    REMIND = "remind"


S, A = Status, Action

TRANSITIONS: MappingProxyType[tuple[Status, Action], Status] = MappingProxyType({
    (S.FILED, A.REQUEST_SUPPLEMENT): S.AWAITING_SUPPLEMENT,
    (S.FILED, A.ACCEPT): S.ACCEPTED,
    (S.FILED, A.REFUSE): S.REFUSED,
    (S.FILED, A.WITHDRAW): S.WITHDRAWN,
    (S.FILED, A.CLOSE): S.CLOSED,
    (S.FILED, A.REMIND): S.FILED,
    # Applicants may bring what is missing before the court asks; the clock keeps running.
    (S.FILED, A.SUPPLEMENT_PART): S.FILED,
    (S.FILED, A.SUPPLEMENT_COMPLETE): S.FILED,

    (S.AWAITING_SUPPLEMENT, A.SUPPLEMENT_PART): S.AWAITING_SUPPLEMENT,
    (S.AWAITING_SUPPLEMENT, A.SUPPLEMENT_COMPLETE): S.FILED,
    (S.AWAITING_SUPPLEMENT, A.LAPSE): S.WITHDRAWN,
    (S.AWAITING_SUPPLEMENT, A.REFUSE): S.REFUSED,
    (S.AWAITING_SUPPLEMENT, A.WITHDRAW): S.WITHDRAWN,
    (S.AWAITING_SUPPLEMENT, A.CLOSE): S.CLOSED,
    (S.AWAITING_SUPPLEMENT, A.REMIND): S.AWAITING_SUPPLEMENT,

    (S.ACCEPTED, A.REQUEST_SUPPLEMENT): S.REVIEW_AWAITING_SUPPLEMENT,
    (S.ACCEPTED, A.EXTEND): S.ACCEPTED,
    (S.ACCEPTED, A.RULE_VALID): S.RULED_VALID,
    (S.ACCEPTED, A.RULE_REJECTED): S.RULED_REJECTED,
    (S.ACCEPTED, A.WITHDRAW): S.WITHDRAWN,
    (S.ACCEPTED, A.CLOSE): S.CLOSED,
    (S.ACCEPTED, A.REMIND): S.ACCEPTED,

    (S.REVIEW_AWAITING_SUPPLEMENT, A.SUPPLEMENT_PART): S.REVIEW_AWAITING_SUPPLEMENT,
    (S.REVIEW_AWAITING_SUPPLEMENT, A.SUPPLEMENT_COMPLETE): S.ACCEPTED,
    (S.REVIEW_AWAITING_SUPPLEMENT, A.LAPSE): S.WITHDRAWN,
    (S.REVIEW_AWAITING_SUPPLEMENT, A.EXTEND): S.REVIEW_AWAITING_SUPPLEMENT,
    # What the judge asked for may never come; the content can still be ruled unclear. A valid
    # ruling waits until the supplement is complete.
    (S.REVIEW_AWAITING_SUPPLEMENT, A.RULE_REJECTED): S.RULED_REJECTED,
    (S.REVIEW_AWAITING_SUPPLEMENT, A.WITHDRAW): S.WITHDRAWN,
    (S.REVIEW_AWAITING_SUPPLEMENT, A.CLOSE): S.CLOSED,
    (S.REVIEW_AWAITING_SUPPLEMENT, A.REMIND): S.REVIEW_AWAITING_SUPPLEMENT,

    # A ruling is final (CPL 2023 Art.185: 一审终审); an objection (SPC-Interp Art.372) is heard
    # in its own proceeding and leaves the ruling as it is until that proceeding decides.
    (S.RULED_VALID, A.OBJECT): S.RULED_VALID,
    (S.RULED_REJECTED, A.OBJECT): S.RULED_REJECTED,
})

# No row leads out of these (a ruled application still takes objections, which keep its state).
TERMINAL: frozenset[Status] = frozenset(
    s for s in Status if all(after is s for (before, _), after in TRANSITIONS.items() if before is s)
)
# Before the ruling: the applicants may still withdraw (SPC-Interp Art.357, SPC-2011 Art.5).
PENDING: frozenset[Status] = frozenset(s for s in Status if (s, A.WITHDRAW) in TRANSITIONS)
DOCKETED: frozenset[Status] = frozenset(
    {S.ACCEPTED, S.REVIEW_AWAITING_SUPPLEMENT, S.RULED_VALID, S.RULED_REJECTED}
)


def transition(state: Status, action: Action) -> Status:
    """The state after `action`, or IllegalTransition naming both."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(state, action) from None


def allowed_actions(state: Status) -> tuple[Action, ...]:
    return tuple(a for a in Action if (state, a) in TRANSITIONS)
