"""RoutingService over gRPC: protobuf <-> domain, nothing else."""

from __future__ import annotations

from liandiao.auth import PEOPLE, Role
from liandiao.common.v1 import common_pb2
from liandiao.legaltime import statutory
from liandiao.routing.v1 import routing_pb2, routing_pb2_grpc
from liandiao.rpc.convert import timestamp
from liandiao.rpc.enums import EnumMap
from liandiao.rpc.server import caller
from services.routing import store
from services.routing.app import Routing

POLICY = {
    "GetAssignment": PEOPLE,
    "AcceptAssignment": frozenset({Role.MEDIATOR, Role.CLERK, Role.OPERATOR}),
    "DeclineAssignment": frozenset({Role.MEDIATOR, Role.CLERK, Role.OPERATOR}),
    "Reassign": frozenset({Role.CLERK, Role.OPERATOR, Role.COURT}),
    "RecordPartiesChoice": frozenset({Role.CLERK, Role.COURT, Role.OPERATOR}),
    # Any member of the coordination group (judicial office, police station, tribunal).
    "CallConsultation": frozenset({Role.CLERK, Role.POLICE, Role.COURT, Role.MEDIATOR, Role.OPERATOR}),
    "RecordConsultationPlan": frozenset({Role.CLERK, Role.POLICE, Role.COURT, Role.OPERATOR}),
    "GetConsultation": PEOPLE,
}
STATUS = EnumMap({routing_pb2.ASSIGNMENT_STATUS_OFFERED: "offered", routing_pb2.ASSIGNMENT_STATUS_ACCEPTED: "accepted",
                  routing_pb2.ASSIGNMENT_STATUS_UNASSIGNED: "unassigned",
                  routing_pb2.ASSIGNMENT_STATUS_AWAITING_CHOICE: "awaiting_choice"})
CONSULTATION = EnumMap({routing_pb2.CONSULTATION_STATUS_CALLED: "called",
                        routing_pb2.CONSULTATION_STATUS_PLANNED: "planned"})




def _deadline(period, last_day, expires_at, provisional) -> common_pb2.Deadline | None:
    if last_day is None or expires_at is None:
        return None
    return common_pb2.Deadline(period_name=period.name, source=period.source, last_day=last_day.isoformat(),
                               expires_at=timestamp(expires_at), provisional=provisional)


def to_proto(a: store.AssignmentRow, region_code: str = "", dispute_type: str = "") -> routing_pb2.Assignment:
    return routing_pb2.Assignment(
        assignment_id=str(a.assignment_id), dispute_id=str(a.dispute_id), region_code=region_code,
        dispute_type=dispute_type, status=STATUS.to_proto(a.status), mediator_id=str(a.mediator_id or ""),
        organization_id=a.organization_id, offered_at=timestamp(a.offered_at),
        respond_by=_deadline(statutory.MEDIATOR_ACCEPT_OR_DECLINE, a.respond_by_last_day, a.respond_by,
                             a.respond_by_provisional),
        choose_by=_deadline(statutory.JOINT_CHOICE_OF_MEDIATOR, a.choose_by_last_day, a.choose_by,
                            a.choose_by_provisional),
        accepted_at=timestamp(a.accepted_at), reason=a.reason, offer_round=a.offer_round,
    )


def consultation(c: store.ConsultationRow) -> routing_pb2.Consultation:
    return routing_pb2.Consultation(
        dispute_id=str(c.dispute_id), status=CONSULTATION.to_proto(c.status), reasons=c.reasons,
        called_by=c.called_by, called_at=timestamp(c.called_at), participant_org_ids=c.participant_org_ids, plan=c.plan,
        lead_mediator_id=c.lead_mediator_id, co_mediator_ids=c.co_mediator_ids, planned_at=timestamp(c.planned_at),
    )


class RoutingApi(routing_pb2_grpc.RoutingServiceServicer):
    def __init__(self, routing: Routing):
        self.routing = routing

    async def GetAssignment(self, request, context):
        return to_proto(await self.routing.get(request.dispute_id, caller()))

    async def AcceptAssignment(self, request, context):
        return to_proto(await self.routing.accept(request.dispute_id, request.mediator_id, caller()))

    async def DeclineAssignment(self, request, context):
        return to_proto(await self.routing.decline(request.dispute_id, request.mediator_id, request.reason, caller()))

    async def Reassign(self, request, context):
        return to_proto(await self.routing.reassign(request.dispute_id, request.reason, caller()))

    async def RecordPartiesChoice(self, request, context):
        return to_proto(await self.routing.record_parties_choice(
            request.dispute_id, request.mediator_id, list(request.agreed_party_ids), request.disclosure, caller()))

    async def CallConsultation(self, request, context):
        return consultation(await self.routing.call_consultation(request.dispute_id, request.reason, caller()))

    async def RecordConsultationPlan(self, request, context):
        return consultation(await self.routing.record_consultation_plan(
            request.dispute_id, list(request.participant_org_ids), request.plan, request.lead_mediator_id,
            list(request.co_mediator_ids), caller()))

    async def GetConsultation(self, request, context):
        return consultation(await self.routing.get_consultation(request.dispute_id, caller()))
