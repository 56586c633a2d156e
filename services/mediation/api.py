"""MediationService over gRPC: protobuf <-> domain, nothing else."""

from __future__ import annotations

from datetime import datetime

from liandiao.auth import PEOPLE, Role
from liandiao.errors import FieldViolation, InvalidInput
from liandiao.ids import lookup
from liandiao.mediation.v1 import mediation_pb2 as pb
from liandiao.mediation.v1 import mediation_pb2_grpc
from liandiao.rpc import paging
from liandiao.rpc.convert import aware, timestamp
from liandiao.rpc.server import caller
from liandiao.uuid7 import uuid7
from services.mediation import access as case_access
from services.mediation import casefile, convert
from services.mediation.app import Mediation, facts
from services.mediation.domain import agreement as ag
from services.mediation.domain import clock as ck
from services.mediation.domain import content as c
from services.mediation.domain import ending as en
from services.mediation.domain import model as m
from services.mediation.domain import sessions as se
from services.mediation.domain.signing_code import MAX_ATTEMPTS
from services.mediation.store import DocumentRow, MessageRow

_MEDIATOR = frozenset({Role.MEDIATOR, Role.LAWYER})
# Roles per method, checked before the handler; the case-level rule (services/mediation/access.py)
# then asks whether this caller is one of the case's mediators, its committee's clerk, its court.
POLICY = {
    **{name: PEOPLE for name in ("GetCase", "ListCases", "GetTimeline", "GetAgreement", "ListDocuments",
                                 "ListMessages", "ExportCaseFile")},
    **{name: _MEDIATOR for name in (
        "ScheduleSession", "RescheduleSession", "CancelSession", "RecordSession", "RecordNoShow",
        "RecordPublicityChoice", "AddMediator", "RemoveMediator", "SetPresiding", "RequestExtension",
        "RecordExtensionConsent", "SuspendForAppraisal", "ResumeFromAppraisal", "DraftAgreement", "EditAgreement",
        "DiscardDraft", "SignAgreement", "RequestSigningCode", "ApplySeal", "RecordOralAgreement", "Terminate", "RecordFollowUp",
        "RecordPerformance", "FlagFalseMediation", "UploadDocument", "PostMessage")},
    "ClearFalseMediation": frozenset({Role.CLERK}),
}


def _enum(table, number: int, field: str, cls):
    value = table.to_domain(number)
    if value is None:
        raise InvalidInput(FieldViolation(field, "required"))
    return cls(value)


def _when(ts, field: str) -> datetime:
    if not ts.seconds and not ts.nanos:
        raise InvalidInput(FieldViolation(field, "required"))
    return aware(ts, field)


def _day(value: str, field: str):
    from datetime import date
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(FieldViolation(field, "an ISO date, e.g. 2026-03-31")) from None


def _venue(place: str, link: str, field: str = "place") -> m.Venue | None:
    if place and link:
        raise InvalidInput(FieldViolation(field, "a place or a video link, not both"))
    return m.InPerson(place) if place else m.Video(link) if link else None


def _participants(items, field: str) -> tuple[m.Participant, ...]:
    return tuple(m.Participant(p.person_id, _enum(convert.PARTICIPANT, p.role, f"{field}[{i}].role",
                                                  m.ParticipantRole), p.name) for i, p in enumerate(items))


def _party(p: pb.AgreementParty, i: int) -> c.PartyDetails:
    f = f"content.parties[{i}]"
    return c.PartyDetails(
        party_id=p.party_id, name=p.name, side=_enum(convert.SIDE, p.side, f"{f}.side", c.PartySide),
        kind=c.PartyKind(convert.KIND.to_domain(p.kind) or c.PartyKind.NATURAL_PERSON.value), gender=p.gender,
        ethnicity=p.ethnicity, birth_date=_day(p.birth_date, f"{f}.birth_date"), id_number=p.id_number,
        address=p.address, phone=p.phone, legal_representative=p.legal_representative, credit_code=p.credit_code,
        domicile_region=_region(p.domicile_region, f"{f}.domicile_region"))


