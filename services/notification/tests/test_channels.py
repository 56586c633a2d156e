"""Notification's channels against real servers on loopback: the SMS provider
simulator (an HTTP server), aiosmtpd (an SMTP server, with STARTTLS) and a webhook
receiver (an HTTP server that checks our signature), with deliveries in the real
PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from liandiao.auth import Claims, Role
from liandiao.common.v1 import common_pb2
from liandiao.devtools.sms_simulator import SmsSimulator
from liandiao.errors import RuleViolation
from liandiao.events.consumer import ConsumedEvent
from liandiao.events.envelope import Envelope
from liandiao.pii import PiiCipher
from liandiao.routing.v1 import routing_pb2
from services.notification import config
from services.notification.app import Notification
from services.notification.channels import ConsoleChannel
from services.notification.channels.email import EmailChannel, SmtpSettings
from services.notification.channels.sms import SmsChannel, SmsSettings
from services.notification.channels.webhook import Receiver, WebhookChannel, verify
from services.notification.store import Store

pytestmark = pytest.mark.stack
CFG = config.load({})
OPERATOR = Claims("op-1", "dc-1", Role.OPERATOR, ("15",))
NOW = datetime.now(UTC) + timedelta(minutes=1)  # deliveries are due by then (DB clock)
CLOCK_PER_TEST = True                             # NOW is set again before each test (conftest.py)

PHONE, EMAIL = "13800138000", "mediator@example.cn"
SECRET = b"station-1 secret of 32 bytes...."


def assigned(source=common_pb2.CASE_SOURCE_PARTY_APPLICATION, language="") -> ConsumedEvent:
    payload = routing_pb2.DisputeAssigned(
        dispute_id=str(uuid.uuid4()), region_code="150502", dispute_type="neighbours", source=source,
        mediator_id=f"m-{uuid.uuid4()}", mediator_name="宝音", referring_org_id="station-1",
        parties=[common_pb2.PartyRef(party_id=f"p-{uuid.uuid4()}", display_name="王建国", masked_phone="138****8000",
                                     language=language)])
    env = Envelope(str(uuid.uuid4()), "routing.dispute-assigned.v1", NOW, payload.dispute_id, "150502", "", "")
    return ConsumedEvent(env, payload, "t")


@pytest.fixture
async def pool(service_pool):
    async with service_pool("notification") as p:
        await p.execute("delete from deliveries")
        yield p


def build(pool, **channels) -> Notification:
    console = ConsoleChannel()
    all_channels = {"console": console, "sms": console, "email": console, "webhook": console, **channels}
    receivers = frozenset(channels["webhook"].receivers) if "webhook" in channels else frozenset()
    return Notification(pool, all_channels, routing=CFG.routing, templates=CFG.templates,
                        store=Store(pool, PiiCipher(bytes(32))), webhook_receivers=receivers, draw=lambda: 0.0)


async def take(n: Notification, event: ConsumedEvent, contacts: dict[tuple[str, str], str]) -> None:
    async with n.pool.acquire() as conn, conn.transaction():
        for (who, channel), address in contacts.items():
            await n.store.set_contact(conn, who, channel, address)
        await n.on_event(conn, event)


async def rows(n: Notification, event: ConsumedEvent, channel: str):
    return [d for d in await n.list(OPERATOR, event.payload.dispute_id, "", 50, 0) if d.channel == channel]


async def test_sms_outage_is_retried_then_dead_lettered_then_resent_once(pool):
    with SmsSimulator() as sim:
        sms = SmsChannel(SmsSettings(sim.url, "dev-key", timeout_seconds=0.5))
        n = build(pool, sms=sms)
        event = assigned()
        party = event.payload.parties[0].party_id
        await take(n, event, {(party, "sms"): PHONE})
        sim.set("fail")
        at = NOW
        for _ in range(CFG.routing.retry.max_attempts):
            await n.dispatch_due(at)
            at += timedelta(hours=1)
        [dead] = await rows(n, event, "sms")
        assert dead.status == "failed" and dead.attempts == CFG.routing.retry.max_attempts
        assert "503" in dead.last_error and sim.state.requests == CFG.routing.retry.max_attempts
        # The operator's list of dead letters shows it, masked: no phone, no full name.
        listed = await n.list(OPERATOR, "", "", 100, 0)
        mine = next(d for d in listed if d.delivery_id == dead.delivery_id)
        assert PHONE not in mine.recipient_display + mine.body_masked and "王建国" not in mine.body_masked
        sim.set("ok")
        with pytest.raises(RuleViolation):        # a pending one is not resent
            await n.resend(OPERATOR, str(dead.delivery_id), at)
            await n.resend(OPERATOR, str(dead.delivery_id), at)
        assert await n.dispatch_due(at) == 1
        [sent] = await rows(n, event, "sms")
        assert sent.status == "sent"
        [message] = sim.state.messages
        assert message["phone"] == PHONE and message["out_id"] == str(dead.delivery_id)
        assert "王建国" in message["content"]                    # the real message names the party
        with pytest.raises(RuleViolation):                      # sent: never sent twice
            await n.resend(OPERATOR, str(dead.delivery_id), at)
        async with pool.acquire() as conn:
            history = await conn.fetch("select status from delivery_history where delivery_id = $1 order by at, "
                                       "attempt", dead.delivery_id)
        assert [h["status"] for h in history][-3:] == ["failed", "pending", "sent"]
        await sms.close()


async def test_a_provider_that_times_out_or_refuses(pool):
    with SmsSimulator() as sim:
        sms = SmsChannel(SmsSettings(sim.url, "dev-key", timeout_seconds=0.3))
        n = build(pool, sms=sms)
        slow, refused = assigned(), assigned()
        await take(n, slow, {(slow.payload.parties[0].party_id, "sms"): PHONE})
        sim.set("timeout", delay=2)
        await n.dispatch_due(NOW)
        [d] = await rows(n, slow, "sms")
        assert d.status == "pending" and d.attempts == 1 and "timed out" in d.last_error
        sim.set("refuse")
        await take(n, refused, {(refused.payload.parties[0].party_id, "sms"): PHONE})
        await n.dispatch_due(NOW + timedelta(seconds=1))
        [r] = await rows(n, refused, "sms")
        assert r.status == "failed" and r.attempts == 1 and "INVALID_NUMBER" in r.last_error   # not retried
        await sms.close()


def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(datetime.now(UTC) - timedelta(days=1))
            .not_valid_after(datetime.now(UTC) + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class Inbox:
    def __init__(self):
        self.mails = []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace"), session.ssl is not None))
        return "250 OK"


async def test_email_goes_over_smtp_with_starttls(pool, tmp_path):
    cert, key = _self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    inbox = Inbox()
    with socket.socket() as probe:     # aiosmtpd's controller checks its port itself: it needs a real one
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    smtp = Controller(inbox, hostname="127.0.0.1", port=free, server_hostname="localhost", tls_context=tls,
                      require_starttls=True)
    smtp.start()
    try:
        email = EmailChannel(SmtpSettings("localhost", free, starttls=True, ca_file=str(cert), timeout_seconds=5))
        # The mediator is told by SMS in the shipped routes: route the mediator by e-mail here.
        routing = config.parse_routing(
            {"route": [{"event": "routing.dispute-assigned", "audience": "mediator", "channels": ["email"],
                        "template": "dispute-assigned/mediator"}]},
            templates=CFG.templates.names, known_events=["routing.dispute-assigned"])
        n = build(pool, email=email)
        n.routing = routing
        event = assigned()
        await take(n, event, {(event.payload.mediator_id, "email"): EMAIL})
        assert await n.dispatch_due(NOW) == 1
        [d] = await rows(n, event, "email")
        assert d.status == "sent"
        [(to, content, encrypted)] = inbox.mails
        assert to == [EMAIL] and encrypted
        assert f"Message-ID: <{d.delivery_id}@liandiao>" in content
    finally:
        smtp.stop()


class Station(BaseHTTPRequestHandler):
    """A police station's system: answers 503 to the first POST, then 200; keeps what it got."""

    got: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Station.got.append((dict(self.headers), body))
        ok = verify(SECRET, self.headers, body, time.time())
        self.send_response(401 if not ok else 503 if len(Station.got) == 1 else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()


async def test_webhook_is_signed_and_a_retry_carries_the_same_idempotency_key(pool):
    Station.got = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Station)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/liandiao"
        hook = WebhookChannel({"station-1": Receiver("station-1", url, SECRET)})
        n = build(pool, webhook=hook)
        event = assigned(source=common_pb2.CASE_SOURCE_POLICE_REFERRAL)
        await take(n, event, {})
        await n.dispatch_due(NOW)
        await n.dispatch_due(NOW + timedelta(seconds=2))
        [d] = await rows(n, event, "webhook")
        assert d.status == "delivered" and d.attempts == 2
        (h1, b1), (h2, b2) = Station.got
        assert h1["Idempotency-Key"] == h2["Idempotency-Key"] == str(d.delivery_id)
        assert verify(SECRET, h2, b2, time.time()) and not verify(b"another secret", h2, b2, time.time())
        assert not verify(SECRET, h2, b2, time.time() + 3600)          # an old message is refused
        assert json.loads(b2)["dispute_id"] == event.payload.dispute_id
        await hook.close()
    finally:
        server.shutdown()
        server.server_close()


