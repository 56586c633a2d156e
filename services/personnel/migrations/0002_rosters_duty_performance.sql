-- Sector committees, lawyer licences, declared relations, court rosters (名册),
-- the duty rota and the performance file (业绩档案).

alter table organizations add column sector text not null default '';

-- Lawyer licence (17 digits): encrypted like every identifier of a person; the
-- keyed fingerprint keeps one licence to one person.
alter table people add column licence_enc bytea;
alter table people add column licence_masked text not null default '';
alter table people add column licence_fp text;
create unique index people_licence_once on people (licence_fp) where licence_fp is not null;
create index people_liaison_by_org on people (organization_id) where 'liaison_officer' = any(roles);

-- What a person declared that may call for recusal (SPC-Invited Art.15): only the
-- keyed fingerprint of the related ID, never the number.
create table relations (
    person_id      uuid not null references people (person_id),
    id_fingerprint text not null,
    kind           text not null,
    note           text not null default '',
    declared_at    timestamptz not null,
    primary key (person_id, id_fingerprint)
);

-- One court's roster (SPC-Online Art.5): an invited mediator or an invited organization.
create table roster_entries (
    entry_id        uuid primary key,
    court_org_id    uuid not null references organizations (organization_id),
    person_id       uuid references people (person_id),
    member_org_id   uuid references organizations (organization_id),
    dispute_scope   text[] not null,
    fee_charging    boolean not null default false,
    fee_standard    text not null default '',
    status          text not null default 'active',
    removal_reason  text not null default '',
    listed_at       timestamptz not null,
    removed_at      timestamptz,
    check ((person_id is null) <> (member_org_id is null))
);
create unique index roster_entries_active_once on roster_entries (court_org_id, coalesce(person_id, member_org_id))
    where status = 'active';
create index roster_entries_by_person on roster_entries (person_id) where person_id is not null;

-- The duty rota: a lawyer or legal-service worker at an office on a China calendar day.
create table duty_days (
    person_id     uuid not null references people (person_id),
    office_org_id uuid not null references organizations (organization_id),
    duty_date     date not null,
    primary key (person_id, office_org_id, duty_date)
);
create index duty_days_by_office on duty_days (office_org_id, duty_date);

-- The performance file, fed by routing's and mediation's events. No foreign keys
-- to people: an event may name a person this database has not seen.
create table performance_cases (
    dispute_id    uuid not null,
    person_id     uuid not null,
    assignment_id text not null default '',
    dispute_type  text not null default '',
    region_code   text not null default '',
    accepted_at   timestamptz not null,
    primary key (dispute_id, person_id)
);
create index performance_cases_by_person on performance_cases (person_id, accepted_at desc);

-- The outcome of a dispute's mediation; it belongs to the mediator who accepted it last.
create table performance_outcomes (
    dispute_id  uuid primary key,
    outcome     text not null,          -- agreement | failed
    detail      text not null default '',
    outcome_at  timestamptz not null
);

-- Offers left unanswered (SPC-Online Art.12): a decline without reason (SPC-Invited Art.28).
create table performance_lapses (
    dispute_id  uuid not null,
    person_id   uuid not null,
    expired_at  timestamptz not null,
    primary key (dispute_id, person_id, expired_at)
);
create index performance_lapses_by_person on performance_lapses (person_id, expired_at desc);

create table feedback (
    feedback_id uuid primary key,
    person_id   uuid not null references people (person_id),
    dispute_id  uuid not null,
    score       int not null check (score between 1 and 5),
    complaint   text not null default '',
    recorded_by text not null default '',
    recorded_at timestamptz not null
);
create index feedback_by_person on feedback (person_id, recorded_at desc);

create table trainings (
    training_id uuid primary key,
    person_id   uuid not null references people (person_id),
    course      text not null,
    hours       numeric(5, 1) not null check (hours > 0),
    held_on     date not null,
    recorded_at timestamptz not null
);
create index trainings_by_person on trainings (person_id, held_on desc);

create table evaluations (
    evaluation_id uuid primary key,
    person_id     uuid not null references people (person_id),
    period        text not null,
    result        text not null,
    notes         text not null default '',
    recorded_at   timestamptz not null,
    unique (person_id, period)
);
