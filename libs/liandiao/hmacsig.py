"""HMAC-SHA256 request signatures between Liandiao and the court and police systems, both
ways: notification signs the webhooks it sends (services/notification/channels/webhook.py)
and the external-systems adapter checks the referrals those systems send in
(services/intake/external), with the same scheme so that a system implements it once.

    X-Liandiao-Timestamp: <Unix seconds>
    X-Liandiao-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body bytes>" under the shared secret>

The timestamp is inside what is signed, so an old request cannot be made fresh again; a
receiver refuses a timestamp outside its window and remembers the signatures it accepted
within it (a replay inside the window is the same signature). Pure: no I/O here."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE, TIMESTAMP, IDEMPOTENCY = "X-Liandiao-Signature", "X-Liandiao-Timestamp", "Idempotency-Key"
SYSTEM = "X-Liandiao-System"
DEFAULT_WINDOW_SECONDS = 300


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def problem(secret: bytes, headers: Mapping[str, str], body: bytes, now: float,
            tolerance: float = DEFAULT_WINDOW_SECONDS) -> str | None:
    """Why the request's signature does not hold (None: it does): a timestamp missing or
    outside ``tolerance`` seconds of ``now``, or a signature that is not this body's."""
    stamp = headers.get(TIMESTAMP, "")
    if not stamp.isdigit() or len(stamp) > 12:
        return f"{TIMESTAMP} missing or not Unix seconds"
    if abs(now - int(stamp)) > tolerance:
        return f"{TIMESTAMP} is outside the {int(tolerance)} s window (check the clock; sign each attempt afresh)"
    if not hmac.compare_digest(sign(secret, stamp, body), headers.get(SIGNATURE, "")):
        return f"{SIGNATURE} does not match the body under this system's secret"
    return None


def verify(secret: bytes, headers: Mapping[str, str], body: bytes, now: float,
           tolerance: float = DEFAULT_WINDOW_SECONDS) -> bool:
    """What a receiver does (and our tests do): signature right and timestamp fresh."""
    return problem(secret, headers, body, now, tolerance) is None