async def test_a_party_is_told_in_their_language_with_a_fallback_to_chinese(pool):
    n = build(pool)
    mongolian, english = assigned(language="mn"), assigned(language="en")
    for event in (mongolian, english):
        await take(n, event, {})
    [mn] = [d for d in await rows(n, mongolian, "console") if d.recipient_kind == "party"]
    assert mn.locale == "mn-Mong" and "ᠮᠠᠷᠭᠤᠯᠳᠤᠭᠠᠨ" in mn.body
    # The mediator's template has no English text: zh-CN; the party's has.
    en = {d.recipient_kind: d for d in await rows(n, english, "console")}
    assert en["party"].locale == "en" and "free of charge" in en["party"].body
    mongolian_mediator = {d.recipient_kind: d for d in await rows(n, mongolian, "console")}["mediator"]
    assert mongolian_mediator.locale == "zh-CN" and "请在期限内开展调解" in mongolian_mediator.body


async def test_a_batch_is_sent_concurrently_within_the_limit(pool):
    class Slow:
        name = "console"

        def __init__(self):
            self.now = self.most = 0

        async def send(self, message):
            self.now += 1
            self.most = max(self.most, self.now)
            await asyncio.sleep(0.05)
            self.now -= 1

    slow = Slow()
    n = build(pool, console=slow, sms=slow)
    n.limit = asyncio.Semaphore(4)
    for _ in range(5):
        await take(n, assigned(), {})
    started = time.perf_counter()
    assert await n.dispatch_due(NOW, limit=100) == 10
    assert slow.most == 4 and time.perf_counter() - started < 10 * 0.05


async def test_a_redelivered_event_sends_nothing_twice(pool):
    with SmsSimulator() as sim:
        sms = SmsChannel(SmsSettings(sim.url, "dev-key"))
        n = build(pool, sms=sms)
        event = assigned()
        contacts = {(event.payload.parties[0].party_id, "sms"): PHONE}
        await take(n, event, contacts)
        assert await n.dispatch_due(NOW) == 2           # the party by SMS, the mediator on the console
        await take(n, event, contacts)                  # the same event again (a replay past the inbox)
        assert await n.dispatch_due(NOW + timedelta(hours=1)) == 0
        assert sim.state.requests == 1 and len(sim.state.messages) == 1
        await sms.close()
