-- False-mediation signals for the judge (issue 9; domain/signals.py). Computed when an
-- application is filed from the traces of earlier ones and kept on it, so the judge sees
-- what was known at filing with its evidence. Traces hold fingerprints only (keyed hashes
-- from intake and mediation), never names, numbers or addresses.
alter table applications add column signals jsonb not null default '[]';
-- The acceptance's or refusal's reasons and the judge's reason for departing from the
-- admissibility proposal (SPC-Interp Art.355: "may override it only with a recorded reason").
alter table applications add column admission jsonb;

create table application_traces (
    application_id uuid primary key references applications (application_id),
    agreement_id   text not null,
    filed_at       timestamptz not null,
    dispute_type   text not null,
    prefecture     text not null,          -- of the mediation organization's seat
    region_code    text not null,
    amount_fen     bigint not null,        -- the payment terms' total; 0 when none
    parties        jsonb not null,         -- [[id, phone, address fingerprint], ...]
    id_fps         text[] not null,
    phone_fps      text[] not null,
    address_fps    text[] not null,
    mediator_ids   text[] not null
);
create index application_traces_ids on application_traces using gin (id_fps);
create index application_traces_phones on application_traces using gin (phone_fps);
create index application_traces_addresses on application_traces using gin (address_fps);
create index application_traces_mediators on application_traces using gin (mediator_ids);
create index application_traces_amounts on application_traces (dispute_type, prefecture, filed_at desc)
    where amount_fen > 0;
