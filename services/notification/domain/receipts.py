"""SMS delivery receipts (状态报告), pure: the provider's signed callback is checked (HMAC-SHA256
of "<timestamp>.<body>" under the shared secret, the timestamp within five minutes, so a
captured callback cannot be replayed later) and read into receipts; a receipt moves a sent
delivery to delivered or failed (states.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from services.notification.domain.states import IllegalTransition, Status, Step, transition

MAX_SKEW = timedelta(minutes=5)
MAX_RECEIPTS = 500          # per callback; providers batch up to a few hundred


class BadReceipt(ValueError):
    """The callback is malformed; the message names the field."""


@dataclass(frozen=True)
class Receipt:
    delivery_id: UUID        # our out_id, echoed by the provider
    delivered: bool
    code: str                # the provider's status code, kept in the history
    reported_at: datetime | None


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: bytes, timestamp: str, body: bytes, signature: str, now: datetime) -> bool:
    if not timestamp.isdigit() or abs(now - datetime.fromtimestamp(int(timestamp), UTC)) > MAX_SKEW:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def parse(body: bytes, delivered_codes: Collection[str]) -> list[Receipt]:
    """``{"receipts": [{"out_id": ..., "status": "DELIVERED", "reported_at": ISO-8601}, ...]}``."""
    try:
        data = json.loads(body)
    except ValueError:
        raise BadReceipt("body: not JSON") from None
    items = data.get("receipts") if isinstance(data, dict) else None
    if not isinstance(items, list) or not 0 < len(items) <= MAX_RECEIPTS:
        raise BadReceipt(f"receipts: a list of 1-{MAX_RECEIPTS} receipts")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadReceipt(f"receipts[{i}]: an object")
        try:
            delivery_id = UUID(str(item.get("out_id", "")))
        except ValueError:
            raise BadReceipt(f"receipts[{i}].out_id: not a delivery id") from None
        code = str(item.get("status", ""))[:40]
        if not code:
            raise BadReceipt(f"receipts[{i}].status: required")
        reported = None
        if item.get("reported_at"):
            try:
                reported = datetime.fromisoformat(str(item["reported_at"]))
            except ValueError:
                raise BadReceipt(f"receipts[{i}].reported_at: not ISO-8601") from None
            if reported.tzinfo is None:
                raise BadReceipt(f"receipts[{i}].reported_at: needs a time zone")
        out.append(Receipt(delivery_id, code in delivered_codes, code, reported))
    return out


class NotYet(Exception):
    """The delivery's send is still being recorded: the provider should call again."""


def decide_receipt(status: Status, receipt: Receipt) -> Status | None:
    """The new status, or None when there is nothing to change (a repeated receipt, or
    one for a delivery that already ended). A receipt that overtakes the record of its
    own send (still pending) is refused for now, so the provider repeats it."""
    if status is Status.PENDING:
        raise NotYet(str(receipt.delivery_id))
    try:
        return transition(status, Step.RECEIPTED if receipt.delivered else Step.BOUNCE)
    except IllegalTransition:
        return None
