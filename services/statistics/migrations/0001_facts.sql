-- The statistics read model (issue 11): one row of facts per dispute, filled from the
-- events of intake, routing, mediation and confirmation in whatever order they arrive
-- (each event sets only its own columns), the warnings' acknowledgements, and the
-- counts the police, court and petition systems import. No raw personal data: party
-- names are kept masked, as the ledger shows them.

create table dispute_facts (
    dispute_id          uuid primary key,
    region_code         text not null default '',   -- natural length (2/4/6/9/12 digits)
    dispute_type        text not null default '',
    source              text not null default '',   -- liandiao.rpc.enums CASE_SOURCE values
    amount_fen          bigint not null default 0,
    referring_org_id    text not null default '',
    organization_id     text not null default '',   -- the mediation organization that holds it
    parties_masked      text not null default '',   -- "张* (110105********002X); 李*"
    registered_at       timestamptz,
    assigned_at         timestamptz,
    mediator_id         text not null default '',
    mediation_deadline  timestamptz,                -- from mediation's expiry reminder
    agreement_at        timestamptz,
    terminated_at       timestamptz,
    termination_ground  text not null default '',
    failure             boolean,
    returned_to_court_at timestamptz,
    application_filed_at timestamptz,
    accept_by           timestamptz,
    accepted_at         timestamptz,
    refused_at          timestamptz,
    decide_by           timestamptz,
    ruling_at           timestamptz,
    ruling_outcome      text not null default '',   -- valid / rejected
    warning_flagged_at  timestamptz,
    warning_level       int not null default 0,
    warning_acknowledged_at timestamptz,             -- every required office acknowledged
    updated_at          timestamptz not null default now()
);
create index dispute_facts_region on dispute_facts (region_code text_pattern_ops);
create index dispute_facts_registered on dispute_facts (registered_at);
create index dispute_facts_org on dispute_facts (organization_id);
create index dispute_facts_referrer on dispute_facts (referring_org_id);

create table warning_acks (
    dispute_id      uuid not null,
    office          text not null,
    region_code     text not null,
    organization_id text not null default '',
    flagged_at      timestamptz not null,
    acknowledged_at timestamptz not null,
    primary key (dispute_id, office)
);
create index warning_acks_region on warning_acks (region_code text_pattern_ops, acknowledged_at);

-- Offers a mediator left unanswered (routing's assignment-expired), one row each.
create table offer_expiries (
    assignment_id text primary key,
    dispute_id    uuid not null,
    expired_at    timestamptz not null
);
create index offer_expiries_dispute on offer_expiries (dispute_id);

-- One row per importing system, region and month; an import replaces the count.
create table external_figures (
    source_system text not null check (source_system in ('police', 'court', 'petition')),
    region_code   text not null,
    month         date not null,              -- the first day of the month (CST)
    count         bigint not null check (count >= 0),
    imported_by   text not null,
    imported_at   timestamptz not null default now(),
    primary key (source_system, region_code, month)
);
