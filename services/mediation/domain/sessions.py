"""Sessions (in person or by video), the parties' choice of public or private mediation
(PML Art.23), the session record (调解记录, PML Art.27), and the case's mediators: several for
a difficult case, exactly one presiding (SPC-Invited Art.13)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from services.mediation.domain.errors import (
    ActorNotAllowed,
    PresidingMediatorRequired,
    SessionActionNotAllowed,
    SessionNotFound,
    SessionOutsidePeriod,
    invalid,
)
from services.mediation.domain.events import (
    MediatorsChanged,
    PublicityChosen,
    SessionCancelled,
    SessionHeld,
    SessionNoShow,
    SessionRescheduled,
    SessionScheduled,
    ref,
)
from services.mediation.domain.model import (
    Actor,
    ActorRole,
    Case,
    Decision,
    InPerson,
    MediatorOnCase,
    Participant,
    ParticipantRole,
    Publicity,
    PublicityChoice,
    Reschedule,
    Session,
    SessionRecord,
    Venue,
    Video,
)
from services.mediation.domain.rules import check, require_aware, transition
from services.mediation.domain.states import SESSION_TRANSITIONS, Action, SessionState

# ---- publicity (PML Art.23) ------------------------------------------------------------------


def publicity(case: Case) -> Publicity:
    """Each party may ask for public or private mediation (PML Art.23 (3)). Mediation is public
    only when every party asked for it: one party's wish for privacy prevails, and a party who
    has not chosen is taken to want privacy (mediators keep the parties' privacy, PML Art.15)."""
    latest = {c.party_id: c.choice for c in case.publicity_choices}
    if case.parties and all(latest.get(p.party_id) is Publicity.PUBLIC for p in case.parties):
        return Publicity.PUBLIC
    return Publicity.PRIVATE


@dataclass(frozen=True, kw_only=True)
class RecordPublicityChoice:
    party_id: str
    choice: Publicity
    actor: Actor


def decide_publicity_choice(case: Case, command: RecordPublicityChoice, now: datetime) -> Decision:
    check(case, Action.RECORD_PUBLICITY_CHOICE, command.actor, now)
    if case.party(command.party_id) is None:
        raise invalid("party_id", "not a party of this case")
    if command.actor.role is ActorRole.PARTY and command.actor.person_id != command.party_id:
        raise ActorNotAllowed(Action.RECORD_PUBLICITY_CHOICE, command.actor.person_id, "a party chooses for itself")
    choices = (*case.publicity_choices, PublicityChoice(command.party_id, command.choice, now))
    after = transition(case, Action.RECORD_PUBLICITY_CHOICE, command.actor, now,
                       f"party {command.party_id} asks for {command.choice.value} mediation",
                       publicity_choices=choices)
    return Decision(after, (PublicityChosen(**ref(case), at=now, party_id=command.party_id, choice=command.choice,
                                            publicity=publicity(after)),))


# ---- checks shared by the session decisions ---------------------------------------------------


def _check_venue(venue: Venue) -> None:
    if isinstance(venue, InPerson) and not venue.place.strip():
        raise invalid("place", "an in-person session needs a place")
    if isinstance(venue, Video):
        parts = urlsplit(venue.link.strip())
        if parts.scheme != "https" or not parts.netloc:
            raise invalid("link", "a video session needs an https:// link")


def _check_participants(case: Case, participants: Iterable[Participant], field: str) -> tuple[Participant, ...]:
    """Parties and mediators by their case ids; anyone else (agent, interpreter, witness,
    invited helper) by name. At least one of the case's mediators."""
    result = tuple(participants)
    seen: set[tuple[str, ParticipantRole]] = set()
    for i, p in enumerate(result):
        if p.role is ParticipantRole.PARTY and case.party(p.person_id) is None:
            raise invalid(f"{field}[{i}]", f"{p.person_id} is not a party of this case")
        if p.role is ParticipantRole.MEDIATOR and case.mediator(p.person_id) is None:
            raise invalid(f"{field}[{i}]", f"{p.person_id} is not a mediator of this case")
        if p.role not in (ParticipantRole.PARTY, ParticipantRole.MEDIATOR) and not p.name.strip():
            raise invalid(f"{field}[{i}]", "give the name of a participant who is not a party or mediator")
        if (p.person_id, p.role) in seen:
            raise invalid(f"{field}[{i}]", "listed twice")
        seen.add((p.person_id, p.role))
    if not any(p.role is ParticipantRole.MEDIATOR for p in result):
        raise invalid(field, "a session is conducted by at least one of the case's mediators")
    return result


def _session(case: Case, session_id: str, action: Action) -> Session:
    session = case.session(session_id)
    if session is None:
        raise SessionNotFound(session_id)
    if action not in SESSION_TRANSITIONS[session.state]:
        raise SessionActionNotAllowed(session_id, session.state, action)
    return session


def _with(case: Case, session: Session, action: Action, **changes: Any) -> tuple[Session, ...]:
    updated = replace(session, state=SESSION_TRANSITIONS[session.state][action], **changes)
    return tuple(updated if s.session_id == session.session_id else s for s in case.sessions)


def _check_time(case: Case, scheduled_for: datetime, now: datetime) -> None:
    require_aware(scheduled_for)
    if scheduled_for <= now:
        raise invalid("scheduled_for", "must be in the future")
    clock = case.clock
    if clock.running and scheduled_for >= clock.current.expires_at:
        raise SessionOutsidePeriod(f"the mediation period ends {clock.current.last_day}: ask the parties to extend "
                                   "it before planning a session after that")


def _where(venue: Venue) -> str:
    return f"at {venue.place}" if isinstance(venue, InPerson) else "by video"


# ---- sessions ---------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class ScheduleSession:
    session_id: str
    scheduled_for: datetime
    venue: Venue
    participants: tuple[Participant, ...]
    actor: Actor


def decide_schedule_session(case: Case, command: ScheduleSession, now: datetime) -> Decision:
    check(case, Action.SCHEDULE_SESSION, command.actor, now)
    _check_time(case, command.scheduled_for, now)
    _check_venue(command.venue)
    participants = _check_participants(case, command.participants, "participants")
    if case.session(command.session_id) is not None:
        raise invalid("session_id", "already used")
    session = Session(session_id=command.session_id, number=len(case.sessions) + 1, state=SessionState.SCHEDULED,
                      scheduled_for=command.scheduled_for, venue=command.venue, participants=participants,
                      publicity=publicity(case))
    after = transition(case, Action.SCHEDULE_SESSION, command.actor, now,
                       f"session {session.number} on {command.scheduled_for.isoformat()} {_where(command.venue)} "
                       f"({session.publicity.value})", sessions=(*case.sessions, session))
    return Decision(after, (SessionScheduled(**ref(case), at=now, session_id=session.session_id, number=session.number,
                                             scheduled_for=session.scheduled_for, venue=session.venue,
                                             participants=participants, publicity=session.publicity),))


@dataclass(frozen=True, kw_only=True)
class RescheduleSession:
    session_id: str
    scheduled_for: datetime
    reason: str
    actor: Actor
    venue: Venue | None = None  # None: same place or link


def decide_reschedule_session(case: Case, command: RescheduleSession, now: datetime) -> Decision:
    check(case, Action.RESCHEDULE_SESSION, command.actor, now)
    session = _session(case, command.session_id, Action.RESCHEDULE_SESSION)
    _check_time(case, command.scheduled_for, now)
    venue = command.venue or session.venue
    _check_venue(venue)
    if not command.reason.strip():
        raise invalid("reason", "say why the session moves")
    move = Reschedule(session.scheduled_for, command.scheduled_for, command.reason.strip(), now)
    sessions = _with(case, session, Action.RESCHEDULE_SESSION, scheduled_for=command.scheduled_for, venue=venue,
                     reschedules=(*session.reschedules, move))
    after = transition(case, Action.RESCHEDULE_SESSION, command.actor, now,
                       f"session {session.number} moved to {command.scheduled_for.isoformat()}: {move.reason}",
                       sessions=sessions)
    return Decision(after, (SessionRescheduled(**ref(case), at=now, session_id=session.session_id,
                                               previous=move.previous, scheduled_for=move.scheduled_for,
                                               reason=move.reason, participants=session.participants),))


@dataclass(frozen=True, kw_only=True)
class CancelSession:
    session_id: str
    reason: str
    actor: Actor


def decide_cancel_session(case: Case, command: CancelSession, now: datetime) -> Decision:
    check(case, Action.CANCEL_SESSION, command.actor, now)
    session = _session(case, command.session_id, Action.CANCEL_SESSION)
    if not command.reason.strip():
        raise invalid("reason", "say why the session is called off")
    sessions = _with(case, session, Action.CANCEL_SESSION, cancel_reason=command.reason.strip())
    after = transition(case, Action.CANCEL_SESSION, command.actor, now,
                       f"session {session.number} cancelled: {command.reason.strip()}", sessions=sessions)
    return Decision(after, (SessionCancelled(**ref(case), at=now, session_id=session.session_id,
                                             reason=command.reason.strip(), participants=session.participants),))


@dataclass(frozen=True, kw_only=True)
class RecordNoShow:
    session_id: str
    absent_party_ids: tuple[str, ...]
    actor: Actor


def decide_record_no_show(case: Case, command: RecordNoShow, now: datetime) -> Decision:
    """Parties did not come: the session did not take place. (Repeated absence may ground a
    termination, "party unreachable" or "refuses to continue": the mediator decides.)"""
    check(case, Action.RECORD_NO_SHOW, command.actor, now)
    session = _session(case, command.session_id, Action.RECORD_NO_SHOW)
    if now < session.scheduled_for:
        raise invalid("session_id", f"the session is set for {session.scheduled_for.isoformat()}: not yet missed")
    absent = tuple(dict.fromkeys(command.absent_party_ids))
    if not absent:
        raise invalid("absent_party_ids", "name the parties who did not come")
    for party_id in absent:
        if case.party(party_id) is None:
            raise invalid("absent_party_ids", f"{party_id} is not a party of this case")
    sessions = _with(case, session, Action.RECORD_NO_SHOW, absent_party_ids=absent)
    after = transition(case, Action.RECORD_NO_SHOW, command.actor, now,
                       f"session {session.number}: {', '.join(absent)} did not come", sessions=sessions)
    return Decision(after, (SessionNoShow(**ref(case), at=now, session_id=session.session_id,
                                          absent_party_ids=absent),))


@dataclass(frozen=True, kw_only=True)
class RecordSession:
    session_id: str
    record: SessionRecord
    actor: Actor


def decide_record_session(case: Case, command: RecordSession, now: datetime) -> Decision:
    """The session was held: its record (调解记录: time, place, participants, statements, the
    facts the parties confirmed as undisputed, the result; PML Art.27)."""
    check(case, Action.RECORD_SESSION, command.actor, now)
    session = _session(case, command.session_id, Action.RECORD_SESSION)
    record = command.record
    require_aware(record.started_at)
    require_aware(record.ended_at)
    if not record.started_at <= record.ended_at <= now:
        raise invalid("record.ended_at", "a session ends after it starts and before it is recorded")
    if not record.place.strip():
        raise invalid("record.place", "where the session was held (the room, or the video link)")
    participants = _check_participants(case, record.participants, "record.participants")
    present = {p.person_id for p in participants}
    for i, statement in enumerate(record.statements):
        if statement.speaker_id not in present:
            raise invalid(f"record.statements[{i}]", f"{statement.speaker_id} was not at the session")
        if not statement.text.strip():
            raise invalid(f"record.statements[{i}]", "empty statement")
    facts = tuple(f.strip() for f in record.undisputed_facts if f.strip())
    record = replace(record, participants=participants, undisputed_facts=facts)
    sessions = _with(case, session, Action.RECORD_SESSION, record=record)
    after = transition(case, Action.RECORD_SESSION, command.actor, now,
                       f"session {session.number} held: {record.result.value}", sessions=sessions)
    return Decision(after, (SessionHeld(**ref(case), at=now, session_id=session.session_id, record=record),))


# ---- mediators (SPC-Invited Art.13) -----------------------------------------------------------

def _require_presiding_or_clerk(case: Case, action: Action, actor: Actor) -> None:
    if actor.role is ActorRole.MEDIATOR and case.presiding.person_id != actor.person_id:
        raise ActorNotAllowed(action, actor.person_id, "only the presiding mediator or the committee changes "
                                                       "the case's mediators")


def _mediators_changed(case: Case, after: Case, now: datetime, change: str) -> Decision:
    return Decision(after, (MediatorsChanged(**ref(case), at=now, mediators=after.mediators, change=change),))


@dataclass(frozen=True, kw_only=True)
class AddMediator:
    person_id: str
    organization_id: str
    reason: str  # e.g. "difficult case: a lawyer joins"
    actor: Actor


def decide_add_mediator(case: Case, command: AddMediator, now: datetime) -> Decision:
    check(case, Action.ADD_MEDIATOR, command.actor, now)
    _require_presiding_or_clerk(case, Action.ADD_MEDIATOR, command.actor)
    if not command.person_id or not command.organization_id:
        raise invalid("person_id", "name the mediator and their organization")
    if case.mediator(command.person_id) is not None:
        raise invalid("person_id", "already a mediator of this case")
    mediators = (*case.mediators, MediatorOnCase(command.person_id, command.organization_id))
    change = f"{command.person_id} joins: {command.reason.strip() or 'no reason given'}"
    after = transition(case, Action.ADD_MEDIATOR, command.actor, now, change, mediators=mediators)
    return _mediators_changed(case, after, now, change)


@dataclass(frozen=True, kw_only=True)
class RemoveMediator:
    person_id: str
    reason: str
    actor: Actor


def decide_remove_mediator(case: Case, command: RemoveMediator, now: datetime) -> Decision:
    check(case, Action.REMOVE_MEDIATOR, command.actor, now)
    _require_presiding_or_clerk(case, Action.REMOVE_MEDIATOR, command.actor)
    mediator = case.mediator(command.person_id)
    if mediator is None:
        raise invalid("person_id", "not a mediator of this case")
    if mediator.presiding:
        raise PresidingMediatorRequired("name another presiding mediator before the presiding one leaves")
    mediators = tuple(m for m in case.mediators if m.person_id != command.person_id)
    change = f"{command.person_id} leaves: {command.reason.strip() or 'no reason given'}"
    after = transition(case, Action.REMOVE_MEDIATOR, command.actor, now, change, mediators=mediators)
    return _mediators_changed(case, after, now, change)


@dataclass(frozen=True, kw_only=True)
class SetPresiding:
    person_id: str
    reason: str  # SPC-Invited Art.13: the parties agree on who presides
    actor: Actor


def decide_set_presiding(case: Case, command: SetPresiding, now: datetime) -> Decision:
    check(case, Action.SET_PRESIDING, command.actor, now)
    _require_presiding_or_clerk(case, Action.SET_PRESIDING, command.actor)
    if case.mediator(command.person_id) is None:
        raise invalid("person_id", "not a mediator of this case")
    if not command.reason.strip():
        raise invalid("reason", "say how the presiding mediator was chosen (SPC-Invited Art.13: by the parties)")
    mediators = tuple(replace(m, presiding=m.person_id == command.person_id) for m in case.mediators)
    change = f"{command.person_id} presides: {command.reason.strip()}"
    after = transition(case, Action.SET_PRESIDING, command.actor, now, change, mediators=mediators)
    return _mediators_changed(case, after, now, change)
