-- Channels, agents, duplicates and early warnings.
--  * every registration of a dispute is kept (registrations): the first, and later
--    ones from other channels linked to it as duplicates, with their referral;
--  * department referrals (name + reference);
--  * parties' agents (代理人), ID numbers encrypted like the parties';
--  * one row per open dispute under its duplicate key (type + sorted ID fingerprints),
--    whose primary key makes two concurrent registrations of the same dispute one;
--  * early warnings (预警, PML Art.25), their acknowledgements by liaison officers,
--    and the liaison officers projected from personnel's person-changed events.

alter table disputes add column referral_department text not null default '';
-- Mediation ended (agreement effective or mediation failed): no longer open for duplicates.
alter table disputes add column closed_at timestamptz;

alter table parties add column service_address_masked text not null default '';

create table agents (
    agent_id      uuid primary key,
    dispute_id    uuid not null references disputes (dispute_id),
    party_id      uuid not null references parties (party_id),
    position      int not null,
    name          text not null,
    id_type       text not null,
    id_number_enc bytea not null,
    id_fp         text not null,
    id_masked     text not null,
    phone_enc     bytea,
    phone_masked  text not null default '',
    authority     text not null,
    scope         text not null default '',
    unique (party_id, position)
);
create index agents_by_dispute on agents (dispute_id);
create index agents_by_id_fp on agents (id_fp);

-- request_id is the idempotency key of every registration, linked or not.
create table registrations (
    request_id            text primary key,
    dispute_id            uuid not null references disputes (dispute_id),
    linked                boolean not null,
    source                text not null,
    court_procedure       text,
    referring_org_id      text not null default '',
    referring_person_id   text not null default '',
    referral_reference    text not null default '',
    referral_department   text not null default '',
    registering_person_id text not null default '',
    registering_org_id    text not null default '',
    risk_score            int not null default 0,
    risk_reasons          text[] not null default '{}',
    registered_at         timestamptz not null
);
create index registrations_by_dispute on registrations (dispute_id, registered_at);
create index registrations_by_referrer on registrations (referring_org_id, dispute_id) where referring_org_id <> '';

insert into registrations (request_id, dispute_id, linked, source, court_procedure, referring_org_id,
                           referring_person_id, referral_reference, registering_person_id, registering_org_id,
                           risk_score, risk_reasons, registered_at)
select request_id, dispute_id, false, source, court_procedure, referring_org_id, referring_person_id,
       referral_reference, registering_person_id, registering_org_id, risk_score, risk_reasons, registered_at
from disputes;

-- The key is claimed first, before the dispute row of the same transaction exists:
-- a concurrent registration with the same key waits on it, then links (deferred FK).
create table dispute_keys (
    duplicate_key text primary key,
    dispute_id    uuid not null unique references disputes (dispute_id) deferrable initially deferred
);

-- Disputes registered before this migration get their key too, computed as
-- services.intake.domain.rules.duplicate_key does; of two with one key the first keeps it.
insert into dispute_keys (duplicate_key, dispute_id)
select distinct on (k.duplicate_key) k.duplicate_key, k.dispute_id
from (
    select d.dispute_id, d.registered_at,
           encode(sha256(convert_to(d.dispute_type || '|' ||
                  string_agg(f.id_fp, ',' order by f.id_fp collate "C"), 'UTF8')), 'hex') as duplicate_key
    from disputes d
    join (select distinct dispute_id, id_fp from parties where coalesce(id_fp, '') <> '') f
      on f.dispute_id = d.dispute_id
    where d.status = 'registered'
    group by d.dispute_id
    having count(*) >= 2
) k
order by k.duplicate_key, k.registered_at, k.dispute_id;

create table warnings (
    dispute_id         uuid primary key references disputes (dispute_id),
    region_code        text not null,
    risk_score         int not null,
    reasons            text[] not null default '{}',
    flagged_at         timestamptz not null,
    escalation_level   int not null default 0,
    escalated_at       timestamptz,
    -- a hint for the sweep, recomputed by the escalation rules from flagged_at
    next_escalation_at timestamptz,
    acknowledged_at    timestamptz   -- when the last required office acknowledged
);
create index warnings_due on warnings (next_escalation_at) where next_escalation_at is not null;

create table warning_acknowledgements (
    dispute_id        uuid not null references warnings (dispute_id),
    office            text not null,
    liaison_person_id text not null,
    organization_id   text not null,
    acknowledged_at   timestamptz not null,
    recorded_by       text not null,
    primary key (dispute_id, office)
);

-- People of police stations, tribunals and judicial offices as personnel last
-- announced them; active = holds the liaison-officer role and is not removed.
create table liaison_officers (
    person_id       text primary key,
    organization_id text not null,
    office          text not null,
    office_region   text not null,
    active          boolean not null,
    updated_at      timestamptz not null
);
