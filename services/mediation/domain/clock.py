"""The statutory clock of a case: from the mediator's acceptance, by source (rules.py:
delegated 30 days, commissioned 15 ordinary / 7 simplified, SPC-Invited Art.27 and SPC-Online
Art.24; people's mediation a configured period), extended only with every party's consent,
stopped while the dispute is in pre-filing appraisal (鉴定), with a reminder before it runs out
and the decision to end the case when it has. Counting is liandiao.legaltime's (CPL 2023
Art.85: the start day not counted, the last day rolled past rest days); nothing here counts
days by hand except the shift an appraisal makes, described on `resume`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from liandiao.legaltime import (
    Deadline,
    HolidayCalendar,
    Period,
    Unit,
    deadline,
    is_expired,
    start_of_china_day,
    to_china_date,
    working_days_between,
)
from services.mediation.domain.content import AgreementMode
from services.mediation.domain.ending import close_open_suspension, mediator_ids, terminate_on_expiry
from services.mediation.domain.errors import (
    ActorNotAllowed,
    ConsentAlreadyRecorded,
    ExtensionPending,
    HoldAlreadyActive,
    HoldNotActive,
    NoPendingExtension,
    PeriodExpired,
    invalid,
)
from services.mediation.domain.events import (
    CaseResumed,
    CaseSuspended,
    ExpiryReminderDue,
    ExtensionConsentRecorded,
    ExtensionGranted,
    ExtensionRefused,
    ExtensionRequested,
    MediationEvent,
    ref,
)
from services.mediation.domain.model import (
    Actor,
    ActorRole,
    Case,
    Clock,
    Consent,
    Decision,
    Extension,
    ExtensionRequest,
    ExtensionStatus,
    Hold,
    HoldKind,
    Policy,
    Suspension,
)
from services.mediation.domain.rules import case_deadline, check, refuse_after_effect, transition
from services.mediation.domain.states import CLOCK_STATES, Action

EXTENSION_SOURCE = "SPC-Invited Art.27; SPC-Online Art.24 (extended with every party's consent)"
# DOMAIN.md §4 and issue 8 state the rule; neither cites its article (see docs/decisions.md).
APPRAISAL_SOURCE = "time in pre-filing appraisal (鉴定) not counted (issue 8)"


# ---- arithmetic -------------------------------------------------------------------------------

def extend(clock: Clock, request_id: str, days: int, granted_at: datetime, calendar: HolidayCalendar) -> Clock:
    """`days` more calendar days, counted from the current last day (the day the period would
    have ended: not counted, Art.85), the new last day rolled past rest days."""
    period = Period(f"{clock.base.period.name}.extended", days, Unit.CALENDAR_DAYS, EXTENSION_SOURCE)
    return replace(clock, current=deadline(clock.current.last_day, period, calendar),
                   extensions=(*clock.extensions, Extension(request_id, days, granted_at)))


def suspend(clock: Clock, at: datetime) -> Clock:
    return replace(clock, suspensions=(*clock.suspensions, Suspension(at)))


def resume(clock: Clock, at: datetime, calendar: HolidayCalendar) -> tuple[Clock, int]:
    """The clock after an appraisal ends at `at`, and the days not counted.

    The day the appraisal started (S) was a mediation day and counts; the days after it up to
    and including the day it ended (R) do not: R is where the rest of the period restarts, and
    the day a period starts is not counted (Art.85). So the unused days (nominal last day - S)
    run again from R, and the new last day rolls past rest days as any last day does. Example:
    nominal last day Sat 7 Feb (rolled to Mon 9 Feb), appraisal 1 Feb to 3 Feb: 6 days were left,
    they run from 3 Feb to Mon 9 Feb; 2 days were not counted. An appraisal that started on or
    after the nominal last day (on the last day, or during the rest days it was rolled over)
    left no whole day: the case gets the first working day after R.
    """
    started = clock.suspensions[-1].started_at
    first, last = to_china_date(started), to_china_date(at)
    if last < first:
        raise invalid("at", "an appraisal cannot end before it started")
    unused = (clock.current.nominal_last_day - first).days
    name = f"{clock.base.period.name}.resumed"
    period = (Period(name, unused, Unit.CALENDAR_DAYS, f"{clock.base.period.source}; {APPRAISAL_SOURCE}")
              if unused >= 1 else Period(name, 1, Unit.WORKING_DAYS, APPRAISAL_SOURCE))
    resumed = replace(clock, current=deadline(at, period, calendar),
                      suspensions=close_open_suspension(clock.suspensions, at))
    return resumed, (last - first).days


def recount(case: Case, calendar: HolidayCalendar, policy: Policy) -> Clock:
    """The clock counted again from the acceptance, replaying its extensions and appraisals in
    the order they happened: for a deadline counted across a year whose holiday schedule was
    not loaded (provisional), once operators load it. Same calendar, same clock."""
    base = case_deadline(case.clock.accepted_at, case.source.value, case.court_procedure.value, calendar,
                         policy.peoples_mediation_days)
    clock = replace(case.clock, base=base, current=base, extensions=(), suspensions=())
    steps: list[tuple[datetime, int, Extension | Suspension]] = [(e.granted_at, 1, e) for e in case.clock.extensions]
    for s in case.clock.suspensions:
        steps.append((s.started_at, 0, s))
        if s.ended_at is not None:
            steps.append((s.ended_at, 2, s))
    for when, kind, step in sorted(steps, key=lambda t: (t[0], t[1])):
        if isinstance(step, Extension):
            clock = extend(clock, step.request_id, step.days, step.granted_at, calendar)
        elif kind == 0:
            clock = suspend(clock, when)
        else:
            clock = resume(clock, when, calendar)[0]
    return clock


def previous_working_day(day: date, calendar: HolidayCalendar) -> date:
    day -= timedelta(days=1)
    while calendar.is_rest_day(day):
        day -= timedelta(days=1)
    return day


def reminder_day(due: Deadline, working_days: int, calendar: HolidayCalendar) -> date:
    """The working day `working_days` working days before the last day: on it, exactly that
    many working days remain (Mon..Wed for 3, from the Friday before a Wednesday last day)."""
    day = due.last_day
    for _ in range(working_days):
        day = previous_working_day(day, calendar)
    return day


def _clock_counts(case: Case) -> bool:
    """The clock can run out: the case is being mediated, nothing holds it, and no oral
    agreement is waiting for its date (the parties agreed within the period)."""
    agreement = case.agreement
    oral_pending = agreement is not None and agreement.mode is AgreementMode.ORAL
    return case.state in CLOCK_STATES and not case.holds and case.clock.running and not oral_pending


def _refuse_if_expired(case: Case, now: datetime) -> None:
    if case.clock.running and is_expired(case.clock.current, now):
        raise PeriodExpired(case.clock.current.last_day)


# ---- extension --------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class RequestExtension:
    request_id: str
    days: int
    reason: str
    actor: Actor


def decide_request_extension(case: Case, command: RequestExtension, now: datetime, policy: Policy) -> Decision:
    """The mediator asks every party to agree to more time (SPC-Invited Art.27). One request
    at a time; before the period runs out."""
    check(case, Action.REQUEST_EXTENSION, command.actor, now)
    refuse_after_effect(case, Action.REQUEST_EXTENSION)
    pending = case.pending_extension
    if pending is not None:
        raise ExtensionPending(pending.request_id)
    if isinstance(command.days, bool) or not isinstance(command.days, int) or command.days < 1:
        raise invalid("days", "a whole number of days, at least 1")
    if policy.max_extension_days is not None and command.days > policy.max_extension_days:
        raise invalid("days", f"at most {policy.max_extension_days} days in this region")
    if not command.reason.strip():
        raise invalid("reason", "say why more time is needed")
    if any(r.request_id == command.request_id for r in case.extension_requests):
        raise invalid("request_id", "already used")
    _refuse_if_expired(case, now)
    request = ExtensionRequest(request_id=command.request_id, days=command.days, reason=command.reason.strip(),
                               requested_at=now, requested_by=command.actor)
    after = transition(case, Action.REQUEST_EXTENSION, command.actor, now,
                       f"asked the parties to extend by {command.days} days: {request.reason}",
                       extension_requests=(*case.extension_requests, request))
    event = ExtensionRequested(**ref(case), at=now, request_id=request.request_id, days=request.days,
                               reason=request.reason, party_ids=tuple(p.party_id for p in case.parties))
    return Decision(after, (event,))


@dataclass(frozen=True, kw_only=True)
class RecordConsent:
    party_id: str
    agreed: bool
    reason: str  # required when the party refuses
    actor: Actor


def decide_extension_consent(case: Case, command: RecordConsent, now: datetime,
                             calendar: HolidayCalendar) -> Decision:
    """A party's answer. Every party agreed: the period is extended. One party refused: the
    request is refused, with that party's reason. Otherwise it waits for the others."""
    check(case, Action.RECORD_EXTENSION_CONSENT, command.actor, now)
    request = case.pending_extension
    if request is None:
        raise NoPendingExtension()
    if case.party(command.party_id) is None:
        raise invalid("party_id", "not a party of this case")
    if command.actor.role is ActorRole.PARTY and command.actor.person_id != command.party_id:
        raise ActorNotAllowed(Action.RECORD_EXTENSION_CONSENT, command.actor.person_id,
                              "a party answers only for itself")
    if any(c.party_id == command.party_id for c in request.consents):
        raise ConsentAlreadyRecorded(command.party_id)
    reason = command.reason.strip()
    if not command.agreed and not reason:
        raise invalid("reason", "record the party's reason for refusing")
    _refuse_if_expired(case, now)
    consents = (*request.consents, Consent(command.party_id, command.agreed, reason, now, command.actor))
    agreed = {c.party_id for c in consents if c.agreed}
    waiting = tuple(p.party_id for p in case.parties if p.party_id not in agreed)
    clock = case.clock
    events: tuple[MediationEvent, ...]
    if not command.agreed:
        status, why = ExtensionStatus.REFUSED, f"party {command.party_id} refused the extension: {reason}"
        events = (ExtensionRefused(**ref(case), at=now, request_id=request.request_id, party_id=command.party_id,
                                   reason=reason),)
    elif not waiting:
        clock = extend(clock, request.request_id, request.days, now, calendar)
        status, why = ExtensionStatus.GRANTED, (f"every party agreed: extended by {request.days} days to "
                                                f"{clock.current.last_day}")
        events = (ExtensionGranted(**ref(case), at=now, request_id=request.request_id, days=request.days,
                                   deadline=clock.current),)
    else:
        status, why = ExtensionStatus.PENDING, f"party {command.party_id} agreed to extend"
        events = (ExtensionConsentRecorded(**ref(case), at=now, request_id=request.request_id,
                                           party_id=command.party_id, waiting_for=waiting),)
    updated = replace(request, consents=consents, status=status)
    requests = tuple(updated if r.request_id == request.request_id else r for r in case.extension_requests)
    after = transition(case, Action.RECORD_EXTENSION_CONSENT, command.actor, now, why,
                       extension_requests=requests, clock=clock)
    return Decision(after, events)


