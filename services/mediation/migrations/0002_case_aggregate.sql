-- Issue 8: the whole case. The case keeps its own copy of the dispute and its parties
-- (case_parties; no more routing's serialized parties), its state per domain/states.py, and
-- its aggregate (mediation's own JSON document, personal data encrypted inside) next to
-- queryable projections: timeline, sessions, agreements, signatures, seals, terminations,
-- follow-ups; documents and messages are their own append-only records.

alter table cases add column state text;
update cases set state = case status when 'open' then 'opened' when 'agreement' then 'agreement_effective'
                                    else status end;
alter table cases alter column state set not null;
alter table cases add column aggregate jsonb;            -- null: a legacy row, converted at start
alter table cases add column row_version int not null default 0;
alter table cases add column mediator_ids text[] not null default '{}';
alter table cases add column next_sweep_at timestamptz;  -- when the sweep should look again
alter table cases alter column parties drop not null;   -- legacy routing bytes, cleared once converted
alter table cases add column updated_at timestamptz not null default now();
update cases set mediator_ids = array[mediator_id], next_sweep_at = opened_at where state = 'opened';
create index cases_by_state on cases (state, opened_at desc);
create index cases_sweep on cases (next_sweep_at) where next_sweep_at is not null;
create index cases_by_mediators on cases using gin (mediator_ids);

create table case_parties (
    case_id          uuid not null references cases (case_id),
    party_id         text not null,
    side             text not null,
    kind             text not null,
    name             bytea not null,   -- PII: mediation.case_parties.name:<case_id>:<party_id>
    masked_name      text not null,
    masked_id_number text not null default '',
    id_fingerprint   text not null default '',
    language         text not null default 'zh',
    primary key (case_id, party_id)
);
create index case_parties_by_fingerprint on case_parties (id_fingerprint) where id_fingerprint <> '';

create table case_timeline (
    case_id         uuid not null references cases (case_id),
    seq             int not null,
    at              timestamptz not null,
    action          text not null,
    from_state      text,
    to_state        text not null,
    person_id       text not null,
    organization_id text not null,
    actor_role      text not null,
    reason          text not null,
    primary key (case_id, seq)
);

create table case_sessions (
    session_id     text primary key,
    case_id        uuid not null references cases (case_id),
    number         int not null,
    state          text not null,
    scheduled_for  timestamptz not null,
    venue_kind     text not null,      -- in_person, video
    publicity      text not null,
    times_rescheduled int not null default 0
);
create index case_sessions_by_case on case_sessions (case_id, number);

create table session_records (
    session_id   text primary key references case_sessions (session_id),
    started_at   timestamptz not null,
    ended_at     timestamptz not null,
    participants int not null,
    result       text not null
);

create table agreements (
    agreement_id  text primary key,
    case_id       uuid not null references cases (case_id),
    version       int not null,
    mode          text not null,
    state         text not null,
    template_key  text not null,
    digest        text not null,     -- SM3 hex of the canonical document
    drafted_at    timestamptz not null,
    agreed_on     date,
    effective_on  date,
    effective_at  timestamptz,
    copies        int not null
);
create index agreements_by_case on agreements (case_id);

create table agreement_signatures (
    agreement_id text not null references agreements (agreement_id),
    version      int not null,
    signer_id    text not null,
    role         text not null,
    method       text not null,
    signed_at    timestamptz not null,
    digest       text not null,
    recorded_by  text not null,
    primary key (agreement_id, version, signer_id)
);

create table agreement_seals (
    agreement_id text not null references agreements (agreement_id),
    version      int not null,
    key_id       text not null,
    signature    bytea not null,
    digest       text not null,
    applied_at   timestamptz not null,
    primary key (agreement_id, version)
);

-- One copy per party plus one for the committee (PML Art.29 para.2), once effective.
create table agreement_copies (
    agreement_id text not null references agreements (agreement_id),
    copy_no      int not null,
    holder       text not null,      -- a party id, or 'committee'
    primary key (agreement_id, copy_no)
);

create table terminations (
    case_id          uuid primary key references cases (case_id),
    ground           text not null,
    reason           text not null,
    routes_told      text[] not null,
    terminated_at    timestamptz not null,
    returned_to_court text not null default '',
    court_next_step  text not null default ''
);

create table follow_ups (
    visit_id      text primary key,
    case_id       uuid not null references cases (case_id),
    visited_on    date not null,
    result        text not null,
    next_visit_on date,
    recorded_at   timestamptz not null
);

create table case_documents (
    document_id   uuid primary key,
    case_id       uuid not null references cases (case_id),
    kind          text not null,
    file_name     text not null,
    media_type    text not null,
    size_bytes    int not null,
    sha256        text not null,
    sm3           text not null,
    content       bytea not null,
    uploaded_by   text not null,
    uploader_role text not null,
    uploaded_at   timestamptz not null,
    description   text not null default '',
    replaces_document_id uuid references case_documents (document_id),
    unique (case_id, sha256),                 -- the same file twice is the first upload
    unique (replaces_document_id)             -- a version is superseded once; both are kept
);
create index case_documents_by_case on case_documents (case_id, uploaded_at);

create table case_messages (
    message_id  uuid primary key,
    case_id     uuid not null references cases (case_id),
    party_id    text not null,
    author_id   text not null,
    author_role text not null,
    body        bytea not null,      -- PII: mediation.case_messages.body:<message_id>
    posted_at   timestamptz not null
);
create index case_messages_by_case on case_messages (case_id, posted_at);
