"""The decisions: decide_*(state, command, now, ...) -> events. Pure; errors are named.

Each decision checks the transition table first (states.transition), then the rule of law it
implements, and returns the events; application.evolve() folds them into the new state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from liandiao.legaltime import HolidayCalendar, is_expired, to_china_date
from services.confirmation.domain import events as ev
from services.confirmation.domain.admissibility import (
    Admissibility,
    InadmissibleGround,
    assess_admissibility,
    decide_admission,
)
from services.confirmation.domain.application import Application
from services.confirmation.domain.clock import (
    DeadlineKind,
    ReminderPolicy,
    acceptance_deadline,
    ceiling_deadline,
    decision_deadline,
    due_reminders,
)
from services.confirmation.domain.commands import (
    Accept,
    Extend,
    FileApplication,
    Object,
    Refuse,
    RequestSupplement,
    Rule,
    SubmitMaterials,
    Withdraw,
)
from services.confirmation.domain.eligibility import ADVICE_MAY_SUE, assess_eligibility
from services.confirmation.domain.errors import (
    AlreadyApplied,
    ExtensionNotAllowed,
    GroundRequired,
    IllegalTransition,
    InvalidObjection,
    MaterialsMissing,
    NotAParty,
    NotCompetent,
    NotEligible,
    NothingToSupplement,
    ObjectionOutOfTime,
    ReasonsRequired,
    SupplementLate,
)
from services.confirmation.domain.jurisdiction import assess_jurisdiction, competent_courts
from services.confirmation.domain.materials import (
    in_checklist_order,
    missing_materials,
    required_materials,
    supplement_deadline,
)
from services.confirmation.domain.numbering import CaseNumber, CaseType, case_type_for, court_code
from services.confirmation.domain.remedies import (
    enforcement_deadline,
    objection_in_time,
    party_objection_window,
    third_party_objection_window,
)
from services.confirmation.domain.ruling import DocParty, DocTerm, Outcome, RulingDocument
from services.confirmation.domain.states import DOCKETED, PENDING, TRANSITIONS, Action, Status, transition

# ---- filing -----------------------------------------------------------------------------------


def decide_file(
    cmd: FileApplication, prior: Sequence[Application], now: datetime, calendar: HolidayCalendar,
) -> ev.ApplicationFiled:
    """A joint, timely application to a competent court is filed; anything else files nothing.

    `prior`: the other applications for the same agreement. Applying to several competent courts
    at once is allowed (SPC-Interp Art.352: the first to docket keeps it); applying again to
    the same court while one is pending, or once one is docketed anywhere, is not.
    """
    eligibility = assess_eligibility(cmd.agreement, cmd.applicants, now, calendar)
    if not eligibility.eligible:
        raise NotEligible(eligibility)
    competence = assess_jurisdiction(cmd.court, cmd.agreement)
    if not competence.competent:
        raise NotCompetent(competence, tuple(c.name for c in competent_courts(cmd.agreement, cmd.known_courts)))
    for other in prior:
        if other.status in DOCKETED:
            number = f" as {other.case_number.text}" if other.case_number else ""
            raise AlreadyApplied(f"the agreement is already docketed by {other.court.name}{number}")
        if other.status in PENDING and other.court.court_id == cmd.court.court_id:
            raise AlreadyApplied(f"application {other.application_id} for this agreement is pending at "
                                 f"{cmd.court.name}")
    required = required_materials(cmd.agreement, cmd.applicants)
    return ev.ApplicationFiled(
        application_id=cmd.application_id, agreement_id=cmd.agreement.agreement_id,
        dispute_id=cmd.agreement.dispute_id, court_id=cmd.court.court_id, applicants=cmd.applicants,
        filed_at=now, submitted=cmd.submitted, missing=missing_materials(required, cmd.submitted),
        application_window=eligibility.window, accept_by=acceptance_deadline(now, calendar),
        competence=competence, proposed=assess_admissibility(cmd.agreement, cmd.court),
    )


# ---- materials --------------------------------------------------------------------------------


def decide_request_supplement(
    app: Application, cmd: RequestSupplement, now: datetime, calendar: HolidayCalendar,
) -> ev.SupplementRequested:
    """Before acceptance the court asks for what SPC-Interp Art.354 requires and is missing;
    during review, for further statements or proofs (Art.356). Either way it sets the deadline."""
    transition(app.status, Action.REQUEST_SUPPLEMENT)
    during_review = app.status is Status.ACCEPTED
    items = cmd.items or (() if during_review else app.missing)
    if not items:
        raise NothingToSupplement("name the statements or proofs asked for" if during_review
                                  else "nothing required is missing")
    return ev.SupplementRequested(application_id=app.application_id, requested_at=now, items=in_checklist_order(items),
                                  supplement_by=supplement_deadline(now, cmd.days, calendar),
                                  during_review=during_review)


def decide_submit(
    app: Application, cmd: SubmitMaterials, now: datetime, calendar: HolidayCalendar,
) -> ev.MaterialsSupplemented:
    """Materials brought in. Complete after the court's request before acceptance: the 3 days to
    accept start again. After the court's deadline nothing is taken: the application lapses."""
    submitted = app.submitted | cmd.items
    waiting = app.status in (Status.AWAITING_SUPPLEMENT, Status.REVIEW_AWAITING_SUPPLEMENT)
    if waiting and app.supplement_by is not None and is_expired(app.supplement_by, now):
        raise SupplementLate(app.supplement_by.last_day.isoformat())
    outstanding = missing_materials(app.supplement_items, submitted) if waiting \
        else missing_materials(app.required, submitted)
    transition(app.status, Action.SUPPLEMENT_PART if outstanding else Action.SUPPLEMENT_COMPLETE)
    restart = app.status is Status.AWAITING_SUPPLEMENT and not outstanding
    return ev.MaterialsSupplemented(application_id=app.application_id, at=now, items=cmd.items,
                                    outstanding=outstanding,
                                    accept_by=acceptance_deadline(now, calendar) if restart else None)


