"""Domain <-> protobuf for mediation: what the API answers and what the outbox publishes.
One table per enum; events carry parties masked (docs/decisions.md "No raw personal data in
events"), replies to a caller allowed to read the case carry the agreement's full details."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from liandiao.common.v1 import common_pb2
from liandiao.events import catalog
from liandiao.events.catalog import EventType
from liandiao.ids.masking import mask_id, mask_phone
from liandiao.legaltime import Deadline
from liandiao.mediation.v1 import mediation_pb2 as pb
from liandiao.rpc.convert import timestamp
from liandiao.rpc.enums import CASE_SOURCE, COURT_PROCEDURE, EnumMap
from liandiao.signing import ALGORITHM, sm3_hex
from services.mediation.domain import content as c
from services.mediation.domain import events as ev
from services.mediation.domain import model as m
from services.mediation.domain.document import terms_document
from services.mediation.domain.states import AgreementState, CaseState, SessionState

CASE_STATE = EnumMap({
    pb.CASE_STATUS_OPEN: CaseState.OPENED.value, pb.CASE_STATUS_IN_SESSION: CaseState.IN_SESSION.value,
    pb.CASE_STATUS_SUSPENDED: CaseState.SUSPENDED.value,
    pb.CASE_STATUS_AGREEMENT_DRAFTED: CaseState.AGREEMENT_DRAFTED.value,
    pb.CASE_STATUS_AGREEMENT_EFFECTIVE: CaseState.AGREEMENT_EFFECTIVE.value,
    pb.CASE_STATUS_TERMINATED: CaseState.TERMINATED.value,
    pb.CASE_STATUS_RETURNED_TO_COURT: CaseState.RETURNED_TO_COURT.value, pb.CASE_STATUS_CLOSED: CaseState.CLOSED.value})
GROUND = EnumMap({getattr(pb, f"TERMINATION_GROUND_{g.name}"): g.value for g in m.TerminationGround})
NEXT_STEP = EnumMap({getattr(pb, f"COURT_NEXT_STEP_{s.name}"): s.value for s in m.CourtNextStep})
MODE = EnumMap({getattr(pb, f"AGREEMENT_MODE_{x.name}"): x.value for x in c.AgreementMode})
AGREEMENT_STATE = EnumMap({getattr(pb, f"AGREEMENT_STATE_{x.name}"): x.value for x in AgreementState})
METHOD = EnumMap({getattr(pb, f"SIGNATURE_METHOD_{x.name}"): x.value for x in c.SignatureMethod})
SIGNER_ROLE = EnumMap({getattr(pb, f"SIGNER_ROLE_{x.name}"): x.value for x in c.SignerRole})
PUBLICITY = EnumMap({getattr(pb, f"PUBLICITY_{x.name}"): x.value for x in m.Publicity})
SESSION_STATE = EnumMap({getattr(pb, f"SESSION_STATE_{x.name}"): x.value for x in SessionState})
RESULT = EnumMap({getattr(pb, f"SESSION_RESULT_{x.name}"): x.value for x in m.SessionResult})
PARTICIPANT = EnumMap({getattr(pb, f"PARTICIPANT_ROLE_{x.name}"): x.value for x in m.ParticipantRole})
FOLLOW_UP = EnumMap({getattr(pb, f"FOLLOW_UP_RESULT_{x.name}"): x.value for x in m.FollowUpResult})
HOLD = EnumMap({getattr(pb, f"HOLD_KIND_{x.name}"): x.value for x in m.HoldKind})
EXTENSION = EnumMap({getattr(pb, f"EXTENSION_STATUS_{x.name}"): x.value for x in m.ExtensionStatus})
SIDE = EnumMap({common_pb2.PARTY_SIDE_APPLICANT: c.PartySide.APPLICANT.value,
                common_pb2.PARTY_SIDE_RESPONDENT: c.PartySide.RESPONDENT.value})
KIND = EnumMap({common_pb2.PARTY_KIND_NATURAL_PERSON: c.PartyKind.NATURAL_PERSON.value,
                common_pb2.PARTY_KIND_ORGANIZATION: c.PartyKind.ORGANIZATION.value})
DOCUMENT_KIND = EnumMap({pb.DOCUMENT_KIND_EVIDENCE: "evidence", pb.DOCUMENT_KIND_IDENTITY_PROOF: "identity_proof",
                         pb.DOCUMENT_KIND_RIGHTS_NOTICE: "rights_notice",
                         pb.DOCUMENT_KIND_PERFORMANCE_PROOF: "performance_proof", pb.DOCUMENT_KIND_OTHER: "other"})


def iso(d: date | None) -> str:
    return d.isoformat() if d else ""


def deadline(d: Deadline) -> common_pb2.Deadline:
    return common_pb2.Deadline(period_name=d.period.name, source=d.period.source, last_day=d.last_day.isoformat(),
                               expires_at=timestamp(d.expires_at), provisional=d.provisional)


def party_ref(p: m.Party) -> common_pb2.PartyRef:
    return common_pb2.PartyRef(party_id=p.party_id, display_name=p.name, kind=KIND.to_proto(p.kind.value),
                               side=SIDE.to_proto(p.side.value), id_fingerprint=p.id_fingerprint,
                               masked_id_number=p.masked_id_number, language=p.language)


# ---- the agreement --------------------------------------------------------------------------

def agreement_party(p: c.PartyDetails, case: m.Case | None, full: bool) -> pb.AgreementParty:
    own = case.party(p.party_id) if case is not None else None
    out = pb.AgreementParty(
        party_id=p.party_id, name=p.name, side=SIDE.to_proto(p.side.value), kind=KIND.to_proto(p.kind.value),
        gender=p.gender, ethnicity=p.ethnicity, birth_date=iso(p.birth_date),
        masked_id_number=mask_id(p.id_number) if p.id_number else (own.masked_id_number if own else ""),
        id_fingerprint=own.id_fingerprint if own else "", legal_representative=p.legal_representative,
        credit_code=p.credit_code, domicile_region=p.domicile_region)
    if full:
        out.id_number, out.address, out.phone = p.id_number, p.address, p.phone
    return out


def term(t: c.Term) -> pb.Term:
    out = pb.Term(obligor_id=t.obligor_id, obligee_id=t.obligee_id, manner=t.manner, deadline=iso(t.deadline))
    o = t.obligation
    if isinstance(o, c.Money):
        out.money.CopyFrom(pb.Money(amount_fen=o.amount_fen, currency=o.currency))
    elif isinstance(o, c.Act):
        out.act.CopyFrom(pb.Act(description=o.description))
    else:
        out.thing.CopyFrom(pb.Thing(description=o.description, quantity=o.quantity))
    return out


def agreement_content(x: c.AgreementContent, case: m.Case | None, full: bool) -> pb.AgreementContent:
    return pb.AgreementContent(
        parties=[agreement_party(p, case, full) for p in x.parties], facts=x.facts, issues=list(x.issues),
        responsibilities=[pb.Responsibility(party_id=r.party_id, text=r.text) for r in x.responsibilities],
        terms=[term(t) for t in x.terms], other_terms=x.other_terms, subject_matter_region=x.subject_matter_region)


def signature(s: c.PartySignature) -> pb.AgreementSignature:
    return pb.AgreementSignature(signer_id=s.signer_id, role=SIGNER_ROLE.to_proto(s.role.value),
                                 method=METHOD.to_proto(s.method.value), signed_at=timestamp(s.signed_at),
                                 digest=s.digest, recorded_by=s.recorded_by, one_time_code_ref=s.one_time_code_ref)


def seal(s: c.Seal | None) -> pb.Seal | None:
    if s is None:
        return None
    return pb.Seal(organization_id=s.organization_id, key_id=s.signature.key_id, signature=s.signature.value,
                   digest=s.digest, applied_at=timestamp(s.applied_at), applied_by=s.applied_by,
                   algorithm=s.signature.algorithm or ALGORITHM)


def _term_line(t: c.Term) -> str:
    o = t.obligation
    what = (f"{o.amount_fen / 100:.2f} {o.currency}" if isinstance(o, c.Money)
            else f"{o.description} {getattr(o, 'quantity', '')}".strip())
    return f"{t.obligor_id} -> {t.obligee_id}: {what}; {t.manner}; by {iso(t.deadline)}"


def agreement(a: c.Agreement, case: m.Case, waiting_for: tuple[str, ...] = (), document: bytes = b"",
              full: bool = True) -> pb.Agreement:
    """``full``: with the parties' ID numbers, addresses and phones (access.PERSONAL_DATA)."""
    return pb.Agreement(
        agreement_id=a.agreement_id, case_id=a.case_id, facts_and_responsibility=a.content.facts,
        terms=[_term_line(t) for t in a.content.terms], oral=a.mode is c.AgreementMode.ORAL,
        effective_at=timestamp(a.effective_at), signed_by=[s.signer_id for s in a.signatures if s.digest == a.digest],
        version=a.version, mode=MODE.to_proto(a.mode.value), state=AGREEMENT_STATE.to_proto(a.state.value),
        content=agreement_content(a.content, case, full=full), template_key=a.template_key, digest=a.digest,
        signatures=[signature(s) for s in a.signatures], seal=seal(a.seal), agreed_on=iso(a.agreed_on),
        effective_on=iso(a.effective_on), waiting_for=list(waiting_for), copies=a.copies, document=document,
        organization_id=a.organization_id)


