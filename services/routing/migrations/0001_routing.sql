-- Routing's schema: its projection of the roster (from personnel's events), the
-- disputes it has to place (from intake's events), and its assignments and offers.

create table mediators (
    person_id       uuid primary key,
    name            text not null,
    organization_id text not null,
    roles           text[] not null,
    specialties     text[] not null,
    languages       text[] not null,
    region_codes    text[] not null,
    roster_status   text not null,
    on_duty         boolean not null,
    updated_at      timestamptz not null
);
create index mediators_by_region on mediators using gin (region_codes);

create table disputes (
    dispute_id    uuid primary key,
    region_code   text not null,
    dispute_type  text not null,
    payload       bytea not null,   -- the DisputeRegistered event as received
    trace_parent  text not null,    -- the dispute's journey trace
    registered_at timestamptz not null
);

create table assignments (
    dispute_id          uuid primary key references disputes (dispute_id),
    assignment_id       uuid not null unique,
    status              text not null,          -- offered | accepted | unassigned
    mediator_id         uuid,
    organization_id     text not null default '',
    offer_round         int not null,
    offered_at          timestamptz not null,
    respond_by          timestamptz,            -- exclusive instant (00:00 CST after the last day)
    respond_by_last_day date,
    respond_by_provisional boolean not null default false,  -- next year's holidays not loaded yet
    accepted_at         timestamptz,
    reason              text not null
);
create index assignments_open_offers on assignments (respond_by) where status = 'offered';
create index assignments_by_mediator on assignments (mediator_id) where status in ('offered', 'accepted');

-- Every offer ever made and how it ended: the performance file counts declines
-- without reason from here (SPC-Invited Art.28).
create table offers (
    dispute_id    uuid not null references disputes (dispute_id),
    offer_round   int not null,
    mediator_id   uuid not null,
    offered_at    timestamptz not null,
    outcome       text not null default 'open',   -- open | accepted | declined | expired
    outcome_at    timestamptz,
    reason        text not null default '',
    primary key (dispute_id, offer_round)
);
