-- Intake's own schema: disputes as registered, their parties and consents, the
-- dispute-type dictionary. Personal data columns ending in _enc are AES-GCM
-- ciphertexts (liandiao.pii); *_fp are keyed fingerprints for equality look-ups.

create table disputes (
    dispute_id            uuid primary key,
    request_id            text not null unique,
    region_code           text not null,
    prefecture            text not null,
    dispute_type          text not null,
    source                text not null,
    court_procedure       text,
    referring_org_id      text not null default '',
    referring_person_id   text not null default '',
    referral_reference    text not null default '',
    facts                 text not null,
    requested_outcome     text not null default '',
    amount_fen            bigint not null default 0,
    status                text not null,
    risk_score            int not null default 0,
    risk_reasons          text[] not null default '{}',
    registering_person_id text not null default '',
    registering_org_id    text not null default '',
    chosen_mediator_id    text not null default '',
    trace_parent          text not null default '',
    registered_at         timestamptz not null
);
create index disputes_by_region on disputes (prefecture, region_code, registered_at desc);
create index disputes_by_referrer on disputes (referring_org_id, registered_at desc);

create table parties (
    party_id            uuid primary key,
    dispute_id          uuid not null references disputes (dispute_id),
    position            int not null,
    kind                text not null,
    side                text not null,
    name                text not null,
    sex                 text not null default '',
    ethnicity           text not null default '',
    age                 int not null default 0,
    occupation          text not null default '',
    language            text not null default 'zh',
    id_type             text not null default '',
    id_number_enc       bytea,
    id_fp               text,
    id_masked           text not null default '',
    no_id_reason        text not null default '',
    phone_enc           bytea,
    phone_masked        text not null default '',
    address_enc         bytea,
    service_address_enc bytea,
    service_address_confirmed boolean not null default false,
    consent             text not null,
    disclosed_at        timestamptz,
    routes_told         text[] not null default '{}',
    unique (dispute_id, position)
);
create index parties_by_id_fp on parties (id_fp);
