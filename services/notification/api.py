"""NotificationService over gRPC: protobuf <-> domain, nothing else."""

from __future__ import annotations

from liandiao.auth import PEOPLE, Role
from liandiao.errors import FieldViolation, InvalidInput
from liandiao.notification.v1 import notification_pb2, notification_pb2_grpc
from liandiao.rpc import paging
from liandiao.rpc.convert import timestamp
from liandiao.rpc.server import caller
from services.notification.app import Notification
from services.notification.codes import CHANNEL, RECIPIENT, STATUS
from services.notification.domain.templates import TemplateProblem, locale_of
from services.notification.store import DeliveryRow

POLICY = {
    "Preview": PEOPLE,
    "ListDeliveries": PEOPLE,
    "ResendDelivery": frozenset({Role.CLERK, Role.OPERATOR}),
}


def to_proto(d: DeliveryRow) -> notification_pb2.Delivery:
    """Listings show the body with the recipient's name masked, never the address."""
    return notification_pb2.Delivery(
        delivery_id=str(d.delivery_id), dispute_id=str(d.dispute_id), template=d.template,
        recipient_kind=RECIPIENT.to_proto(d.recipient_kind), recipient_id=d.recipient_id,
        recipient_display=d.recipient_display, channel=CHANNEL.to_proto(d.channel), status=STATUS.to_proto(d.status),
        body=d.body_masked or d.body, attempts=d.attempts, created_at=timestamp(d.created_at),
        delivered_at=timestamp(d.delivered_at), source_event_id=str(d.source_event_id), locale=d.locale,
        last_error=d.last_error, served_at=timestamp(d.served_at),
    )


class NotificationApi(notification_pb2_grpc.NotificationServiceServicer):
    def __init__(self, notification: Notification):
        self.notification = notification

    async def Preview(self, request, context):
        templates = self.notification.templates
        if request.template not in templates.names:
            raise InvalidInput(FieldViolation("template", "unknown template; known: "
                                              f"{', '.join(sorted(templates.names))}"[:400]))
        try:
            shown = templates.render(request.template, locale_of(request.locale), dict(request.values))
        except TemplateProblem as exc:
            raise InvalidInput(FieldViolation("values", str(exc)[:300])) from None
        return notification_pb2.PreviewResponse(body=shown.body, locale=shown.locale)

    async def ListDeliveries(self, request, context):
        size = paging.page_size(request.page_size, "page_size")
        offset = paging.offset(request.page_token, "page_token")
        rows = await self.notification.list(caller(), request.dispute_id, STATUS.to_domain(request.status) or "",
                                            size, offset)
        return notification_pb2.ListDeliveriesResponse(
            deliveries=[to_proto(d) for d in rows], next_page_token=paging.next_offset(offset, size, len(rows)))

    async def ResendDelivery(self, request, context):
        return to_proto(await self.notification.resend(caller(), request.delivery_id))
