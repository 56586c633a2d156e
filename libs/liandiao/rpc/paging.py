"""Page sizes, page tokens and the region filter of list queries, the one way every
service reads them.

Two token kinds, both opaque to clients: an offset (personnel, mediation,
notification) and a keyset cursor of (instant, id) for lists that grow at the top
while someone pages (intake). A token that is not one this module wrote, however
it is malformed (other digits, overflowing numbers, bad base64, deep JSON, a naive
or out-of-range instant), is INVALID_ARGUMENT naming the field, never a query."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from uuid import UUID

from liandiao.errors import FieldViolation, InvalidInput
from liandiao.ids import InvalidIdentifier, validate_region_prefix
from liandiao.rpc.convert import EARLIEST, LATEST
from liandiao.sizes import PAGE_TOKEN

DEFAULT_SIZE = 50
MAX_SIZE = 200
MAX_OFFSET = 10**9 - 1   # nine digits: far past any list, far inside PostgreSQL's bigint
_NOT_OURS = "is not a token from a previous page"


def page_size(value: int, field: str = "page.page_size") -> int:
    """0 means the default; 1..MAX_SIZE as asked."""
    if value == 0:
        return DEFAULT_SIZE
    if not 1 <= value <= MAX_SIZE:
        raise InvalidInput(FieldViolation(field, f"must be between 1 and {MAX_SIZE} (0 for {DEFAULT_SIZE})"))
    return value


def offset(token: str, field: str = "page.page_token") -> int:
    """The offset an offset token stands for; "" is the first page."""
    if not token:
        return 0
    # ASCII digits only: int() would also take "١٢", " 12", "1_2" and "+1".
    if not (token.isascii() and token.isdigit() and len(token) <= len(str(MAX_OFFSET))):
        raise InvalidInput(FieldViolation(field, _NOT_OURS))
    return int(token)


def next_offset(start: int, size: int, got: int) -> str:
    """The token of the page after one of ``got`` rows asked from ``start``; "" when it was the last."""
    following = start + size
    return str(following) if got == size and following <= MAX_OFFSET else ""


def region_filter(prefix: str, field: str = "region_prefix") -> str:
    """"" (no filter) or the digits of a region code: never a LIKE wildcard, never NUL."""
    if not prefix:
        return ""
    try:
        return validate_region_prefix(prefix)
    except InvalidIdentifier as exc:
        raise InvalidInput(FieldViolation(field, exc.reason)) from None


def encode_cursor(at: datetime, key: UUID) -> str:
    return base64.urlsafe_b64encode(json.dumps([at.isoformat(), str(key)]).encode()).decode()


def decode_cursor(token: str, field: str = "page.page_token") -> tuple[datetime, UUID] | None:
    """The (instant, id) after which the next page starts; None for the first page."""
    if not token:
        return None
    refused = InvalidInput(FieldViolation(field, _NOT_OURS))
    if len(token) > PAGE_TOKEN:
        raise refused
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, binascii.Error, RecursionError, UnicodeError):
        raise refused from None
    if not (isinstance(decoded, list) and len(decoded) == 2 and all(isinstance(v, str) for v in decoded)):
        raise refused
    try:
        at, key = datetime.fromisoformat(decoded[0]), UUID(decoded[1])
    except ValueError:
        raise refused from None
    if at.tzinfo is None or not EARLIEST <= at < LATEST:
        raise refused
    return at, key
