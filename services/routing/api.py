"""RoutingService over gRPC: protobuf <-> domain, nothing else."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.legaltime import statutory
from liandiao.routing.v1 import routing_pb2, routing_pb2_grpc
from liandiao.rpc.enums import EnumMap
from liandiao.rpc.server import caller
from services.routing import store
from services.routing.app import Routing

POLICY = {
    "GetAssignment": frozenset(Role),
    "AcceptAssignment": frozenset({Role.MEDIATOR, Role.CLERK, Role.OPERATOR}),
    "DeclineAssignment": frozenset({Role.MEDIATOR, Role.CLERK, Role.OPERATOR}),
    "Reassign": frozenset({Role.CLERK, Role.OPERATOR, Role.COURT}),
}
STATUS = EnumMap({routing_pb2.ASSIGNMENT_STATUS_OFFERED: "offered", routing_pb2.ASSIGNMENT_STATUS_ACCEPTED: "accepted",
                  routing_pb2.ASSIGNMENT_STATUS_UNASSIGNED: "unassigned"})


def _ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    out = Timestamp()
    out.FromDatetime(value)
    return out


def to_proto(a: store.AssignmentRow, region_code: str = "", dispute_type: str = "") -> routing_pb2.Assignment:
    period = statutory.MEDIATOR_ACCEPT_OR_DECLINE
    return routing_pb2.Assignment(
        assignment_id=str(a.assignment_id), dispute_id=str(a.dispute_id), region_code=region_code,
        dispute_type=dispute_type, status=STATUS.to_proto(a.status), mediator_id=str(a.mediator_id or ""),
        organization_id=a.organization_id, offered_at=_ts(a.offered_at),
        respond_by=common_pb2.Deadline(period_name=period.name, source=period.source,
                                       last_day=a.respond_by_last_day.isoformat(), expires_at=_ts(a.respond_by),
                                       provisional=a.respond_by_provisional)
        if a.respond_by and a.respond_by_last_day else None,
        accepted_at=_ts(a.accepted_at), reason=a.reason, offer_round=a.offer_round,
    )


class RoutingApi(routing_pb2_grpc.RoutingServiceServicer):
    def __init__(self, routing: Routing):
        self.routing = routing

    async def GetAssignment(self, request, context):
        return to_proto(await self.routing.get(request.dispute_id))

    async def AcceptAssignment(self, request, context):
        return to_proto(await self.routing.accept(request.dispute_id, request.mediator_id, caller()))

    async def DeclineAssignment(self, request, context):
        return to_proto(await self.routing.decline(request.dispute_id, request.mediator_id, request.reason, caller()))
