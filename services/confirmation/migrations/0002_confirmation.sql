-- Judicial confirmation, built (issue 9). The application is kept as its current state
-- (the domain folds events into it); deadlines are stored as the instants that started
-- their clocks, recomputed on load with the holiday calendar, and as their expiry for
-- the sweep's index.
drop table applications;

-- Courts that confirm (a directory the operators load; personnel owns organizations,
-- confirmation needs level, seat region, tribunal -> basic court and the case code).
create table courts (
    court_id             text primary key,
    name                 text not null,
    region_code          text not null,
    level                text not null check (level in ('basic', 'intermediate', 'high')),
    basic_court_id       text references courts (court_id),
    jurisdiction_regions text[] not null default '{}',
    case_code            text not null default ''
);

-- Mediation's effective agreements, as confirmation needs them (ConfirmableAgreement).
create table agreements (
    agreement_id    text primary key,
    dispute_id      uuid not null,
    region_code     text not null,
    organization_id text not null,
    party_ids       text[] not null,
    agent_ids       text[] not null,
    payload         bytea not null,
    received_at     timestamptz not null
);

create table applications (
    application_id          uuid primary key,
    agreement_id            text not null references agreements (agreement_id),
    dispute_id              uuid not null,
    court_id                text not null references courts (court_id),
    court_ids               text[] not null,  -- the court and, for a tribunal, its basic court
    region_code             text not null,
    organization_id         text not null,
    party_ids               text[] not null,
    agent_ids               text[] not null,
    status                  text not null,
    filed_at                timestamptz not null,
    applicants              jsonb not null,
    required                jsonb not null,
    submitted               jsonb not null,
    accept_clock_from       timestamptz not null,
    accept_by               timestamptz not null,
    supplement_items        jsonb not null default '[]',
    supplement_requested_at timestamptz,
    supplement_days         integer,
    supplement_by           timestamptz,
    accepted_at             timestamptz,
    judge_id                text not null default '',
    case_number             text unique,
    decide_by               timestamptz,
    extended                boolean not null default false,
    refusal                 jsonb,
    withdrawal_reason       text not null default '',
    reminders_sent          jsonb not null default '[]',
    updated_at              timestamptz not null
);
create index applications_agreement on applications (agreement_id);
create index applications_court on applications (court_id, filed_at desc);
create index applications_list on applications (filed_at desc, application_id desc);
create index applications_supplement_due on applications (supplement_by)
    where status in ('awaiting_supplement', 'review_awaiting_supplement');

-- Case numbers: one gapless sequence per court code, year and case type. The upsert
-- takes the row lock until commit, so two replicas never draw the same number and a
-- rolled-back acceptance gives its number back.
create table case_counters (
    court_code text not null,
    year       integer not null,
    case_type  text not null,
    last       integer not null,
    primary key (court_code, year, case_type)
);

create table rulings (
    ruling_id       uuid primary key,
    application_id  uuid not null unique references applications (application_id),
    case_number     text not null unique,
    court_id        text not null,
    outcome         text not null,
    ground          text,
    judge_id        text not null,
    issued_at       timestamptz not null,
    document        bytea not null,    -- canonical liandiao-ruling/1 bytes, what was signed
    document_digest text not null,     -- SM3, hex
    key_id          text not null,
    signature       bytea not null     -- SM2, DER
);

create table objections (
    objection_id   uuid primary key,
    ruling_id      uuid not null references rulings (ruling_id),
    application_id uuid not null references applications (application_id),
    objector       text not null,
    third_party    boolean not null,
    grounds        text not null,
    filed_at       timestamptz not null,
    window_last_day date not null
);
