"""protobuf Timestamp <-> aware datetime, the one conversion every service needs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

from google.protobuf.timestamp_pb2 import Timestamp

from liandiao.errors import FieldViolation, InvalidInput

# The instants a request may carry. A Timestamp holds years 1 to 9999 (and, on the
# wire, far more); nothing this platform records lies outside these two centuries,
# and keeping well inside datetime's range leaves room for China time (+8 h) and
# deadline arithmetic on every value that gets through.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_EARLIEST_S, _LATEST_S = int(EARLIEST.timestamp()), int(LATEST.timestamp())


@overload
def timestamp(value: datetime) -> Timestamp: ...
@overload
def timestamp(value: None) -> None: ...
@overload
def timestamp(value: datetime | None) -> Timestamp | None: ...


def timestamp(value: datetime | None) -> Timestamp | None:
    """None stays None, so an optional field stays unset."""
    if value is None:
        return None
    out = Timestamp()
    out.FromDatetime(value)
    return out


def timestamp_problem(ts: Timestamp) -> str | None:
    """Why a Timestamp from a request cannot be taken, or None when it can."""
    if not 0 <= ts.nanos < 1_000_000_000:
        return "nanos must be between 0 and 999999999"
    if not _EARLIEST_S <= ts.seconds < _LATEST_S:
        return f"must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}"
    return None


def aware(ts: Timestamp, field: str | None = None) -> datetime:
    """The instant of a Timestamp as an aware UTC datetime.

    ``field``: the request field it came from; a value outside the supported range
    is then refused as InvalidInput naming it (events, trusted, omit it)."""
    if field is not None:
        problem = timestamp_problem(ts)
        if problem:
            raise InvalidInput(FieldViolation(field, problem))
    return ts.ToDatetime(tzinfo=UTC)