# ---- sessions and the case ------------------------------------------------------------------

def participant(p: m.Participant) -> pb.Participant:
    return pb.Participant(person_id=p.person_id, role=PARTICIPANT.to_proto(p.role.value), name=p.name)


def session(s: m.Session, case_id: str) -> pb.Session:
    place = s.venue.place if isinstance(s.venue, m.InPerson) else ""
    link = s.venue.link if isinstance(s.venue, m.Video) else ""
    out = pb.Session(session_id=s.session_id, case_id=case_id, scheduled_for=timestamp(s.scheduled_for), place=place,
                     participants=[p.person_id or p.name for p in s.participants], number=s.number,
                     state=SESSION_STATE.to_proto(s.state.value), video_link=link,
                     participant_list=[participant(p) for p in s.participants],
                     publicity=PUBLICITY.to_proto(s.publicity.value), absent_party_ids=list(s.absent_party_ids),
                     cancel_reason=s.cancel_reason, times_rescheduled=len(s.reschedules))
    r = s.record
    if r is not None:
        out.statements = "\n".join(f"{st.speaker_id}: {st.text}" for st in r.statements)
        out.result = r.result.value
        out.record.CopyFrom(pb.SessionRecord(
            started_at=timestamp(r.started_at), ended_at=timestamp(r.ended_at), place=r.place,
            participants=[participant(p) for p in r.participants],
            statements=[pb.Statement(speaker_id=st.speaker_id, text=st.text) for st in r.statements],
            undisputed_facts=list(r.undisputed_facts), result=RESULT.to_proto(r.result.value),
            result_note=r.result_note))
    return out