def decide_lapse(app: Application, now: datetime) -> tuple[ev.ApplicationWithdrawn, ...]:
    """The sweep: past the court's supplement deadline with something still missing, the
    application counts as withdrawn (SPC-Interp Art.357)."""
    if app.supplement_by is None or not app.outstanding or not is_expired(app.supplement_by, now):
        return ()
    transition(app.status, Action.LAPSE)
    missing = ", ".join(m.label for m in app.outstanding)
    return (ev.ApplicationWithdrawn(
        application_id=app.application_id, at=now, by_party_id="", deemed=True,
        reason=f"not supplemented by {app.supplement_by.last_day.isoformat()}: {missing}",
        source="SPC-Interp Art.357"),)


# ---- acceptance -------------------------------------------------------------------------------


def case_counter_key(app: Application, now: datetime) -> tuple[str, int, CaseType]:
    """Which sequence the store draws the case number from when the court accepts at `now`."""
    return court_code(app.court), to_china_date(now).year, case_type_for(app.agreement, app.court)


def proposed_admissibility(app: Application) -> Admissibility:
    return assess_admissibility(app.agreement, app.court)


def decide_accept(app: Application, cmd: Accept, now: datetime, calendar: HolidayCalendar) -> ev.ApplicationAccepted:
    transition(app.status, Action.ACCEPT)
    if app.missing:
        raise MaterialsMissing(app.missing)
    decision = decide_admission(proposed_admissibility(app), accept=True, reasons=cmd.reasons,
                                override_reason=cmd.override_reason)
    code, year, case_type = case_counter_key(app, now)
    return ev.ApplicationAccepted(
        application_id=app.application_id, accepted_at=now, judge_id=cmd.judge_id,
        case_number=CaseNumber(year, code, case_type, cmd.sequence),
        decide_by=decision_deadline(now, calendar), ceiling=ceiling_deadline(now, calendar),
        decision=decision, late=is_expired(app.accept_by, now),
    )


def decide_refuse(app: Application, cmd: Refuse, now: datetime) -> ev.ApplicationRefused:
    transition(app.status, Action.REFUSE)
    decision = decide_admission(proposed_admissibility(app), accept=False, grounds=cmd.grounds,
                                reasons=cmd.reasons, override_reason=cmd.override_reason)
    advice, code = ADVICE_MAY_SUE, ev.RefusalAdvice.MEDIATE_AGAIN_OR_SUE
    if InadmissibleGround.NOT_THIS_COURT in decision.grounds:
        advice = f"They may apply to a competent court within the 30 days. {advice}"
        code = ev.RefusalAdvice.APPLY_TO_COMPETENT_COURT
    return ev.ApplicationRefused(application_id=app.application_id, refused_at=now, judge_id=cmd.judge_id,
                                 decision=decision, advice=advice, advice_code=code,
                                 late=app.status is Status.FILED and is_expired(app.accept_by, now))


