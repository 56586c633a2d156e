-- Notification's schema: every message owed to someone, and what became of it.
create table deliveries (
    delivery_id       uuid primary key,
    dispute_id        uuid not null,
    region_code       text not null,
    source_event_id   uuid not null,
    template          text not null,
    recipient_kind    text not null,     -- party | mediator | liaison_officer | court | police_station
    recipient_id      text not null,
    recipient_display text not null,     -- masked
    channel           text not null,
    body              text not null,
    status            text not null,     -- pending | sent | failed
    attempts          int not null default 0,
    last_error        text not null default '',
    next_attempt_at   timestamptz not null default now(),
    created_at        timestamptz not null default now(),
    delivered_at      timestamptz,
    unique (source_event_id, template, recipient_id)
);
create index deliveries_by_dispute on deliveries (dispute_id, created_at);
create index deliveries_due on deliveries (next_attempt_at) where status = 'pending';