def case(x: m.Case, waiting_for: tuple[str, ...] = (), full: bool = True) -> pb.Case:
    out = pb.Case(
        case_id=str(x.case_id), dispute_id=str(x.dispute_id), region_code=x.region_code, dispute_type=x.dispute_type,
        source=CASE_SOURCE.to_proto(x.source.value), mediator_id=x.presiding.person_id,
        organization_id=x.organization_id, status=CASE_STATE.to_proto(x.state.value),
        opened_at=timestamp(x.clock.accepted_at), deadline=deadline(x.clock.current),
        parties=[party_ref(p) for p in x.parties], referring_org_id=x.referring_org_id,
        court_procedure=COURT_PROCEDURE.to_proto(x.court_procedure.value),
        mediators=[pb.CaseMediator(person_id=md.person_id, organization_id=md.organization_id,
                                   presiding=md.presiding) for md in x.mediators],
        base_deadline=deadline(x.clock.base),
        holds=[pb.Hold(kind=HOLD.to_proto(h.kind.value), since=timestamp(h.since), reason=h.reason) for h in x.holds],
        extension_requests=[pb.ExtensionRequest(
            request_id=r.request_id, days=r.days, reason=r.reason, status=EXTENSION.to_proto(r.status.value),
            requested_at=timestamp(r.requested_at),
            consents=[pb.Consent(party_id=k.party_id, agreed=k.agreed, reason=k.reason,
                                 recorded_at=timestamp(k.recorded_at)) for k in r.consents])
            for r in x.extension_requests],
        sessions=[session(s, str(x.case_id)) for s in x.sessions],
        follow_ups=[pb.FollowUp(visit_id=f.visit_id, visited_on=iso(f.visited_on),
                                result=FOLLOW_UP.to_proto(f.result.value), notes=f.notes,
                                next_visit_on=iso(f.next_visit_on), recorded_at=timestamp(f.recorded_at))
                    for f in x.follow_ups],
        summary=x.summary, closing_reason=x.closure.reason.value if x.closure else "")
    if x.agreements:
        out.agreement.CopyFrom(agreement(x.agreements[-1], x, waiting_for, full=full))
    t = x.termination
    if t is not None:
        out.termination.CopyFrom(pb.Termination(
            ground=GROUND.to_proto(t.ground.value), reason=t.reason, routes_told=list(t.routes_told),
            terminated_at=timestamp(t.at), returned_to_court_id=t.returned_to_court,
            court_next_step=NEXT_STEP.to_proto(t.court_next_step.value) if t.court_next_step else 0))
    return out


