"""MediationService over gRPC: protobuf <-> domain, nothing else."""

from __future__ import annotations

from liandiao.auth import PEOPLE, Role
from liandiao.common.v1 import common_pb2
from liandiao.mediation.v1 import mediation_pb2, mediation_pb2_grpc
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc import paging
from liandiao.rpc.convert import timestamp
from liandiao.rpc.enums import EnumMap
from liandiao.rpc.server import caller
from services.mediation.app import SOURCE, CaseRow, Mediation

POLICY = {
    "GetCase": PEOPLE,
    "ListCases": PEOPLE,
    "ScheduleSession": frozenset({Role.MEDIATOR}),
    "RecordSession": frozenset({Role.MEDIATOR}),
    "DraftAgreement": frozenset({Role.MEDIATOR}),
    "SignAgreement": frozenset({Role.MEDIATOR, Role.CLERK}),
    "Terminate": frozenset({Role.MEDIATOR}),
}
STATUS = EnumMap({mediation_pb2.CASE_STATUS_OPEN: "open", mediation_pb2.CASE_STATUS_AGREEMENT_EFFECTIVE: "agreement",
                  mediation_pb2.CASE_STATUS_TERMINATED: "terminated"})


def to_proto(c: CaseRow) -> mediation_pb2.Case:
    return mediation_pb2.Case(
        case_id=str(c.case_id), dispute_id=str(c.dispute_id), region_code=c.region_code, dispute_type=c.dispute_type,
        source=SOURCE.to_proto(c.source), mediator_id=c.mediator_id, organization_id=c.organization_id,
        status=STATUS.to_proto(c.status), opened_at=timestamp(c.opened_at),
        deadline=common_pb2.Deadline(period_name=c.period_name, source=c.period_source,
                                     last_day=c.deadline_last_day.isoformat(), expires_at=timestamp(c.deadline_at),
                                     provisional=c.deadline_provisional),
        parties=routing_pb2.DisputeAssigned.FromString(c.parties).parties,
    )


class MediationApi(mediation_pb2_grpc.MediationServiceServicer):
    def __init__(self, mediation: Mediation):
        self.mediation = mediation

    async def GetCase(self, request, context):
        return to_proto(await self.mediation.get(caller(), request.case_id, request.dispute_id))

    async def ListCases(self, request, context):
        size, offset = paging.page_size(request.page.page_size), paging.offset(request.page.page_token)
        rows = await self.mediation.list(caller(), request.mediator_id, request.region_prefix,
                                         STATUS.to_domain(request.status) or "", size, offset)
        return mediation_pb2.ListCasesResponse(cases=[to_proto(c) for c in rows],
                                               next_page_token=paging.next_offset(offset, size, len(rows)))
