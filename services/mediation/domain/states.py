"""The state machines of a mediation case, each one Enum and one transition table.

The case (issue 8, DOMAIN.md §4): opened on the mediator's acceptance; in session once a
session is scheduled; suspended while on hold (pre-filing appraisal 鉴定, suspected false
mediation 虚假调解); agreement drafted; agreement effective; and three ends: terminated
(SPC-Online Art.25), returned to court (a failed court-related case, SPC-Invited Art.21) and
closed (performance recorded or the follow-up period over, PML Art.31).

`CASE_TRANSITIONS[state][action]` is the next state. An action missing from a state's row is
not allowed there (errors.TransitionNotAllowed). Actions that keep the state (a second session,
a signature) are in the table too, so the table is the whole answer to "may I do X now?".
One entry is not a state: `RESUME`, "back to the state the case was suspended from, once no
hold remains" (a case can be held for appraisal and for false mediation at once).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import Final


class CaseState(Enum):
    OPENED = "opened"
    IN_SESSION = "in_session"
    SUSPENDED = "suspended"
    AGREEMENT_DRAFTED = "agreement_drafted"
    AGREEMENT_EFFECTIVE = "agreement_effective"
    TERMINATED = "terminated"
    RETURNED_TO_COURT = "returned_to_court"
    CLOSED = "closed"


class Action(Enum):
    OPEN = "open"  # the mediator's acceptance; creates the case (no row: nothing precedes it)
    SCHEDULE_SESSION = "schedule_session"
    RESCHEDULE_SESSION = "reschedule_session"
    CANCEL_SESSION = "cancel_session"
    RECORD_SESSION = "record_session"
    RECORD_NO_SHOW = "record_no_show"
    RECORD_PUBLICITY_CHOICE = "record_publicity_choice"
    ADD_MEDIATOR = "add_mediator"
    REMOVE_MEDIATOR = "remove_mediator"
    SET_PRESIDING = "set_presiding"
    REQUEST_EXTENSION = "request_extension"
    RECORD_EXTENSION_CONSENT = "record_extension_consent"
    REMIND_EXPIRY = "remind_expiry"
    SUSPEND_FOR_APPRAISAL = "suspend_for_appraisal"
    END_APPRAISAL = "end_appraisal"
    FLAG_FALSE_MEDIATION = "flag_false_mediation"
    CLEAR_FALSE_MEDIATION = "clear_false_mediation"
    DRAFT_AGREEMENT = "draft_agreement"
    EDIT_AGREEMENT = "edit_agreement"
    DISCARD_DRAFT = "discard_draft"
    SIGN_AGREEMENT = "sign_agreement"
    APPLY_SEAL = "apply_seal"
    RECORD_ORAL_AGREEMENT = "record_oral_agreement"
    AGREEMENT_TAKES_EFFECT = "agreement_takes_effect"
    TERMINATE = "terminate"
    RETURN_TO_COURT = "return_to_court"
    RECORD_FOLLOW_UP = "record_follow_up"
    RECORD_PERFORMANCE = "record_performance"
    CLOSE = "close"


class _Resume(Enum):
    RESUME = "resume"


RESUME: Final = _Resume.RESUME
Target = CaseState | _Resume

S, A = CaseState, Action

# Every case still being mediated may do these, whatever its stage: they keep the state.
_RUNNING_SAME = (A.RECORD_PUBLICITY_CHOICE, A.ADD_MEDIATOR, A.REMOVE_MEDIATOR, A.SET_PRESIDING,
                 A.REQUEST_EXTENSION, A.RECORD_EXTENSION_CONSENT)


def _row(state: CaseState, own: Mapping[Action, Target], running: bool = True) -> dict[Action, Target]:
    row: dict[Action, Target] = {}
    if running:
        row.update({a: state for a in _RUNNING_SAME})
        row.update({A.TERMINATE: S.TERMINATED, A.RETURN_TO_COURT: S.RETURNED_TO_COURT})
    row.update(own)
    return row


_SESSIONS_HELD = {a: a for a in (A.SCHEDULE_SESSION, A.RESCHEDULE_SESSION, A.CANCEL_SESSION,
                                 A.RECORD_SESSION, A.RECORD_NO_SHOW)}

CASE_TRANSITIONS: Mapping[CaseState, Mapping[Action, Target]] = MappingProxyType({
    S.OPENED: _row(S.OPENED, {
        A.SCHEDULE_SESSION: S.IN_SESSION,
        A.REMIND_EXPIRY: S.OPENED,
        A.SUSPEND_FOR_APPRAISAL: S.SUSPENDED,
        A.FLAG_FALSE_MEDIATION: S.SUSPENDED,
        A.DRAFT_AGREEMENT: S.AGREEMENT_DRAFTED,
        A.RECORD_ORAL_AGREEMENT: S.AGREEMENT_DRAFTED,
    }),
    S.IN_SESSION: _row(S.IN_SESSION, {
        **{a: S.IN_SESSION for a in _SESSIONS_HELD},
        A.REMIND_EXPIRY: S.IN_SESSION,
        A.SUSPEND_FOR_APPRAISAL: S.SUSPENDED,
        A.FLAG_FALSE_MEDIATION: S.SUSPENDED,
        A.DRAFT_AGREEMENT: S.AGREEMENT_DRAFTED,
        A.RECORD_ORAL_AGREEMENT: S.AGREEMENT_DRAFTED,
    }),
    S.SUSPENDED: _row(S.SUSPENDED, {
        # Sessions planned before the hold may still be called off; none is held or planned.
        A.CANCEL_SESSION: S.SUSPENDED,
        A.SUSPEND_FOR_APPRAISAL: S.SUSPENDED,
        A.FLAG_FALSE_MEDIATION: S.SUSPENDED,
        A.END_APPRAISAL: RESUME,
        A.CLEAR_FALSE_MEDIATION: RESUME,
    }),
    S.AGREEMENT_DRAFTED: _row(S.AGREEMENT_DRAFTED, {
        **{a: S.AGREEMENT_DRAFTED for a in _SESSIONS_HELD},
        A.REMIND_EXPIRY: S.AGREEMENT_DRAFTED,
        A.SUSPEND_FOR_APPRAISAL: S.SUSPENDED,
        A.FLAG_FALSE_MEDIATION: S.SUSPENDED,
        A.EDIT_AGREEMENT: S.AGREEMENT_DRAFTED,
        A.DISCARD_DRAFT: S.IN_SESSION,
        A.SIGN_AGREEMENT: S.AGREEMENT_DRAFTED,
        A.APPLY_SEAL: S.AGREEMENT_DRAFTED,
        A.AGREEMENT_TAKES_EFFECT: S.AGREEMENT_EFFECTIVE,
    }),
    S.AGREEMENT_EFFECTIVE: _row(S.AGREEMENT_EFFECTIVE, {
        A.RECORD_FOLLOW_UP: S.AGREEMENT_EFFECTIVE,
        A.RECORD_PERFORMANCE: S.AGREEMENT_EFFECTIVE,
        A.CLOSE: S.CLOSED,
        # An effective agreement found to be collusive is held and reported all the same.
        A.FLAG_FALSE_MEDIATION: S.SUSPENDED,
    }, running=False),
    S.TERMINATED: {},
    S.RETURNED_TO_COURT: {},
    S.CLOSED: {},
})

TERMINAL_STATES: frozenset[CaseState] = frozenset(s for s, row in CASE_TRANSITIONS.items() if not row)
# The statutory clock runs (and can expire) in these states, unless a hold stops it.
CLOCK_STATES: frozenset[CaseState] = frozenset({S.OPENED, S.IN_SESSION, S.AGREEMENT_DRAFTED})


# ---- sessions -------------------------------------------------------------------------------

class SessionState(Enum):
    SCHEDULED = "scheduled"
    HELD = "held"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


SESSION_TRANSITIONS: Mapping[SessionState, Mapping[Action, SessionState]] = MappingProxyType({
    SessionState.SCHEDULED: {
        A.RESCHEDULE_SESSION: SessionState.SCHEDULED,
        A.RECORD_SESSION: SessionState.HELD,
        A.RECORD_NO_SHOW: SessionState.NO_SHOW,
        A.CANCEL_SESSION: SessionState.CANCELLED,
    },
    SessionState.HELD: {},
    SessionState.NO_SHOW: {},
    SessionState.CANCELLED: {},
})


# ---- the agreement --------------------------------------------------------------------------

class AgreementState(Enum):
    DRAFT = "draft"  # editable; collecting signatures (or, oral, waiting for its date)
    EFFECTIVE = "effective"
    VOID = "void"  # discarded, or the case ended without it taking effect


AGREEMENT_TRANSITIONS: Mapping[AgreementState, Mapping[Action, AgreementState]] = MappingProxyType({
    AgreementState.DRAFT: {
        A.EDIT_AGREEMENT: AgreementState.DRAFT,
        A.SIGN_AGREEMENT: AgreementState.DRAFT,
        A.APPLY_SEAL: AgreementState.DRAFT,
        A.AGREEMENT_TAKES_EFFECT: AgreementState.EFFECTIVE,
        A.DISCARD_DRAFT: AgreementState.VOID,
        A.TERMINATE: AgreementState.VOID,
        A.RETURN_TO_COURT: AgreementState.VOID,
    },
    AgreementState.EFFECTIVE: {},
    AgreementState.VOID: {},
})
