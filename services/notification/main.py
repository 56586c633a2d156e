"""Wiring of the notification service: the only place that builds concrete channels."""

from __future__ import annotations

from pathlib import Path

from liandiao.events import catalog
from liandiao.notification.v1 import notification_pb2
from liandiao.rpc.checks import add_servicer
from liandiao.service import Runtime, ServiceApp, periodically
from services.notification import config
from services.notification.api import POLICY, NotificationApi
from services.notification.app import Notification
from services.notification.channels import Channel, ConsoleChannel
from services.notification.channels.email import EmailChannel
from services.notification.channels.sms import SmsChannel
from services.notification.channels.webhook import WebhookChannel
from services.notification.handlers import PEOPLE, ROUTED
from services.notification.limits import LIMITS
from services.notification.store import Store

app = ServiceApp("notification", Path(__file__).parent / "migrations", POLICY,
                 publishes=[catalog.DELIVERY_SUCCEEDED, catalog.DELIVERY_FAILED], config=config.load)
_built: dict[int, Notification] = {}


def _notification(rt: Runtime) -> Notification:
    """One per runtime, so the concurrency limit is the process's."""
    if id(rt) not in _built:
        cfg: config.NotificationConfig = rt.config
        console = ConsoleChannel()
        channels: dict[str, Channel] = {"console": console,
                                        "sms": SmsChannel(cfg.sms) if cfg.sms else console,
                                        "email": EmailChannel(cfg.smtp) if cfg.smtp else console,
                                        "webhook": WebhookChannel(cfg.receivers)}
        _built[id(rt)] = Notification(rt.pool, channels, routing=cfg.routing, templates=cfg.templates,
                                      store=Store(rt.pool, rt.pii), webhook_receivers=frozenset(cfg.receivers),
                                      concurrency=cfg.concurrency)
    return _built[id(rt)]


@app.grpc
def register(rt: Runtime, server):
    service = notification_pb2.DESCRIPTOR.services_by_name["NotificationService"]
    return [add_servicer(server, service, NotificationApi(_notification(rt)), LIMITS)]


# Handlers (ack policy in handlers.py): one consumer for routed events, one for the people projection.
app.consume("assignments", [catalog.DISPUTE_ASSIGNED], lambda rt: _notification(rt).on_event)
app.consume("events", [e for e in ROUTED if e is not catalog.DISPUTE_ASSIGNED], lambda rt: _notification(rt).on_event)
app.consume("people", list(PEOPLE), lambda rt: _notification(rt).on_person_changed)


@app.task
async def dispatcher(rt: Runtime) -> None:
    # Deliveries go out as soon as they exist: no pause while there was something to send.
    n = _notification(rt)
    batch = rt.config.batch
    await periodically(lambda: n.dispatch_due(limit=batch), 0.5, rt.stopping, "delivery dispatch",
                       again_at_once=lambda sent: sent > 0)
