"""IntakeService over gRPC: protobuf <-> domain, nothing else."""

from __future__ import annotations

from liandiao.auth import PEOPLE, Role
from liandiao.errors import Unavailable
from liandiao.intake.v1 import intake_pb2, intake_pb2_grpc
from liandiao.rpc.convert import aware, timestamp
from liandiao.rpc.server import caller
from services.intake import store
from services.intake.app import DisputeQuery, Intake
from services.intake.codes import (
    AGENT_AUTHORITY,
    CONSENT,
    COURT_PROCEDURE,
    ID_TYPE,
    LIAISON_OFFICE,
    PARTY_KIND,
    SIDE,
    SOURCE,
    STATUS,
)
from services.intake.domain import casecode
from services.intake.domain.model import (
    AgentAuthority,
    AgentIn,
    Consent,
    IdType,
    PartyIn,
    PartyKind,
    Procedure,
    Referral,
    ReferralKind,
    Registration,
    RiskFactors,
    Side,
    Source,
)
from services.intake.domain.status import Stage, View
from services.intake.domain.warnings import REQUIRED_OFFICES

_ALL = PEOPLE
POLICY = {
    "RegisterDispute": frozenset({Role.CLERK, Role.POLICE, Role.COURT, Role.MEDIATOR, Role.LAWYER, Role.OPERATOR}),
    "GetDispute": _ALL,
    "ListDisputes": _ALL,
    "AcknowledgeWarning": frozenset({Role.LIAISON, Role.POLICE, Role.CLERK, Role.COURT}),
    # No person's role: only the notification service's identity (liandiao.auth.SERVICE_METHODS).
    "GetDisputeContacts": frozenset(),
    # The parties' case code (issue 11). The receipt: whoever registers, for a dispute they
    # may see. The status: no person role at all; only the console's service identity
    # (liandiao.auth.SERVICE_METHODS), which asks for an anonymous party.
    "GetReceipt": frozenset({Role.CLERK, Role.POLICE, Role.COURT, Role.MEDIATOR, Role.LAWYER, Role.OPERATOR}),
    "GetCaseStatus": frozenset(),
}



def _id_type(number: int) -> IdType | None:
    value = ID_TYPE.to_domain(number)
    return IdType(value) if value else None


def to_referral(r: intake_pb2.RegisterDisputeRequest) -> Referral:
    which = r.WhichOneof("referral")
    if which == "police":
        return Referral(kind=ReferralKind.POLICE, org_id=r.police.station_org_id,
                        person_id=r.police.officer_person_id, reference=r.police.incident_reference)
    if which == "court":
        proc = COURT_PROCEDURE.to_domain(r.court.procedure)
        return Referral(kind=ReferralKind.COURT, org_id=r.court.court_org_id, reference=r.court.court_case_reference,
                        procedure=Procedure(proc) if proc else None)
    if which == "department":
        return Referral(kind=ReferralKind.DEPARTMENT, department_name=r.department.department_name,
                        reference=r.department.reference)
    return Referral()


def to_registration(r: intake_pb2.RegisterDisputeRequest) -> Registration:
    source = SOURCE.to_domain(r.source)
    return Registration(
        request_id=r.request_id, region_code=r.region_code.strip(), dispute_type=r.dispute_type,
        source=Source(source) if source else None, referral=to_referral(r), facts=r.facts,
        requested_outcome=r.requested_outcome, amount_fen=r.amount_in_dispute_fen,
        parties=tuple(_party(f"parties[{i}]", p) for i, p in enumerate(r.parties)),
        registering_person_id=r.registering_person_id,
        registering_org_id=r.registering_org_id, chosen_mediator_id=r.chosen_mediator_id,
        risk=RiskFactors(
            threats_of_violence=r.risk_factors.threats_of_violence, prior_incidents=r.risk_factors.prior_incidents,
            people_involved=r.risk_factors.people_involved, vulnerable_party=r.risk_factors.vulnerable_party,
            repeat_petitions=r.risk_factors.repeat_petitions,
        ),
        referring_system_id=r.referring_system_id,
    )


def _agent(a: intake_pb2.AgentInput) -> AgentIn:
    authority = AGENT_AUTHORITY.to_domain(a.authority)
    return AgentIn(name=a.name, id_type=_id_type(a.id_document.type), id_number=a.id_document.number,
                   phone=a.phone, authority=AgentAuthority(authority) if authority else None, scope=a.scope)