# ---- appraisal (鉴定) ---------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class SuspendForAppraisal:
    reason: str  # e.g. "injury appraisal at the county forensic centre"
    actor: Actor


def decide_suspend_for_appraisal(case: Case, command: SuspendForAppraisal, now: datetime) -> Decision:
    """The dispute goes to pre-filing appraisal: the clock stops until it ends."""
    check(case, Action.SUSPEND_FOR_APPRAISAL, command.actor, now)
    refuse_after_effect(case, Action.SUSPEND_FOR_APPRAISAL)
    if case.hold(HoldKind.APPRAISAL):
        raise HoldAlreadyActive(HoldKind.APPRAISAL.value)
    if not command.reason.strip():
        raise invalid("reason", "say what is being appraised")
    _refuse_if_expired(case, now)
    reason = command.reason.strip()
    after = transition(case, Action.SUSPEND_FOR_APPRAISAL, command.actor, now, f"appraisal: {reason}",
                       holds=(*case.holds, Hold(HoldKind.APPRAISAL, now, reason, command.actor)),
                       clock=suspend(case.clock, now))
    return Decision(after, (CaseSuspended(**ref(case), at=now, kind=HoldKind.APPRAISAL, reason=reason),))


@dataclass(frozen=True, kw_only=True)
class EndAppraisal:
    reason: str  # e.g. "appraisal opinion received"
    actor: Actor


