-- Notification on real channels (issue 10): the full delivery state machine, its history,
-- one delivery per event x recipient x channel, and local projections of recipients.
alter table deliveries add column locale text not null default 'zh-CN';
alter table deliveries add column body_masked text not null default '';   -- the recipient's name masked: what listings show
alter table deliveries add column address_enc bytea;            -- phone / e-mail / webhook URL, encrypted
alter table deliveries add column expires_at timestamptz;
alter table deliveries add column permanent boolean not null default false;
alter table deliveries drop constraint deliveries_source_event_id_template_recipient_id_key;
alter table deliveries add constraint deliveries_once unique (source_event_id, recipient_id, channel);
create index deliveries_dead on deliveries (created_at) where status in ('failed', 'expired');

-- Every change of a delivery's status and every attempt, for the operator and the performance file.
create table delivery_history (
    delivery_id uuid not null references deliveries (delivery_id) on delete cascade,
    at          timestamptz not null,
    status      text not null,
    attempt     int not null,
    detail      text not null default ''
);
create index delivery_history_by_delivery on delivery_history (delivery_id, at);

-- Projection of personnel's person-changed: who can be told, where (liaison officers, mediators).
create table people (
    person_id         text primary key,
    name              text not null,
    organization_id   text not null,
    organization_kind text not null,
    roles             text[] not null,
    region_codes      text[] not null,
    language          text not null,
    masked_phone      text not null,
    active            boolean not null,
    updated_at        timestamptz not null
);
create index people_liaison on people using gin (region_codes) where active and 'liaison_officer' = any (roles);

-- Projection of intake's dispute-registered (and routing's assignment): what later events lack.
create table disputes (
    dispute_id       uuid primary key,
    region_code      text not null,
    dispute_type     text not null,
    source           text not null,
    referring_org_id text not null,
    mediator_id      text not null default '',
    mediator_name    text not null default '',
    organization_id  text not null default ''
);
create table parties (
    dispute_id   uuid not null references disputes (dispute_id),
    party_id     text not null,
    display_name text not null,
    language     text not null,
    masked_phone text not null,
    primary key (dispute_id, party_id)
);

-- Addresses of recipients (a party's phone, a person's e-mail, an office's system), encrypted,
-- bound to their row: context 'contact.address:<contact_id>'.
create table contacts (
    contact_id   uuid primary key,
    recipient_id text not null,
    channel      text not null,
    address_enc  bytea not null,
    unique (recipient_id, channel)
);
