-- Platform tables every service has in its own schema: the transactional outbox
-- and the consumer inbox (DESIGN.md "Events"). Applied before the service's own
-- migrations, recorded under scope 'platform'.

create table outbox (
    id           bigserial primary key,
    event_id     uuid not null unique,
    event_type   text not null,
    topic        text not null,
    partition_key text not null,
    payload      bytea not null,
    headers      jsonb not null,
    created_at   timestamptz not null default now(),
    published_at timestamptz
);
create index outbox_unpublished on outbox (id) where published_at is null;

-- Wakes the relay at once instead of waiting for its next poll.
create function outbox_notify() returns trigger language plpgsql as $$
begin
    perform pg_notify(tg_table_schema || '_outbox', '');
    return null;
end $$;
create trigger outbox_notify after insert on outbox
    for each statement execute function outbox_notify();

-- One row per (consumer, event) processed, written in the handler's transaction:
-- a redelivered event finds its row and is a no-op.
create table inbox (
    consumer     text not null,
    event_id     uuid not null,
    topic        text not null,
    processed_at timestamptz not null default now(),
    primary key (consumer, event_id)
);

-- What went to a dead-letter topic, for operators (the topic keeps the message).
create table dead_letters (
    id           bigserial primary key,
    consumer     text not null,
    event_id     text,
    topic        text not null,
    kafka_partition int not null,
    kafka_offset bigint not null,
    error        text not null,
    attempts     int not null,
    dead_at      timestamptz not null default now(),
    replayed_at  timestamptz
);