def decide_competition(apps: Sequence[Application], now: datetime) -> tuple[ev.ApplicationClosed, ...]:
    """SPC-Interp Art.352: of the applications for one agreement, the one docketed first keeps it;
    every other one still open is closed. Ties (the same instant) go to the earlier filing."""
    docketed = [a for a in apps if a.accepted_at is not None]
    if not docketed:
        return ()
    winner = min(docketed, key=lambda a: (a.accepted_at or now, a.filed_at, a.application_id))
    closed = []
    for app in apps:
        if app is winner or (app.status, Action.CLOSE) not in TRANSITIONS:
            continue
        closed.append(ev.ApplicationClosed(
            application_id=app.application_id, at=now, winner_application_id=winner.application_id,
            winner_court_id=winner.court.court_id,
            reason=f"{winner.court.name} docketed the agreement first (SPC-Interp Art.352)"))
    return tuple(closed)


# ---- review -----------------------------------------------------------------------------------


def decide_extend(app: Application, cmd: Extend, now: datetime, calendar: HolidayCalendar) -> ev.DecisionPeriodExtended:
    """SPC-2011 Art.5: once, by 10 days, with the court president's approval, while the 15 days run."""
    transition(app.status, Action.EXTEND)
    if app.extended:
        raise ExtensionNotAllowed("the decision period was extended once already")
    if not cmd.approved_by.strip():
        raise ExtensionNotAllowed("an extension needs the court president's approval")
    if not cmd.reason.strip():
        raise ReasonsRequired("an extension")
    if app.accepted_at is None or app.decide_by is None:
        raise ExtensionNotAllowed("the application has no decision period yet")
    if is_expired(app.decide_by, now):
        raise ExtensionNotAllowed(f"the 15 days ended on {app.decide_by.last_day.isoformat()}; "
                                  "a period that is over cannot be extended")
    return ev.DecisionPeriodExtended(application_id=app.application_id, at=now, approved_by=cmd.approved_by,
                                     reason=cmd.reason.strip(),
                                     decide_by=decision_deadline(app.accepted_at, calendar, extended=True))


def decide_withdraw(app: Application, cmd: Withdraw, now: datetime) -> ev.ApplicationWithdrawn:
    """Before the ruling, one party or both may withdraw (SPC-2011 Art.5; SPC-Interp Art.357)."""
    transition(app.status, Action.WITHDRAW)
    if app.agreement.party(cmd.party_id) is None:
        raise NotAParty(cmd.party_id)
    return ev.ApplicationWithdrawn(application_id=app.application_id, at=now, by_party_id=cmd.party_id,
                                   deemed=False, reason=cmd.reason.strip(), source="SPC-Interp Art.357; SPC-2011 Art.5")


def decide_reminders(app: Application, now: datetime, policy: ReminderPolicy,
                     calendar: HolidayCalendar) -> tuple[ev.ReminderDue, ...]:
    """Reminders before the court's deadlines (SPC-2011 Art.4, Art.5) and the applicants'
    supplement deadline (SPC-Interp Art.354/357), `policy.working_days` working days before."""
    out = []
    for due in due_reminders(app, now, policy, calendar):
        transition(app.status, Action.REMIND)
        out.append(ev.ReminderDue(
            application_id=app.application_id, court_id=app.court.court_id, judge_id=app.judge_id,
            deadline=due.kind.value, last_day=due.deadline.last_day, lead_days=policy.working_days, at=now,
            audience=due.audience.value, working_days_left=due.working_days_left, due=due.deadline,
            outstanding=app.outstanding if due.kind is DeadlineKind.SUPPLEMENT else ()))
    return tuple(out)


# ---- ruling -----------------------------------------------------------------------------------


def ruling_document(app: Application, case_number: CaseNumber, cmd: Rule, now: datetime) -> RulingDocument:
    agreement = app.agreement
    return RulingDocument(
        court_id=app.court.court_id, court_name=app.court.name, case_number=case_number.text,
        ruling_id=cmd.ruling_id, application_id=app.application_id, agreement_id=agreement.agreement_id,
        dispute_id=agreement.dispute_id, organization_id=agreement.organization.organization_id,
        organization_name=agreement.organization.name,
        agreement_effective_on=to_china_date(agreement.effective_at),
        parties=tuple(DocParty(p.side, p.party_id, p.name) for p in agreement.parties),
        terms=tuple(DocTerm(t.asks, t.description, t.amount_fen, t.due_on) for t in agreement.terms),
        outcome=cmd.outcome, ground=cmd.ground, reasons=cmd.reasons, judge_id=cmd.judge_id,
        judge_name=cmd.judge_name, issued_on=to_china_date(now),
    )