def timeline_entry(e: m.TimelineEntry) -> pb.TimelineEntry:
    return pb.TimelineEntry(at=timestamp(e.at), action=e.action,
                            from_status=CASE_STATE.to_proto(e.from_state.value) if e.from_state else 0,
                            to_status=CASE_STATE.to_proto(e.to_state.value), person_id=e.actor.person_id,
                            organization_id=e.actor.organization_id, actor_role=e.actor.role.value, reason=e.reason)


# ---- events out ---------------------------------------------------------------------------

def contact_fingerprints(content: pb.AgreementContent, details: c.AgreementContent,
                         fingerprint: Callable[[str], str]) -> None:
    """Each party's phone and address as keyed fingerprints, for confirmation's false-mediation
    signals (parties sharing contact details, issue 9); the text itself never leaves (the "no
    raw personal data in events" decision). Whitespace does not make two addresses differ."""
    by_id = {p.party_id: p for p in details.parties}
    for out in content.parties:
        p = by_id.get(out.party_id)
        if p is None:
            continue
        if p.phone:
            out.phone_fingerprint = fingerprint(p.phone.strip().removeprefix("+86"))
        if p.address:
            out.address_fingerprint = fingerprint("".join(p.address.split()))


def published(x: m.Case, e: ev.MediationEvent,
              fingerprint: Callable[[str], str] | None = None) -> tuple[EventType, object] | None:
    """The contract message for a domain event that leaves the service; None for those kept
    on the case's timeline only. `fingerprint`: the platform's keyed hash, for the contact
    fingerprints agreement-effective carries."""
    ids = {"case_id": str(e.case_id), "dispute_id": str(e.dispute_id)}
    parties = [party_ref(p) for p in x.parties]
    if isinstance(e, ev.SessionScheduled | ev.SessionRescheduled):
        s = next(s for s in x.sessions if s.session_id == e.session_id)
        v = s.venue
        return catalog.SESSION_SCHEDULED, pb.SessionScheduled(
            **ids, session_id=s.session_id, scheduled_for=timestamp(s.scheduled_for),
            place=v.place if isinstance(v, m.InPerson) else "", video_link=v.link if isinstance(v, m.Video) else "",
            participants=[participant(p) for p in s.participants], publicity=PUBLICITY.to_proto(s.publicity.value),
            number=s.number, region_code=x.region_code, organization_id=x.organization_id,
            rescheduled=isinstance(e, ev.SessionRescheduled), reason=getattr(e, "reason", ""))
    if isinstance(e, ev.SessionCancelled):
        s = next(s for s in x.sessions if s.session_id == e.session_id)
        v = s.venue
        return catalog.SESSION_CANCELLED, pb.SessionCancelled(
            **ids, session_id=s.session_id, scheduled_for=timestamp(s.scheduled_for),
            place=v.place if isinstance(v, m.InPerson) else "", video_link=v.link if isinstance(v, m.Video) else "",
            participants=[participant(p) for p in e.participants], number=s.number, region_code=x.region_code,
            organization_id=x.organization_id, reason=e.reason, cancelled_at=timestamp(e.at))
    if isinstance(e, ev.AgreementEffective):
        court = e.referring_org_id if e.source.court_related else ""
        content = agreement_content(e.content, x, full=False)
        if fingerprint is not None:
            contact_fingerprints(content, e.content, fingerprint)
        return catalog.AGREEMENT_EFFECTIVE, pb.AgreementEffective(
            **ids, agreement_id=e.agreement_id, effective_at=timestamp(e.effective_at),
            organization_id=e.organization_id, referring_org_id=e.referring_org_id, parties=parties,
            region_code=e.region_code, referring_court_id=court,
            content=content, digest=e.digest, digest_algorithm="SM3",
            effective_on=iso(e.effective_on), mode=MODE.to_proto(e.mode.value), version=e.version,
            source=CASE_SOURCE.to_proto(e.source.value), dispute_type=e.dispute_type,
            signatures=[signature(s) for s in e.signatures], seal=seal(e.seal), copies=e.copies,
            mediator_ids=list(e.mediator_ids), court_procedure=COURT_PROCEDURE.to_proto(x.court_procedure.value),
            terms_document=(terms := terms_document(e.agreement_id, e.digest, e.content)), terms_digest=sm3_hex(terms))
    if isinstance(e, ev.MediationTerminated):
        return catalog.MEDIATION_FAILED, pb.MediationFailed(
            **ids, ground=GROUND.to_proto(e.ground.value), details=e.reason, source=CASE_SOURCE.to_proto(e.source.value),
            referring_org_id=e.referring_org_id, terminated_at=timestamp(e.at), routes_told=list(e.routes_told),
            organization_id=e.organization_id, region_code=x.region_code, returned_to_court=e.returned_to_court,
            court_id=e.referring_org_id if e.returned_to_court else "", mediator_ids=list(e.mediator_ids),
            failure=e.ground.failure, dispute_type=x.dispute_type, parties=parties)
    if isinstance(e, ev.CaseReturnedToCourt):
        return catalog.CASE_RETURNED_TO_COURT, pb.CaseReturnedToCourt(
            **ids, court_id=e.court_id, next_step=NEXT_STEP.to_proto(e.next_step.value),
            ground=GROUND.to_proto(e.ground.value), reason=e.reason, source=CASE_SOURCE.to_proto(e.source.value),
            court_procedure=COURT_PROCEDURE.to_proto(x.court_procedure.value), region_code=x.region_code,
            organization_id=x.organization_id, returned_at=timestamp(e.at), parties=parties)
    if isinstance(e, ev.ExpiryReminderDue):
        return catalog.EXPIRY_REMINDER_DUE, pb.ExpiryReminderDue(
            **ids, region_code=x.region_code, organization_id=x.organization_id, mediator_ids=list(e.mediator_ids),
            deadline=deadline(e.deadline), working_days_left=e.working_days_left)
    if isinstance(e, ev.FalseMediationReported):
        return catalog.FALSE_MEDIATION_REPORTED, pb.FalseMediationReported(
            **ids, region_code=e.region_code, organization_id=e.organization_id, court_id=e.court_id,
            reason=e.reason, reported_by=e.reported_by, agreement_id=e.agreement_id, reported_at=timestamp(e.at))
    return None


def masked_phone(p: c.PartyDetails) -> str:
    return mask_phone(p.phone) if p.phone else ""
