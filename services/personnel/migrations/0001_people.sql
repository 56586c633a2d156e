-- Personnel's schema: organizations and people, with their rosters (名册).
create table organizations (
    organization_id        uuid primary key,
    kind                   text not null,
    name                   text not null,
    region_code            text not null,
    prefecture             text not null,
    credit_code            text not null default '',
    parent_organization_id uuid references organizations (organization_id),
    committee_level        text not null default '',
    created_at             timestamptz not null default now()
);
create index organizations_by_region on organizations (region_code);

create table people (
    person_id        uuid primary key,
    name             text not null,
    organization_id  uuid not null references organizations (organization_id),
    roles            text[] not null,
    specialties      text[] not null default '{}',
    languages        text[] not null default '{zh}',
    region_codes     text[] not null default '{}',
    roster_status    text not null default 'active',
    removal_reason   text not null default '',
    phone_enc        bytea,
    phone_masked     text not null default '',
    id_number_enc    bytea,
    id_fp            text,
    on_duty          boolean not null default true,
    version          int not null default 1,
    updated_at       timestamptz not null default now()
);
create index people_by_org on people (organization_id);
create index people_by_regions on people using gin (region_codes);