def decide_end_appraisal(case: Case, command: EndAppraisal, now: datetime, calendar: HolidayCalendar) -> Decision:
    """The appraisal is over: the clock restarts with the days it had left (see `resume`)."""
    check(case, Action.END_APPRAISAL, command.actor, now)
    if case.hold(HoldKind.APPRAISAL) is None:
        raise HoldNotActive(HoldKind.APPRAISAL.value)
    clock, not_counted = resume(case.clock, now, calendar)
    holds = tuple(h for h in case.holds if h.kind is not HoldKind.APPRAISAL)
    after = transition(case, Action.END_APPRAISAL, command.actor, now,
                       f"appraisal over ({command.reason.strip() or 'no note'}): {not_counted} days not counted, "
                       f"period now ends {clock.current.last_day}", holds=holds, clock=clock)
    return Decision(after, (CaseResumed(**ref(case), at=now, kind=HoldKind.APPRAISAL, deadline=clock.current,
                                        days_not_counted=not_counted),))


# ---- the sweep's decisions --------------------------------------------------------------------

def decide_reminder(case: Case, now: datetime, calendar: HolidayCalendar, policy: Policy) -> Decision | None:
    """From the reminder day (policy.reminder_working_days working days before the last day)
    until expiry, one reminder per last day: an extension moves the last day and earns a new one.
    None when no reminder is due."""
    if not _clock_counts(case):
        return None
    due = case.clock.current
    if case.clock.reminded_for == due.last_day or is_expired(due, now):
        return None
    if now < start_of_china_day(reminder_day(due, policy.reminder_working_days, calendar)):
        return None
    left = working_days_between(now, due.last_day, calendar)
    actor = Actor.system(case.organization_id)
    after = transition(case, Action.REMIND_EXPIRY, actor, now,
                       f"{left} working days left: the period ends {due.last_day}",
                       clock=replace(case.clock, reminded_for=due.last_day))
    return Decision(after, (ExpiryReminderDue(**ref(case), at=now, deadline=due, working_days_left=left,
                                              mediator_ids=mediator_ids(case)),))


def decide_expiry(case: Case, now: datetime) -> Decision | None:
    """The case whose period ran out without an agreed extension ends, ground "period expired
    without agreed extension" (SPC-Online Art.25); a court-related one goes back to its court.
    None while the period runs, the clock is stopped, a hold is on, or an agreement is in effect
    or agreed orally. Pure in (case, now): two sweeping replicas reach the same decision, and the
    store's row version lets only one of them write it."""
    if not _clock_counts(case) or not is_expired(case.clock.current, now):
        return None
    return terminate_on_expiry(case, now)