def decide_rule(
    app: Application, cmd: Rule, now: datetime, calendar: HolidayCalendar,
) -> tuple[ev.RulingIssued | ev.RejectionNotice, ...]:
    """Valid (CPL 2023 Art.206) or rejected on the ground the judge picks (SPC-Interp Art.358,
    Art.355 para.2), with written reasons. A rejection also informs the judicial administration
    and the mediation committee (SPC-2011 Art.12)."""
    action = Action.RULE_VALID if cmd.outcome is Outcome.VALID else Action.RULE_REJECTED
    transition(app.status, action)
    case_number = app.case_number
    if case_number is None:  # every state that allows a ruling is a docketed one
        raise IllegalTransition(app.status, action)
    if cmd.outcome is Outcome.REJECTED and cmd.ground is None:
        raise GroundRequired("a rejection names its ground (SPC-Interp Art.358, or Art.355 para.2)")
    if cmd.outcome is Outcome.VALID and cmd.ground is not None:
        raise GroundRequired("a valid ruling has no rejection ground")
    if not cmd.reasons.strip():
        raise ReasonsRequired("a ruling")
    document = ruling_document(app, case_number, cmd, now)
    ruling = ev.RulingIssued(
        application_id=app.application_id, ruling_id=cmd.ruling_id, dispute_id=app.agreement.dispute_id,
        court_id=app.court.court_id, judge_id=cmd.judge_id, outcome=cmd.outcome, ground=cmd.ground,
        case_number=case_number, issued_at=now, document=document,
        enforcement_by=enforcement_deadline(app.agreement.terms, now, calendar) if cmd.outcome is Outcome.VALID
        else None,
        late=app.decide_by is not None and is_expired(app.decide_by, now),
    )
    if cmd.ground is None:
        return (ruling,)
    notices = tuple(
        ev.RejectionNotice(application_id=app.application_id, ruling_id=cmd.ruling_id, recipient=recipient,
                           recipient_ref=ref, court_id=app.court.court_id, case_number=case_number,
                           ground=cmd.ground, issued_at=now)
        for recipient, ref in (
            (ev.NoticeRecipient.JUDICIAL_ADMINISTRATION, app.court.seat.region_code),
            (ev.NoticeRecipient.MEDIATION_COMMITTEE, app.agreement.organization.organization_id),
        )
    )
    return (ruling, *notices)


def decide_object(app: Application, cmd: Object, now: datetime, calendar: HolidayCalendar) -> ev.ObjectionFiled:
    """SPC-Interp Art.372: a party within 15 days of receiving the ruling; a third party within
    6 months of knowing (or when it should have known) its rights were harmed."""
    transition(app.status, Action.OBJECT)
    ruling = app.ruling
    if ruling is None:  # every state that allows an objection is a ruled one
        raise IllegalTransition(app.status, Action.OBJECT)
    if not cmd.grounds.strip():
        raise ReasonsRequired("an objection")
    issued_on = to_china_date(ruling.issued_at)
    is_party = app.agreement.party(cmd.objector) is not None
    if cmd.third_party:
        if is_party:
            raise InvalidObjection(f"{cmd.objector} is a party; a party objects as a party")
        if cmd.knew_on is None:
            raise InvalidObjection("a third party's objection states when it knew of the harm")
        window = third_party_objection_window(max(cmd.knew_on, issued_on), calendar)
        started = "knowing of the harm"
    else:
        if not is_party:
            raise NotAParty(cmd.objector)
        if cmd.received_on is None:
            raise InvalidObjection("a party's objection states when it received the ruling")
        if cmd.received_on < issued_on:
            raise InvalidObjection(f"the ruling was issued on {issued_on.isoformat()}, after {cmd.received_on}")
        window = party_objection_window(cmd.received_on, calendar)
        started = "receiving the ruling"
    if not objection_in_time(window, now):
        raise ObjectionOutOfTime(f"the time to object after {started} ended on {window.last_day.isoformat()} "
                                 f"({window.period.source})")
    return ev.ObjectionFiled(application_id=app.application_id, ruling_id=ruling.ruling_id,
                             objection_id=cmd.objection_id, objector=cmd.objector, third_party=cmd.third_party,
                             grounds=cmd.grounds.strip(), filed_at=now, window=window)
