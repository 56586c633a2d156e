"""Wiring of the notification service: the only place that builds concrete channels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
from services.notification.contacts import GrpcDirectory
from services.notification.handlers import PEOPLE, ROUTED
from services.notification.limits import LIMITS
from services.notification.receipts import ReceiptEndpoint
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
        directory = None
        if cfg.token is not None:
            directory = GrpcDirectory(cfg.intake_address, cfg.personnel_address, cfg.lookup_tls, cfg.token)
        _built[id(rt)] = Notification(rt.pool, channels, routing=cfg.routing, templates=cfg.templates,
                                      store=Store(rt.pool, rt.pii), webhook_receivers=frozenset(cfg.receivers),
                                      concurrency=cfg.concurrency, directory=directory,
                                      contacts_ttl=timedelta(seconds=cfg.contacts_ttl_seconds),
                                      awaits_receipts=frozenset({"sms"}) if cfg.sms and cfg.receipt_secret
                                      else frozenset())
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


@app.task
async def contacts_purge(rt: Runtime) -> None:
    # Addresses read from intake and personnel are kept only for their lifetime.
    n = _notification(rt)
    await periodically(lambda: n.store.purge_contacts(datetime.now(UTC) - n.contacts_ttl), 60, rt.stopping,
                       "contacts purge")


@app.task
async def sms_receipts(rt: Runtime) -> None:
    # The provider's status reports: served only when a receipt secret is configured.
    cfg: config.NotificationConfig = rt.config
    if not cfg.receipt_secret:
        await rt.stopping.wait()
        return
    endpoint = ReceiptEndpoint(cfg.receipt_secret, cfg.delivered_codes, _notification(rt).apply_receipts)
    await endpoint.serve(cfg.receipt_host, cfg.receipt_port, rt.stopping)


@app.task
async def coordination_reminders(rt: Runtime) -> None:
    # The coordination groups' monthly, quarterly and yearly reminders ([[coordination]] in the routing file).
    n = _notification(rt)
    await periodically(n.remind_coordination, 60, rt.stopping, "coordination reminders")