def _region(code: str, field: str) -> str:
    """A place that may found a court's competence (CPL 2023 Art.205): a county or finer code of
    the shipped GB/T 2260 list, or empty."""
    code = code.strip()
    if code and (len(code) < 6 or lookup(code) is None):
        raise InvalidInput(FieldViolation(field, "a county (6 digits) or finer GB/T 2260 code from the shipped list"))
    return code


def _term(t: pb.Term, i: int) -> c.Term:
    f = f"content.terms[{i}]"
    which = t.WhichOneof("obligation")
    o: c.Obligation
    if which == "money":
        o = c.Money(t.money.amount_fen, t.money.currency or "CNY")
    elif which == "act":
        o = c.Act(t.act.description)
    elif which == "thing":
        o = c.Thing(t.thing.description, t.thing.quantity)
    else:
        raise InvalidInput(FieldViolation(f"{f}.money", "what is owed: money, an act or a thing"))
    return c.Term(obligor_id=t.obligor_id, obligee_id=t.obligee_id, obligation=o, manner=t.manner,
                  deadline=_day(t.deadline, f"{f}.deadline"))


def content(x: pb.AgreementContent) -> c.AgreementContent:
    return c.AgreementContent(
        parties=tuple(_party(p, i) for i, p in enumerate(x.parties)), facts=x.facts, issues=tuple(x.issues),
        responsibilities=tuple(c.Responsibility(r.party_id, r.text) for r in x.responsibilities),
        terms=tuple(_term(t, i) for i, t in enumerate(x.terms)), other_terms=x.other_terms,
        subject_matter_region=_region(x.subject_matter_region, "content.subject_matter_region"))


def _document(d: DocumentRow) -> pb.Document:
    return pb.Document(document_id=str(d.document_id), case_id=str(d.case_id),
                       kind=convert.DOCUMENT_KIND.to_proto(d.kind), file_name=d.file_name, media_type=d.media_type,
                       size_bytes=d.size_bytes, sha256=d.sha256, sm3=d.sm3, uploaded_by=d.uploaded_by,
                       uploaded_at=timestamp(d.uploaded_at), description=d.description,
                       replaces_document_id=str(d.replaces_document_id or ""))


def _message(x: MessageRow) -> pb.CaseMessage:
    return pb.CaseMessage(message_id=str(x.message_id), case_id=str(x.case_id), author_id=x.author_id,
                          author_role=x.author_role, party_id=x.party_id, text=x.body,
                          posted_at=timestamp(x.posted_at))


def _agreement(case: m.Case, agreement_id: str = "", full: bool = True) -> pb.Agreement:
    a = next((x for x in case.agreements if x.agreement_id == agreement_id), None) if agreement_id else case.agreement
    assert a is not None
    return convert.agreement(a, case, ag.missing_signers(a, case) if a.mode is not c.AgreementMode.ORAL else (),
                             full=full)


def _full(case: m.Case) -> bool:
    """Whether the caller reads the agreement's personal data unmasked (access.PERSONAL_DATA)."""
    return case_access.PERSONAL_DATA.may_see(caller(), facts(case))