def _party(path: str, p: intake_pb2.PartyInput) -> PartyIn:
    kind, side = PARTY_KIND.to_domain(p.kind), SIDE.to_domain(p.side)
    consent = CONSENT.to_domain(p.consent.decision)
    return PartyIn(
        kind=PartyKind(kind) if kind else None, side=Side(side) if side else None, name=p.name,
        sex={1: "male", 2: "female"}.get(p.sex, ""), ethnicity=p.ethnicity, age=p.age, occupation=p.occupation,
        phone=p.phone, address=p.address, id_type=_id_type(p.id_document.type),
        id_number=p.id_document.number, no_id_reason=p.no_id_reason, credit_code=p.credit_code,
        language=p.language or "zh", consent=Consent(consent) if consent else None,
        disclosed_at=aware(p.consent.disclosed_at, f"{path}.consent.disclosed_at")
        if p.consent.HasField("disclosed_at") else None,
        routes_told=tuple(p.consent.routes_told), service_address=p.service_address,
        service_address_confirmed=p.service_address_confirmed, agents=tuple(_agent(a) for a in p.agents),
    )


def _referral_fields(source: str, org_id: str, person_id: str, reference: str, procedure: str | None,
                     department: str) -> dict:
    """The referral oneof of a view, from the stored columns of a dispute or registration."""
    if source == Source.POLICE_REFERRAL:
        return {"police": intake_pb2.PoliceReferral(station_org_id=org_id, officer_person_id=person_id,
                                                    incident_reference=reference)}
    if source in (Source.COURT_DELEGATION, Source.COURT_COMMISSION):
        return {"court": intake_pb2.CourtReferral(court_org_id=org_id, court_case_reference=reference,
                                                  procedure=COURT_PROCEDURE.to_proto(procedure or ""))}
    if source == Source.DEPARTMENT_REFERRAL:
        return {"department": intake_pb2.DepartmentReferral(department_name=department, reference=reference)}
    return {}


def warning_view(w: store.WarningRow, acks: list[store.AckRow]) -> intake_pb2.RiskWarning:
    done = {a.office for a in acks}
    missing = [o for o in REQUIRED_OFFICES if o.value not in done]
    return intake_pb2.RiskWarning(
        flagged_at=timestamp(w.flagged_at), risk_score=w.risk_score, reasons=w.reasons,
        acknowledgements=[intake_pb2.WarningAcknowledgement(
            office=LIAISON_OFFICE.to_proto(a.office), liaison_person_id=a.liaison_person_id,
            organization_id=a.organization_id, acknowledged_at=timestamp(a.acknowledged_at)) for a in acks],
        unacknowledged=[LIAISON_OFFICE.to_proto(o) for o in missing],
        escalation_level=w.escalation_level, escalated=w.escalation_level > 0,
        next_escalation_at=timestamp(w.next_escalation_at), acknowledged=not missing,
    )


def _party_view(p: store.PartyRow, agents: list[store.AgentRow]) -> intake_pb2.PartyView:
    return intake_pb2.PartyView(
        party_id=str(p.party_id), kind=PARTY_KIND.to_proto(p.kind), side=SIDE.to_proto(p.side), name=p.name,
        masked_id_number=p.id_masked, masked_phone=p.phone_masked, consent=CONSENT.to_proto(p.consent),
        language=p.language, masked_service_address=p.service_address_masked,
        service_address_confirmed=p.service_address_confirmed, id_type=ID_TYPE.to_proto(p.id_type),
        no_id_reason=p.no_id_reason,
        agents=[intake_pb2.AgentView(name=a.name, masked_id_number=a.id_masked, masked_phone=a.phone_masked,
                                     authority=AGENT_AUTHORITY.to_proto(a.authority), scope=a.scope)
                for a in agents],
    )


def to_proto(r: store.DisputeRecord) -> intake_pb2.Dispute:
    d = r.dispute
    return intake_pb2.Dispute(
        dispute_id=str(d.dispute_id), region_code=d.region_code, prefecture=d.prefecture,
        dispute_type=d.dispute_type, source=SOURCE.to_proto(d.source), status=STATUS.to_proto(d.status),
        parties=[_party_view(p, r.agents.get(p.party_id, [])) for p in r.parties],
        facts=d.facts, amount_in_dispute_fen=d.amount_fen, registered_at=timestamp(d.registered_at),
        registering_org_id=d.registering_org_id, referring_org_id=d.referring_org_id,
        risk_score=d.risk_score, risk_reasons=d.risk_reasons, requested_outcome=d.requested_outcome,
        registrations=[intake_pb2.ChannelRecord(
            request_id=g.request_id, source=SOURCE.to_proto(g.source), registering_org_id=g.registering_org_id,
            registered_at=timestamp(g.registered_at), linked=g.linked,
            **_referral_fields(g.source, g.referring_org_id, g.referring_person_id, g.referral_reference,
                               g.court_procedure, g.referral_department),
        ) for g in r.registrations],
        warning=warning_view(r.warning, r.acknowledgements) if r.warning else None,
        closed_at=timestamp(d.closed_at), referring_system_id=d.referring_system_id,
        **_referral_fields(d.source, d.referring_org_id, d.referring_person_id, d.referral_reference,
                           d.court_procedure, d.referral_department),
    )


