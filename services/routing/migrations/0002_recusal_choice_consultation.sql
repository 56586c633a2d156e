-- Recusal data in the roster projection, the parties' joint-choice window, the
-- mediators kept after disclosure, and joint consultations (会商).
alter table mediators add column relations text[] not null default '{}';

alter table assignments
    add column choose_by             timestamptz,
    add column choose_by_last_day    date,
    add column choose_by_provisional boolean not null default false;
create index assignments_choice_window on assignments (choose_by) where status = 'awaiting_choice';

-- SPC-Invited Art.15: kept only when every party agreed after the disclosure.
create table kept_after_disclosure (
    dispute_id       uuid not null references disputes (dispute_id),
    mediator_id      uuid not null,
    disclosure       text not null,
    agreed_party_ids text[] not null,
    recorded_at      timestamptz not null,
    primary key (dispute_id, mediator_id)
);

create table consultations (
    dispute_id          uuid primary key references disputes (dispute_id),
    status              text not null,      -- called | planned
    reasons             text[] not null,
    called_by           text not null,
    called_at           timestamptz not null,
    participant_org_ids text[] not null default '{}',
    plan                text not null default '',
    lead_mediator_id    text not null default '',
    co_mediator_ids     text[] not null default '{}',
    planned_at          timestamptz
);
