"""protobuf Timestamp <-> aware datetime, the one conversion every service needs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

from google.protobuf.timestamp_pb2 import Timestamp


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


def aware(ts: Timestamp) -> datetime:
    """The instant of a Timestamp as an aware UTC datetime."""
    return ts.ToDatetime(tzinfo=UTC)
