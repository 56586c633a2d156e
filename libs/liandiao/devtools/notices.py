"""The demo's real channels and what came out of them: the SMS simulator (flaky now and
then, reporting receipts, a few numbers undeliverable) and an SMTP server (aiosmtpd) for
notification to send to, and, at the end, what each audience received by channel, with
retries and failures counted (read from notification's deliveries and the two servers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import asyncpg

from liandiao.devtools.mailbox import Mailbox
from liandiao.devtools.sms_simulator import SmsSimulator

API_KEY = "demo-sms-key"
RECEIPT_SECRET = "demo-receipt-secret-0123"


@dataclass
class Told:
    """Deliveries of one audience on one channel."""
    count: int = 0
    delivered: int = 0        # a receipt or the receiver itself confirmed it
    failed: int = 0           # dead-lettered (attempts spent, refused, or undelivered)
    pending: int = 0
    retries: int = 0          # attempts beyond the first


@dataclass
class Notices:
    told: dict[tuple[str, str], Told] = field(default_factory=dict)   # (recipient kind, channel) -> figures
    sms_received: int = 0     # messages the SMS provider accepted
    sms_requests: int = 0     # every request it got, refused ones included
    receipts: int = 0
    mails: int = 0            # e-mails the SMTP server received


@contextmanager
def channels(receipts_port: int) -> Iterator[tuple[dict[str, str], SmsSimulator, Mailbox]]:
    """The environment that points notification at the two servers, and the servers."""
    with SmsSimulator(api_key=API_KEY, receipt_url=f"http://127.0.0.1:{receipts_port}/sms/receipts",
                      receipt_secret=RECEIPT_SECRET, receipt_delay=0.3, receipt_failure=0.02) as sim, \
            Mailbox() as box:
        sim.state.fail_every = 15          # every 15th send fails once: the retry shows in the summary
        env = {"LIANDIAO_SMS_URL": sim.url, "LIANDIAO_SMS_API_KEY": API_KEY,
               "LIANDIAO_SMS_RECEIPT_SECRET": RECEIPT_SECRET, "LIANDIAO_NOTIFICATION_RECEIPTS_PORT": str(receipts_port),
               "LIANDIAO_SMTP_HOST": box.host, "LIANDIAO_SMTP_PORT": str(box.port)}
        yield env, sim, box


async def read(dsn: str, sim: SmsSimulator, box: Mailbox, timeout: float = 60) -> Notices:
    """Waits (up to ``timeout``) until no delivery is pending and the receipts are in, then counts."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "notification"})
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            waiting = await conn.fetchval("select count(*) from deliveries where status = 'pending' "
                                          "or (status = 'sent' and channel = 'sms')")
            if not waiting:
                break
            await asyncio.sleep(0.5)
        rows = await conn.fetch(
            """select recipient_kind, channel, count(*) as n,
                      count(*) filter (where status = 'delivered') as delivered,
                      count(*) filter (where status = 'failed') as failed,
                      count(*) filter (where status = 'pending') as pending,
                      coalesce(sum(greatest(attempts - 1, 0)), 0) as retries
               from deliveries group by 1, 2 order by 1, 2""")
    finally:
        await conn.close()
    told = {(r["recipient_kind"], r["channel"]): Told(r["n"], r["delivered"], r["failed"], r["pending"],
                                                      int(r["retries"])) for r in rows}
    with sim.state.lock:
        received, requests, receipts = len(sim.state.messages), sim.state.requests, len(sim.state.receipts)
    return Notices(told, received, requests, receipts, len(box.mails))
