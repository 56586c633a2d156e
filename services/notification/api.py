"""NotificationService over gRPC: protobuf <-> domain, nothing else."""

from __future__ import annotations

from liandiao.auth import PEOPLE, Role
from liandiao.errors import FieldViolation, InvalidInput
from liandiao.notification.v1 import notification_pb2, notification_pb2_grpc
from liandiao.rpc import paging
from liandiao.rpc.convert import timestamp
from liandiao.rpc.server import caller
from services.notification.app import DeliveryRow, Notification
from services.notification.codes import CHANNEL, RECIPIENT, STATUS
from services.notification.domain.templates import TEMPLATES, render

POLICY = {
    "Preview": PEOPLE,
    "ListDeliveries": PEOPLE,
    "ResendDelivery": frozenset({Role.CLERK, Role.OPERATOR}),
}


def to_proto(d: DeliveryRow) -> notification_pb2.Delivery:
    return notification_pb2.Delivery(
        delivery_id=str(d.delivery_id), dispute_id=str(d.dispute_id), template=d.template,
        recipient_kind=RECIPIENT.to_proto(d.recipient_kind), recipient_id=d.recipient_id,
        recipient_display=d.recipient_display, channel=CHANNEL.to_proto(d.channel), status=STATUS.to_proto(d.status),
        body=d.body, attempts=d.attempts, created_at=timestamp(d.created_at), delivered_at=timestamp(d.delivered_at),
        source_event_id=str(d.source_event_id),
    )


class NotificationApi(notification_pb2_grpc.NotificationServiceServicer):
    def __init__(self, notification: Notification):
        self.notification = notification

    async def Preview(self, request, context):
        if request.template not in TEMPLATES:
            raise InvalidInput(FieldViolation("template", f"unknown template; known: {', '.join(sorted(TEMPLATES))}"))
        try:
            return notification_pb2.PreviewResponse(body=render(request.template, dict(request.values)))
        except KeyError as exc:
            raise InvalidInput(FieldViolation("values", f"missing value {exc.args[0]!r}")) from None

    async def ListDeliveries(self, request, context):
        size = paging.page_size(request.page_size, "page_size")
        offset = paging.offset(request.page_token, "page_token")
        rows = await self.notification.list(caller(), request.dispute_id, STATUS.to_domain(request.status) or "",
                                            size, offset)
        return notification_pb2.ListDeliveriesResponse(
            deliveries=[to_proto(d) for d in rows], next_page_token=paging.next_offset(offset, size, len(rows)))
