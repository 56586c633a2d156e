"""Message headers carried by every event (DESIGN.md "Events")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

EVENT_ID = "event-id"
EVENT_TYPE = "event-type"
OCCURRED_AT = "occurred-at"
DISPUTE_ID = "dispute-id"
REGION_CODE = "region-code"
TRACEPARENT = "traceparent"
CORRELATION_ID = "correlation-id"


@dataclass(frozen=True)
class Envelope:
    event_id: str
    event_type: str
    occurred_at: datetime
    dispute_id: str
    region_code: str
    traceparent: str
    correlation_id: str

    def headers(self) -> dict[str, str]:
        return {
            EVENT_ID: self.event_id,
            EVENT_TYPE: self.event_type,
            OCCURRED_AT: self.occurred_at.isoformat(),
            DISPUTE_ID: self.dispute_id,
            REGION_CODE: self.region_code,
            TRACEPARENT: self.traceparent,
            CORRELATION_ID: self.correlation_id,
        }

    @classmethod
    def from_headers(cls, headers: dict[str, str]) -> Envelope:
        """Raises KeyError/ValueError on a message without the platform headers."""
        return cls(
            event_id=headers[EVENT_ID],
            event_type=headers[EVENT_TYPE],
            occurred_at=datetime.fromisoformat(headers[OCCURRED_AT]),
            dispute_id=headers.get(DISPUTE_ID, ""),
            region_code=headers.get(REGION_CODE, ""),
            traceparent=headers.get(TRACEPARENT, ""),
            correlation_id=headers.get(CORRELATION_ID, ""),
        )
