-- A mediation event that came before the dispute-assigned naming its parties (another topic:
-- after a restart the events consumer can be ahead of the assignments one). Kept here and told
-- when the assignment arrives, instead of telling no party. The payload is encrypted (an
-- agreement-effective carries the parties' details) and bound to its event id.
create table parked_events (
    event_id     uuid primary key,
    dispute_id   uuid not null,
    event_type   text not null,
    topic        text not null,
    occurred_at  timestamptz not null,
    region_code  text not null,
    traceparent  text not null default '',
    payload_enc  bytea not null,
    parked_at    timestamptz not null default now()
);
create index parked_events_by_dispute on parked_events (dispute_id);
