"""IntakeService over gRPC: protobuf <-> domain, nothing else."""

from __future__ import annotations

from datetime import UTC as _UTC

from google.protobuf.timestamp_pb2 import Timestamp

from liandiao.auth import Role
from liandiao.intake.v1 import intake_pb2, intake_pb2_grpc
from liandiao.rpc.server import caller
from services.intake import store
from services.intake.app import Intake
from services.intake.codes import CONSENT, COURT_PROCEDURE, ID_TYPE, PARTY_KIND, SIDE, SOURCE, STATUS
from services.intake.domain.model import (
    Consent,
    IdType,
    PartyIn,
    PartyKind,
    Procedure,
    Referral,
    Registration,
    RiskFactors,
    Side,
    Source,
)

_ALL = frozenset(Role)
POLICY = {
    "RegisterDispute": frozenset({Role.CLERK, Role.POLICE, Role.COURT, Role.MEDIATOR, Role.LAWYER, Role.OPERATOR}),
    "GetDispute": _ALL,
    "ListDisputes": _ALL,
    "AcknowledgeWarning": frozenset({Role.LIAISON, Role.POLICE, Role.CLERK, Role.COURT}),
}


def to_registration(r: intake_pb2.RegisterDisputeRequest) -> Registration:
    which = r.WhichOneof("referral")
    if which == "police":
        referral = Referral(org_id=r.police.station_org_id, person_id=r.police.officer_person_id,
                            reference=r.police.incident_reference)
    elif which == "court":
        proc = COURT_PROCEDURE.to_domain(r.court.procedure)
        referral = Referral(org_id=r.court.court_org_id, reference=r.court.court_case_reference,
                            procedure=Procedure(proc) if proc else None)
    else:
        referral = Referral()
    source = SOURCE.to_domain(r.source)
    return Registration(
        request_id=r.request_id, region_code=r.region_code.strip(), dispute_type=r.dispute_type,
        source=Source(source) if source else None, referral=referral, facts=r.facts,
        requested_outcome=r.requested_outcome, amount_fen=r.amount_in_dispute_fen,
        parties=tuple(_party(p) for p in r.parties), registering_person_id=r.registering_person_id,
        registering_org_id=r.registering_org_id, chosen_mediator_id=r.chosen_mediator_id,
        risk=RiskFactors(
            threats_of_violence=r.risk_factors.threats_of_violence, prior_incidents=r.risk_factors.prior_incidents,
            people_involved=r.risk_factors.people_involved, vulnerable_party=r.risk_factors.vulnerable_party,
            repeat_petitions=r.risk_factors.repeat_petitions,
        ),
    )


def _party(p: intake_pb2.PartyInput) -> PartyIn:
    kind, side = PARTY_KIND.to_domain(p.kind), SIDE.to_domain(p.side)
    id_type, consent = ID_TYPE.to_domain(p.id_document.type), CONSENT.to_domain(p.consent.decision)
    return PartyIn(
        kind=PartyKind(kind) if kind else None, side=Side(side) if side else None, name=p.name,
        sex={1: "male", 2: "female"}.get(p.sex, ""), ethnicity=p.ethnicity, age=p.age, occupation=p.occupation,
        phone=p.phone, address=p.address, id_type=IdType(id_type) if id_type else None,
        id_number=p.id_document.number, no_id_reason=p.no_id_reason, credit_code=p.credit_code,
        language=p.language or "zh", consent=Consent(consent) if consent else None,
        disclosed_at=p.consent.disclosed_at.ToDatetime(tzinfo=_UTC) if p.consent.HasField("disclosed_at") else None,
        routes_told=tuple(p.consent.routes_told), service_address=p.service_address,
        service_address_confirmed=p.service_address_confirmed,
    )


def to_proto(d: store.DisputeRow, parties: list[store.PartyRow]) -> intake_pb2.Dispute:
    registered = Timestamp()
    registered.FromDatetime(d.registered_at)
    return intake_pb2.Dispute(
        dispute_id=str(d.dispute_id), region_code=d.region_code, prefecture=d.prefecture,
        dispute_type=d.dispute_type, source=SOURCE.to_proto(d.source), status=STATUS.to_proto(d.status),
        parties=[intake_pb2.PartyView(
            party_id=str(p.party_id), kind=PARTY_KIND.to_proto(p.kind), side=SIDE.to_proto(p.side), name=p.name,
            masked_id_number=p.id_masked, masked_phone=p.phone_masked, consent=CONSENT.to_proto(p.consent),
            language=p.language,
        ) for p in parties],
        facts=d.facts, amount_in_dispute_fen=d.amount_fen, registered_at=registered,
        registering_org_id=d.registering_org_id, referring_org_id=d.referring_org_id,
        risk_score=d.risk_score, risk_reasons=d.risk_reasons,
    )


class IntakeApi(intake_pb2_grpc.IntakeServiceServicer):
    def __init__(self, intake: Intake):
        self.intake = intake

    async def RegisterDispute(self, request, context):
        result = await self.intake.register(to_registration(request), caller())
        return intake_pb2.RegisterDisputeResponse(dispute=to_proto(result.dispute, result.parties),
                                                  warnings=list(result.warnings))

    async def GetDispute(self, request, context):
        return to_proto(*await self.intake.get(request.dispute_id, caller()))

    async def ListDisputes(self, request, context):
        rows, token = await self.intake.list(
            caller(), request.region_prefix, request.dispute_type, SOURCE.to_domain(request.source) or "",
            STATUS.to_domain(request.status) or "", request.page.page_size, request.page.page_token,
        )
        return intake_pb2.ListDisputesResponse(disputes=[to_proto(d, p) for d, p in rows], next_page_token=token)
