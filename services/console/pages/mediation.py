"""The mediator's work: offers to accept or decline (with a reason, before the 3 working days
of SPC-Online Art.12 run out), my cases with their statutory clocks, a case's sessions
(schedule, record), its agreement (drafted from the template, signed, sealed), termination on
a ground, and the timeline. The case's page is also what a clerk, police officer or court
with a relation to the case sees (read only: the services refuse them the actions)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import grpc
from starlette.requests import Request
from starlette.responses import Response

from liandiao.common.v1 import common_pb2
from liandiao.confirmation.v1 import confirmation_pb2 as cpb
from liandiao.intake.v1 import intake_pb2 as ipb
from liandiao.legaltime import CHINA_TZ, to_china_date
from liandiao.mediation.v1 import mediation_pb2 as mpb
from liandiao.personnel.v1 import personnel_pb2 as ppb
from liandiao.routing.v1 import routing_pb2 as rpb
from liandiao.rpc.convert import timestamp
from services.console import errors, i18n
from services.console.backend import Caller
from services.console.present import N_
from services.console.session import User
from services.console.web import back, form, locale_of, page, render

MEDIATORS = ("mediator", "lawyer")
OFFER_WINDOW_DAYS = 14   # how far back the offers page looks for disputes still offered


async def my_offers(caller: Caller, user: User) -> list[tuple[ipb.Dispute, rpb.Assignment]]:
    """Disputes offered to me and not yet answered. Routing lists no assignments, so: the
    region's recent disputes (intake), each one's assignment (routing shows a mediator only
    their own), kept when offered to me."""
    since = datetime.now(UTC) - timedelta(days=OFFER_WINDOW_DAYS)
    listed = await caller.intake.ListDisputes(ipb.ListDisputesRequest(
        region_prefix=user.prefecture, registered_from=timestamp(since), page={"page_size": 200}))

    async def offer(d: ipb.Dispute) -> rpb.Assignment | None:
        try:
            a = await caller.routing.GetAssignment(rpb.GetAssignmentRequest(dispute_id=d.dispute_id))
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
                return None
            raise
        return a if a.status == rpb.ASSIGNMENT_STATUS_OFFERED and a.mediator_id == user.subject else None
    found = await asyncio.gather(*(offer(d) for d in listed.disputes))
    pairs = [(d, a) for d, a in zip(listed.disputes, found, strict=True) if a is not None]
    return sorted(pairs, key=lambda p: p[1].respond_by.last_day)


@page(*MEDIATORS)
async def home(request: Request, user: User, caller: Caller) -> Response:
    offers, cases = await asyncio.gather(my_offers(caller, user), caller.mediation.ListCases(
        mpb.ListCasesRequest(mediator_id=user.subject, page={"page_size": 100})))
    open_first = sorted(cases.cases, key=lambda c: (c.status not in _ACTIVE, c.deadline.last_day))
    return render(request, "mediator.html", offers=offers, cases=open_first, problem="")


_ACTIVE = (mpb.CASE_STATUS_OPEN, mpb.CASE_STATUS_IN_SESSION, mpb.CASE_STATUS_AGREEMENT_DRAFTED,
           mpb.CASE_STATUS_SUSPENDED)


@page(*MEDIATORS)
async def answer_offer(request: Request, user: User, caller: Caller) -> Response:
    dispute_id, answer = request.path_params["dispute_id"], request.path_params["answer"]
    values = await form(request)
    problem = ""
    try:
        if answer == "accept":
            a = await caller.routing.AcceptAssignment(rpb.AcceptAssignmentRequest(dispute_id=dispute_id,
                                                                                  mediator_id=user.subject))
        else:
            a = await caller.routing.DeclineAssignment(rpb.DeclineAssignmentRequest(
                dispute_id=dispute_id, mediator_id=user.subject, reason=values.get("reason", "")))
    except grpc.aio.AioRpcError as exc:
        if exc.code() not in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION):
            raise
        a, problem = None, (errors.form_errors(exc) or {}).get("reason", exc.details() or "")
    if request.headers.get("hx-request"):
        return render(request, "_offer_answered.html", a=a, answer=answer, problem=problem, dispute_id=dispute_id)
    return back("/mediator")


@page()
async def case_page(request: Request, user: User, caller: Caller) -> Response:
    case_id = request.path_params["case_id"]
    c = await caller.mediation.GetCase(mpb.GetCaseRequest(case_id=case_id))
    timeline = await caller.mediation.GetTimeline(mpb.GetTimelineRequest(case_id=case_id))
    # The case carries its agreement for a glance; who is still to sign comes with the agreement itself.
    agreement = c.agreement
    if c.agreement.agreement_id:
        agreement = await caller.mediation.GetAgreement(mpb.GetAgreementRequest(agreement_id=c.agreement.agreement_id))
    application = None
    if c.status == mpb.CASE_STATUS_AGREEMENT_EFFECTIVE and user.role in ("mediator", "clerk"):
        listed = await caller.confirmation.ListApplications(cpb.ListApplicationsRequest(page={"page_size": 200}))
        application = next((x for x in listed.applications if x.agreement_id == c.agreement.agreement_id), None)
    courts = await _courts(caller, c.region_code) if c.status == mpb.CASE_STATUS_AGREEMENT_EFFECTIVE else []
    facts = c.summary
    if not facts and not agreement.agreement_id:   # the draft starts from the facts as registered
        try:
            facts = (await caller.intake.GetDispute(ipb.GetDisputeRequest(dispute_id=c.dispute_id))).facts
        except grpc.aio.AioRpcError:
            facts = ""
    return render(request, "case.html", c=c, ag=agreement, facts=facts, timeline=timeline.entries, mine=user.subject in _mediator_ids(c),
                  errors=_errors(request), application=application,
                  values={"follow_up.visited_on": to_china_date(datetime.now(UTC)).isoformat()} | dict(request.query_params),
                  courts=courts, today=to_china_date(datetime.now(UTC)).isoformat(),
                  in_30=(to_china_date(datetime.now(UTC)) + timedelta(days=30)).isoformat(),
                  now_local=datetime.now(CHINA_TZ).strftime("%Y-%m-%dT%H:%M"))


def _errors(request: Request) -> dict[str, str]:
    return {k.removeprefix("error."): v for k, v in request.query_params.items() if k.startswith("error.")}


def _mediator_ids(c: mpb.Case) -> set[str]:
    return {c.mediator_id, *(m.person_id for m in c.mediators)}


async def _courts(caller: Caller, region_code: str) -> list[ppb.Organization]:
    """Basic courts and tribunals of the case's county, for the application's court."""
    kinds = (ppb.ORGANIZATION_KIND_BASIC_COURT, ppb.ORGANIZATION_KIND_PEOPLES_TRIBUNAL)
    try:
        listed = await caller.personnel.ListOrganizations(ppb.ListOrganizationsRequest(
            region_prefix=region_code[:6], page={"page_size": 100}))
    except grpc.aio.AioRpcError:
        return []
    return [o for o in listed.organizations if o.kind in kinds]


def _to_utc(local: str) -> datetime | None:
    """A datetime-local field (China time) as an instant."""
    try:
        return datetime.fromisoformat(local).replace(tzinfo=CHINA_TZ).astimezone(UTC)
    except ValueError:
        return None


async def _act(case_id: str, call, anchor: str, prefix: str = "", keep: dict[str, str] | None = None) -> Response:
    """Runs a command of the case page; its field errors go back to the page, next to the field.
    ``prefix`` names the form the fields belong to where two forms of the page share a field
    name (a consent's reason and the extension's reason); ``keep`` goes back as values (which
    party's consent failed)."""
    try:
        await call()
    except grpc.aio.AioRpcError as exc:
        found = errors.form_errors(exc)
        if found is None and exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
            raise
        found = found or {"": exc.details() or ""}
        query = {f"error.{prefix + k if k else ''}": v for k, v in found.items()} | (keep or {})
        return back(f"/cases/{case_id}?" + urlencode(query) + f"#{anchor}")
    return back(f"/cases/{case_id}#{anchor}")


def _people(c: mpb.Case) -> list[mpb.Participant]:
    people = [mpb.Participant(person_id=p.party_id, role=mpb.PARTICIPANT_ROLE_PARTY) for p in c.parties]
    return people + [mpb.Participant(person_id=c.mediator_id, role=mpb.PARTICIPANT_ROLE_MEDIATOR)]


@page(*MEDIATORS)
async def schedule(request: Request, user: User, caller: Caller) -> Response:
    case_id = request.path_params["case_id"]
    values = await form(request)
    c = await caller.mediation.GetCase(mpb.GetCaseRequest(case_id=case_id))
    when = _to_utc(values.get("scheduled_for", ""))
    req = mpb.ScheduleSessionRequest(case_id=case_id, place=values.get("place", ""), participants=_people(c))
    if when is not None:
        req.scheduled_for.CopyFrom(timestamp(when))
    return await _act(case_id, lambda: caller.mediation.ScheduleSession(req), "sessions")


@page(*MEDIATORS)
async def record(request: Request, user: User, caller: Caller) -> Response:
    case_id, session_id = request.path_params["case_id"], request.path_params["session_id"]
    values = await form(request)
    c = await caller.mediation.GetCase(mpb.GetCaseRequest(case_id=case_id))
    started, ended = _to_utc(values.get("started_at", "")), _to_utc(values.get("ended_at", ""))
    rec = mpb.SessionRecord(place=values.get("place", ""), participants=_people(c),
                            result=int(values.get("result") or 0),
                            undisputed_facts=[x for x in values.get("undisputed_facts", "").splitlines() if x.strip()])
    if values.get("statement"):
        rec.statements.append(mpb.Statement(speaker_id=c.parties[0].party_id, text=values["statement"]))
    if started:
        rec.started_at.CopyFrom(timestamp(started))
    if ended:
        rec.ended_at.CopyFrom(timestamp(ended))
    return await _act(case_id, lambda: caller.mediation.RecordSession(mpb.RecordSessionRequest(
        session_id=session_id, record=rec)), "sessions")


def agreement_content(c: mpb.Case, values: dict[str, str]) -> mpb.AgreementContent:
    """The written agreement from the template (PML Art.29): each party's particulars, the
    facts, the matters in dispute, responsibilities, one money term."""
    parties = []
    for n, p in enumerate(c.parties):
        f = f"content.parties[{n}]."
        parties.append(mpb.AgreementParty(party_id=p.party_id, name=p.display_name, side=p.side,
                                          kind=common_pb2.PARTY_KIND_NATURAL_PERSON,
                                          id_number=values.get(f + "id_number", ""),
                                          address=values.get(f + "address", ""), phone=values.get(f + "phone", "")))
    applicant = next((p.party_id for p in c.parties if p.side == common_pb2.PARTY_SIDE_APPLICANT), "")
    respondent = next((p.party_id for p in c.parties if p.side == common_pb2.PARTY_SIDE_RESPONDENT), "")
    try:
        fen = round(float(values.get("amount_yuan") or 0) * 100)
    except ValueError:
        fen = -1
    return mpb.AgreementContent(
        parties=parties, facts=values.get("content.facts", ""),
        issues=[x for x in values.get("content.issues", "").splitlines() if x.strip()],
        responsibilities=[mpb.Responsibility(party_id=applicant, text=values.get("responsibility_applicant", "")),
                          mpb.Responsibility(party_id=respondent, text=values.get("responsibility_respondent", ""))],
        terms=[mpb.Term(obligor_id=respondent, obligee_id=applicant, money=mpb.Money(amount_fen=fen, currency="CNY"),
                        manner=values.get("content.terms[0].manner", ""),
                        deadline=values.get("content.terms[0].deadline", ""))],
        other_terms=values.get("content.other_terms", ""))


@page(*MEDIATORS)
async def draft(request: Request, user: User, caller: Caller) -> Response:
    """The agreement from the template: written (PML Art.29, signed and sealed) or oral
    (PML Art.28, 30: recorded by the mediator, effective on the date the parties state)."""
    case_id = request.path_params["case_id"]
    values = await form(request)
    c = await caller.mediation.GetCase(mpb.GetCaseRequest(case_id=case_id))
    content = agreement_content(c, values)
    if values.get("mode") == "oral":
        oral = mpb.RecordOralAgreementRequest(case_id=case_id, content=content, agreed_on=values.get("agreed_on", ""))
        return await _act(case_id, lambda: caller.mediation.RecordOralAgreement(oral), "agreement")
    req = mpb.DraftAgreementRequest(case_id=case_id, mode=mpb.AGREEMENT_MODE_WRITTEN, content=content)
    return await _act(case_id, lambda: caller.mediation.DraftAgreement(req), "agreement")


@page(*MEDIATORS)
async def sign(request: Request, user: User, caller: Caller) -> Response:
    case_id, agreement_id = request.path_params["case_id"], request.path_params["agreement_id"]
    values = await form(request)
    signer = values.get("signer_id", "")
    if signer == "seal":
        return await _act(case_id, lambda: caller.mediation.ApplySeal(mpb.ApplySealRequest(agreement_id=agreement_id)),
                          "agreement")
    c = await caller.mediation.GetCase(mpb.GetCaseRequest(case_id=case_id))
    role = mpb.SIGNER_ROLE_MEDIATOR if signer in _mediator_ids(c) else mpb.SIGNER_ROLE_PARTY
    method = {"fingerprint": mpb.SIGNATURE_METHOD_FINGERPRINT}.get(values.get("method", ""),
                                                                   mpb.SIGNATURE_METHOD_PAPER_IN_PERSON)
    return await _act(case_id, lambda: caller.mediation.SignAgreement(mpb.SignAgreementRequest(
        agreement_id=agreement_id, signer_id=signer, role=role, method=method, digest=values.get("digest", ""))),
        "agreement")


@page(*MEDIATORS)
async def terminate(request: Request, user: User, caller: Caller) -> Response:
    case_id = request.path_params["case_id"]
    values = await form(request)
    told = [r for r in ("向人民法院起诉", "申请仲裁", "行政调解") if values.get(f"routes_told.{r}")]
    return await _act(case_id, lambda: caller.mediation.Terminate(mpb.TerminateRequest(
        case_id=case_id, ground=int(values.get("ground") or 0), details=values.get("details", ""),
        routes_told=told)), "terminate")


@page("mediator", "clerk", "lawyer")
async def apply(request: Request, user: User, caller: Caller) -> Response:
    """The parties' joint application for judicial confirmation (CPL 2023 Art.205), filed by
    the committee (the case's mediator or clerk) with the materials brought."""
    case_id = request.path_params["case_id"]
    values = await form(request)
    c = await caller.mediation.GetCase(mpb.GetCaseRequest(case_id=case_id))
    items = [cpb.MaterialItem(material=m) for m in ("agreement", "presiding_proof") if values.get(f"material.{m}")]
    for p in c.parties:
        items += [cpb.MaterialItem(material=m, party_id=p.party_id) for m in ("identity", "domicile", "contact")
                  if values.get(f"material.{m}.{p.party_id}")]
    applicants = [cpb.Applicant(party_id=p.party_id) for p in c.parties if values.get(f"applicant.{p.party_id}")]
    return await _act(case_id, lambda: caller.confirmation.Apply(cpb.ApplyRequest(
        agreement_id=c.agreement.agreement_id, court_org_id=values.get("court_org_id", ""), submitted=items,
        applicants=applicants)), "confirmation")


def _days(text: str) -> int:
    """A whole number of days as typed; anything else is 0, which the service refuses on the field."""
    try:
        return int(text.strip())
    except ValueError:
        return 0


@page(*MEDIATORS)
async def extend(request: Request, user: User, caller: Caller) -> Response:
    """Asks the parties to agree to more time (SPC-Invited Art.27): the clock moves only when
    every party consents."""
    case_id = request.path_params["case_id"]
    values = await form(request)
    return await _act(case_id, lambda: caller.mediation.RequestExtension(mpb.RequestExtensionRequest(
        case_id=case_id, days=_days(values.get("extension.days", "")), reason=values.get("extension.reason", ""))),
        "extension", prefix="extension.")


CHOOSE_AN_ANSWER = N_("请选择同意或不同意")


def _said(request: Request, msgid: str) -> str:
    """The console's own message in the reader's language (a service's reason stays as it came)."""
    return i18n.translations(locale_of(request)).gettext(msgid)


@page(*MEDIATORS)
async def consent(request: Request, user: User, caller: Caller) -> Response:
    """A party's answer to the pending extension, as the mediator heard it."""
    case_id = request.path_params["case_id"]
    values = await form(request)
    party = values.get("party_id", "")
    answer = values.get("agreed", "")
    if answer not in ("yes", "no"):     # neither radio chosen: say so next to the choice
        return back(f"/cases/{case_id}?" + urlencode({f"error.consent.{party}.agreed": _said(request, CHOOSE_AN_ANSWER)})
                    + "#extension")
    return await _act(case_id, lambda: caller.mediation.RecordExtensionConsent(mpb.RecordExtensionConsentRequest(
        case_id=case_id, party_id=party, agreed=answer == "yes", reason=values.get(f"consent.{party}.reason", ""))),
        "extension", prefix=f"consent.{party}.")


@page(*MEDIATORS)
async def follow_up(request: Request, user: User, caller: Caller) -> Response:
    """A follow-up visit (回访, PML Art.31): performed closes the case; partly or not performed
    sets the next visit."""
    case_id = request.path_params["case_id"]
    values = await form(request)
    result = FOLLOW_UP_RESULTS.get(values.get("follow_up.result", ""), mpb.FOLLOW_UP_RESULT_UNSPECIFIED)
    return await _act(case_id, lambda: caller.mediation.RecordFollowUp(mpb.RecordFollowUpRequest(
        case_id=case_id, visited_on=values.get("follow_up.visited_on", ""), result=result,
        notes=values.get("follow_up.notes", ""), next_visit_on=values.get("follow_up.next_visit_on", ""))),
        "follow-ups", prefix="follow_up.")


FOLLOW_UP_RESULTS = {"performed": mpb.FOLLOW_UP_RESULT_PERFORMED, "partly": mpb.FOLLOW_UP_RESULT_PARTLY_PERFORMED,
                     "not": mpb.FOLLOW_UP_RESULT_NOT_PERFORMED}
