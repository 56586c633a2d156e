"""Wiring of the notification service."""

from __future__ import annotations

from pathlib import Path

from liandiao.events import catalog
from liandiao.notification.v1 import notification_pb2
from liandiao.rpc.checks import add_servicer
from liandiao.service import Runtime, ServiceApp, periodically
from services.notification.api import POLICY, NotificationApi
from services.notification.app import Notification
from services.notification.channels import ConsoleChannel
from services.notification.limits import LIMITS

app = ServiceApp("notification", Path(__file__).parent / "migrations", POLICY,
                 publishes=[catalog.DELIVERY_SUCCEEDED, catalog.DELIVERY_FAILED])


def _notification(rt: Runtime) -> Notification:
    return Notification(rt.pool, {"console": ConsoleChannel()})


@app.grpc
def register(rt: Runtime, server):
    service = notification_pb2.DESCRIPTOR.services_by_name["NotificationService"]
    return [add_servicer(server, service, NotificationApi(_notification(rt)), LIMITS)]


app.consume("assignments", [catalog.DISPUTE_ASSIGNED], lambda rt: _notification(rt).on_dispute_assigned)


@app.task
async def dispatcher(rt: Runtime) -> None:
    # Deliveries go out as soon as they exist: no pause while there was something to send.
    await periodically(_notification(rt).dispatch_due, 0.5, rt.stopping, "delivery dispatch",
                       again_at_once=lambda sent: sent > 0)