def to_query(r: intake_pb2.ListDisputesRequest) -> DisputeQuery:
    return DisputeQuery(
        region_prefix=r.region_prefix, dispute_type=r.dispute_type, source=SOURCE.to_domain(r.source) or "",
        status=STATUS.to_domain(r.status) or "",
        registered_from=aware(r.registered_from, "registered_from") if r.HasField("registered_from") else None,
        registered_to=aware(r.registered_to, "registered_to") if r.HasField("registered_to") else None,
        text=r.text, page_size=r.page.page_size, page_token=r.page.page_token,
    )


class IntakeApi(intake_pb2_grpc.IntakeServiceServicer):
    def __init__(self, intake: Intake):
        self.intake = intake

    async def RegisterDispute(self, request, context):
        result = await self.intake.register(to_registration(request), caller())
        codes = self.intake.codes
        return intake_pb2.RegisterDisputeResponse(
            dispute=to_proto(result.record), warnings=list(result.warnings), linked_to_existing=result.linked,
            case_code=casecode.shown(result.case_code) if result.case_code else "",
            status_url=codes.status_url(result.case_code) if codes and result.case_code else "")

    async def GetDispute(self, request, context):
        return to_proto(await self.intake.get(request.dispute_id, caller()))

    async def GetDisputeContacts(self, request, context):
        parties, systems = await self.intake.contacts(request.dispute_id, caller())
        return intake_pb2.DisputeContacts(dispute_id=request.dispute_id, parties=[
            intake_pb2.PartyContact(party_id=p.party_id, phone=p.phone, email=p.email, language=p.language,
                                    agents=[intake_pb2.AgentContact(agent_id=a.agent_id, name=a.name, phone=a.phone)
                                            for a in p.agents]) for p in parties], referring_systems=[
            intake_pb2.ReferringSystem(system_id=r.system_id, organization_id=r.organization_id,
                                       reference=r.reference, source=SOURCE.to_proto(r.source))
            for r in systems])

    async def ListDisputes(self, request, context):
        rows, token = await self.intake.list(caller(), to_query(request))
        return intake_pb2.ListDisputesResponse(disputes=[to_proto(r) for r in rows], next_page_token=token)

    async def AcknowledgeWarning(self, request, context):
        answer = await self.intake.acknowledge(request.dispute_id, request.liaison_person_id, caller())
        return intake_pb2.AcknowledgeWarningResponse(
            acknowledged_at=timestamp(answer.acknowledgement.at),
            warning=warning_view(answer.warning, answer.acknowledgements))


    # ---- the parties' case code (issue 11) -------------------------------------------
    async def GetReceipt(self, request, context):
        r = await self._codes().receipt(request.dispute_id, caller())
        return intake_pb2.Receipt(dispute_id=str(r.dispute_id), case_code=casecode.shown(r.code),
                                  status_url=r.status_url, qr_svg=r.qr_svg, qr_png=r.qr_png, pdf=r.pdf,
                                  registered_at=timestamp(r.registered_at))

    async def GetCaseStatus(self, request, context):
        view = await self._codes().status(request.case_code, request.phone_last4, request.client_address,
                                          request.language, caller())
        return status_view(view)

    def _codes(self):
        if self.intake.codes is None:
            raise Unavailable("case codes are not configured")
        return self.intake.codes


_STAGE = {s: getattr(intake_pb2, f"CASE_STAGE_{s.name}") for s in Stage}


def status_view(v: View) -> intake_pb2.CaseStatus:
    n = v.next_session
    return intake_pb2.CaseStatus(
        stage=_STAGE[v.stage], headline=v.headline, explanation=v.explanation, your_name=v.your_name,
        mediator_name=v.mediator_name, mediator_organization_id=v.organization_id,
        next_session=intake_pb2.NextSession(scheduled_for=timestamp(n.scheduled_for), place=n.place,
                                            video_link=n.video_link, number=n.number) if n else None,
        to_do=list(v.to_do),
        deadlines=[intake_pb2.StatusDeadline(what=d.what, last_day=d.last_day.isoformat(), source=d.source,
                                             for_you=d.for_you) for d in v.deadlines],
        case_number=v.case_number, registered_on=v.registered_on.isoformat(), dispute_type=v.dispute_type,
        updated_at=timestamp(v.updated_at) if v.updated_at else None, language=v.language,
    )