class MediationApi(mediation_pb2_grpc.MediationServiceServicer):
    def __init__(self, mediation: Mediation):
        self.mediation = mediation

    # ---- reading ----------------------------------------------------------------------------

    async def GetCase(self, request, context):
        found = await self.mediation.get(caller(), request.case_id, request.dispute_id)
        return convert.case(found, full=_full(found))

    async def ListCases(self, request, context):
        size, offset = paging.page_size(request.page.page_size), paging.offset(request.page.page_token)
        rows = await self.mediation.list(caller(), request.mediator_id, request.region_prefix,
                                         convert.CASE_STATE.to_domain(request.status) or "", size, offset)
        return pb.ListCasesResponse(cases=[convert.case(x, full=_full(x)) for x in rows],
                                    next_page_token=paging.next_offset(offset, size, len(rows)))

    async def GetTimeline(self, request, context):
        case = await self.mediation.case(caller(), request.case_id)
        return pb.GetTimelineResponse(entries=[convert.timeline_entry(e) for e in case.timeline])

    async def GetAgreement(self, request, context):
        case, document = await self.mediation.agreement(caller(), request.agreement_id)
        full = _full(case)
        out = _agreement(case, request.agreement_id, full)
        out.document = document if full else b""   # the signed text holds the personal data
        return out

    # ---- sessions ---------------------------------------------------------------------------

    async def ScheduleSession(self, request, context):
        venue = _venue(request.place, request.video_link)
        if venue is None:
            raise InvalidInput(FieldViolation("place", "a place, or a video_link"))
        when = _when(request.scheduled_for, "scheduled_for")
        people = _participants(request.participants, "participants")
        sid = request.session_id or str(uuid7())
        case, s = await self.mediation.schedule_session(caller(), request.case_id, lambda a: se.ScheduleSession(
            session_id=sid, scheduled_for=when, venue=venue, participants=people, actor=a))
        return convert.session(s, str(case.case_id))

    async def RescheduleSession(self, request, context):
        when = _when(request.scheduled_for, "scheduled_for")
        venue = _venue(request.place, request.video_link)
        case, s = await self.mediation.session_command(caller(), request.session_id, "reschedule", lambda x, a, now:
            se.decide_reschedule_session(x, se.RescheduleSession(session_id=request.session_id, scheduled_for=when,
                                                                reason=request.reason, actor=a, venue=venue), now))
        return convert.session(s, str(case.case_id))

    async def CancelSession(self, request, context):
        case, s = await self.mediation.session_command(caller(), request.session_id, "cancel", lambda x, a, now:
            se.decide_cancel_session(x, se.CancelSession(session_id=request.session_id, reason=request.reason,
                                                         actor=a), now))
        return convert.session(s, str(case.case_id))

    async def RecordSession(self, request, context):
        r = request.record
        if not request.HasField("record"):
            raise InvalidInput(FieldViolation("record", "the session record (调解记录, PML Art.27)"))
        record = m.SessionRecord(
            started_at=_when(r.started_at, "record.started_at"), ended_at=_when(r.ended_at, "record.ended_at"),
            place=r.place, participants=_participants(r.participants, "record.participants"),
            statements=tuple(m.Statement(s.speaker_id, s.text) for s in r.statements),
            undisputed_facts=tuple(r.undisputed_facts),
            result=_enum(convert.RESULT, r.result, "record.result", m.SessionResult), result_note=r.result_note)
        case, s = await self.mediation.session_command(caller(), request.session_id, "record", lambda x, a, now:
            se.decide_record_session(x, se.RecordSession(session_id=request.session_id, record=record, actor=a), now))
        return convert.session(s, str(case.case_id))

    async def RecordNoShow(self, request, context):
        case, s = await self.mediation.session_command(caller(), request.session_id, "record a no-show at",
            lambda x, a, now: se.decide_record_no_show(x, se.RecordNoShow(
                session_id=request.session_id, absent_party_ids=tuple(request.absent_party_ids), actor=a), now))
        return convert.session(s, str(case.case_id))

    async def RecordPublicityChoice(self, request, context):
        choice = _enum(convert.PUBLICITY, request.choice, "choice", m.Publicity)
        return convert.case(await self.mediation.case_command(caller(), request.case_id, "record a choice on",
            lambda x, a, now: se.decide_publicity_choice(x, se.RecordPublicityChoice(
                party_id=request.party_id, choice=choice, actor=a), now)))

    async def AddMediator(self, request, context):
        return convert.case(await self.mediation.case_command(caller(), request.case_id, "add a mediator to",
            lambda x, a, now: se.decide_add_mediator(x, se.AddMediator(
                person_id=request.person_id, organization_id=request.organization_id or x.organization_id,
                reason=request.reason, actor=a), now)))

    async def RemoveMediator(self, request, context):
        return convert.case(await self.mediation.case_command(caller(), request.case_id, "remove a mediator from",
            lambda x, a, now: se.decide_remove_mediator(x, se.RemoveMediator(
                person_id=request.person_id, reason=request.reason, actor=a), now)))

    async def SetPresiding(self, request, context):
        return convert.case(await self.mediation.case_command(caller(), request.case_id, "set who presides",
            lambda x, a, now: se.decide_set_presiding(x, se.SetPresiding(
                person_id=request.person_id, reason=request.reason, actor=a), now)))

    # ---- the clock --------------------------------------------------------------------------

    async def RequestExtension(self, request, context):
        rid = request.request_id or str(uuid7())
        return convert.case(await self.mediation.case_command(caller(), request.case_id, "extend",
            self.mediation.request_extension(lambda a: ck.RequestExtension(
                request_id=rid, days=request.days, reason=request.reason, actor=a))))

    async def RecordExtensionConsent(self, request, context):
        return convert.case(await self.mediation.case_command(caller(), request.case_id, "record consent on",
            self.mediation.record_consent(lambda a: ck.RecordConsent(
                party_id=request.party_id, agreed=request.agreed, reason=request.reason, actor=a))))

    async def SuspendForAppraisal(self, request, context):
        return convert.case(await self.mediation.case_command(caller(), request.case_id, "suspend",
            lambda x, a, now: ck.decide_suspend_for_appraisal(x, ck.SuspendForAppraisal(
                reason=request.reason, actor=a), now)))

    async def ResumeFromAppraisal(self, request, context):
        return convert.case(await self.mediation.case_command(caller(), request.case_id, "resume",
                                                              self.mediation.end_appraisal(request.reason)))

    # ---- the agreement ----------------------------------------------------------------------

    async def DraftAgreement(self, request, context):
        if request.oral:
            raise InvalidInput(FieldViolation("oral", "an oral agreement is recorded with RecordOralAgreement"))
        mode = c.AgreementMode(convert.MODE.to_domain(request.mode) or c.AgreementMode.WRITTEN.value)
        given = content(request.content) if request.HasField("content") else None
        details = tuple(_party(p, i) for i, p in enumerate(request.party_details))
        aid = request.agreement_id or str(uuid7())
        case = await self.mediation.case_command(caller(), request.case_id, "draft an agreement for",
            lambda x, a, now: ag.decide_draft_agreement(x, ag.DraftAgreement(
                agreement_id=aid, mode=mode, actor=a, template_key=request.template_key or None, content=given,
                details=details), now))
        return _agreement(case, aid)

    async def EditAgreement(self, request, context):
        new = content(request.content)
        case = await self.mediation.agreement_command(caller(), request.agreement_id, "edit", lambda x, a, now:
            ag.decide_edit_agreement(x, ag.EditAgreement(content=new, actor=a), now))
        return _agreement(case, request.agreement_id)

    async def DiscardDraft(self, request, context):
        case = await self.mediation.agreement_command(caller(), request.agreement_id, "discard", lambda x, a, now:
            ag.decide_discard_draft(x, ag.DiscardDraft(reason=request.reason, actor=a), now))
        return _agreement(case, request.agreement_id)

    async def SignAgreement(self, request, context):
        role = _enum(convert.SIGNER_ROLE, request.role, "role", c.SignerRole)
        method = _enum(convert.METHOD, request.method, "method", c.SignatureMethod)
        if not request.digest:
            raise InvalidInput(FieldViolation("digest", "the digest of the text the signer was shown"))
        case = await self.mediation.sign_agreement(caller(), request.agreement_id, request.signer_id, role, method,
                                                   request.digest, request.one_time_code)
        return _agreement(case, request.agreement_id)

    async def RequestSigningCode(self, request, context):
        challenge = await self.mediation.request_signing_code(caller(), request.agreement_id, request.party_id)
        return pb.SigningChallenge(challenge_id=challenge.challenge_id, agreement_id=challenge.agreement_id,
                                   party_id=challenge.party_id, expires_at=timestamp(challenge.expires_at),
                                   attempts_allowed=MAX_ATTEMPTS)

    async def ApplySeal(self, request, context):
        case = await self.mediation.agreement_command(caller(), request.agreement_id, "seal",
                                                      self.mediation.apply_seal())
        return _agreement(case, request.agreement_id)

    async def RecordOralAgreement(self, request, context):
        agreed_on = _day(request.agreed_on, "agreed_on")
        if agreed_on is None:
            raise InvalidInput(FieldViolation("agreed_on", "the date the parties state it takes effect"))
        given = content(request.content)
        aid = request.agreement_id or str(uuid7())
        case = await self.mediation.case_command(caller(), request.case_id, "record an oral agreement for",
            lambda x, a, now: ag.decide_record_oral_agreement(x, ag.RecordOralAgreement(
                agreement_id=aid, content=given, agreed_on=agreed_on, actor=a), now))
        return _agreement(case, aid)

    # ---- ending and after -------------------------------------------------------------------

    async def Terminate(self, request, context):
        ground = _enum(convert.GROUND, request.ground, "ground", m.TerminationGround)
        return convert.case(await self.mediation.case_command(caller(), request.case_id, "terminate",
            lambda x, a, now: en.decide_terminate(x, en.Terminate(
                ground=ground, reason=request.details, routes_told=tuple(request.routes_told), actor=a), now)))

    async def RecordFollowUp(self, request, context):
        visited = _day(request.visited_on, "visited_on")
        if visited is None:
            raise InvalidInput(FieldViolation("visited_on", "required"))
        result = _enum(convert.FOLLOW_UP, request.result, "result", m.FollowUpResult)
        nxt = _day(request.next_visit_on, "next_visit_on")
        vid = request.visit_id or str(uuid7())
        return convert.case(await self.mediation.case_command(caller(), request.case_id, "record a follow-up on",
            lambda x, a, now: en.decide_follow_up(x, en.RecordFollowUp(
                visit_id=vid, visited_on=visited, result=result, notes=request.notes, next_visit_on=nxt, actor=a),
                now)))

    async def RecordPerformance(self, request, context):
        return convert.case(await self.mediation.case_command(caller(), request.case_id, "record performance on",
            lambda x, a, now: en.decide_record_performance(x, en.RecordPerformance(note=request.note, actor=a), now)))

    async def FlagFalseMediation(self, request, context):
        return convert.case(await self.mediation.case_command(caller(), request.case_id, "flag",
            lambda x, a, now: en.decide_flag_false_mediation(x, en.FlagFalseMediation(
                reason=request.reason, actor=a), now)))

    async def ClearFalseMediation(self, request, context):
        return convert.case(await self.mediation.case_command(caller(), request.case_id, "clear",
            lambda x, a, now: en.decide_clear_false_mediation(x, en.ClearFalseMediation(
                reason=request.reason, actor=a), now), rule=case_access.CLEAR))

    # ---- documents, messages, the case file -----------------------------------------------------

    async def UploadDocument(self, request, context):
        return _document(await self.mediation.upload(
            caller(), request.case_id, convert.DOCUMENT_KIND.to_domain(request.kind) or "other", request.file_name,
            request.media_type, request.content, request.description, request.replaces_document_id))

    async def ListDocuments(self, request, context):
        size, offset = paging.page_size(request.page.page_size), paging.offset(request.page.page_token)
        rows = await self.mediation.documents(caller(), request.case_id, size, offset)
        return pb.ListDocumentsResponse(documents=[_document(d) for d in rows],
                                        next_page_token=paging.next_offset(offset, size, len(rows)))

    async def PostMessage(self, request, context):
        return _message(await self.mediation.post_message(caller(), request.case_id, request.party_id, request.text))

    async def ListMessages(self, request, context):
        size, offset = paging.page_size(request.page.page_size), paging.offset(request.page.page_token)
        rows = await self.mediation.messages(caller(), request.case_id, size, offset)
        return pb.ListMessagesResponse(messages=[_message(x) for x in rows],
                                       next_page_token=paging.next_offset(offset, size, len(rows)))

    async def ExportCaseFile(self, request, context):
        case, docs, retain = await self.mediation.case_file(caller(), request.case_id)
        pdf = casefile.render(case, docs, retain)
        import hashlib
        return pb.ExportCaseFileResponse(pdf=pdf, file_name=f"case-{case.case_id}.pdf",
                                         sha256=hashlib.sha256(pdf).hexdigest(), retain_until=retain.isoformat())
