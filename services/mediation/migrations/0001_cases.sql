-- Mediation's schema: cases, from the mediator's acceptance to their end.
create table cases (
    case_id          uuid primary key,
    dispute_id       uuid not null unique,
    region_code      text not null,
    dispute_type     text not null,
    source           text not null,
    court_procedure  text not null default '',
    mediator_id      text not null,
    organization_id  text not null default '',
    referring_org_id text not null default '',
    status           text not null,
    opened_at        timestamptz not null,      -- the mediator's acceptance: the clock starts
    period_name      text not null,
    period_source    text not null,
    deadline_last_day date not null,
    deadline_at      timestamptz not null,      -- exclusive: 00:00 CST after the last day
    deadline_provisional boolean not null,      -- next year's holidays not loaded yet
    parties          bytea not null,            -- repeated PartyRef as received (no raw personal data)
    trace_parent     text not null
);
create index cases_by_mediator on cases (mediator_id, status);
create index cases_by_deadline on cases (deadline_at) where status = 'open';
