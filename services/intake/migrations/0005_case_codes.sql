-- The parties' case code (一案一码, issue 11), the status a party reads with it, and the
-- count of failed look-ups that locks a guesser out.
--  * case_codes: one code per dispute. code_fp is a keyed hash (HMAC-SHA256 under the
--    fingerprint key) of the canonical code: the look-up key, useless to a reader of
--    the database without the key. code_enc is the code itself, AES-GCM under the PII
--    key bound to the dispute, so a clerk can print the receipt again. Disputes
--    registered before this migration get theirs at start (Intake.issue_missing_codes).
--  * case_status (+ case_status_sessions): intake's projection of the events that say
--    where a dispute is; each fact in its own columns with its time, because events of
--    different services arrive in no guaranteed order.
--  * lookup_failures: failed look-ups per key ("code:<hash>" or "client:<hash>"), the
--    client address as a keyed hash too. In the database so the limit holds across replicas.

create table case_codes (
    dispute_id uuid primary key references disputes (dispute_id),
    code_fp    text not null unique,
    code_enc   bytea not null,
    issued_at  timestamptz not null
);

create table case_status (
    dispute_id             uuid primary key references disputes (dispute_id),
    assigned_at            timestamptz,
    mediator_id            text not null default '',
    mediator_name          text not null default '',
    organization_id        text not null default '',
    agreement_id           text not null default '',
    agreement_effective_at timestamptz,
    agreement_effective_on date,
    -- [{"obligor": party id, "obligee": party id, "deadline": "YYYY-MM-DD" or ""}]
    terms                  jsonb not null default '[]',
    ended_at               timestamptz,
    ended_in_failure       boolean not null default true,
    routes_told            text[] not null default '{}',
    returned_at            timestamptz,
    court_next_step        text not null default '',
    filed_at               timestamptz,
    accept_by              date,
    accepted_at            timestamptz,
    decide_by              date,
    case_number            text not null default '',
    application_refused_at timestamptz,
    ruled_at               timestamptz,
    ruling_valid           boolean not null default false,
    enforcement_by         date,
    updated_at             timestamptz not null
);

create table case_status_sessions (
    session_id    text primary key,
    dispute_id    uuid not null references disputes (dispute_id),
    number        int not null,
    scheduled_for timestamptz not null,
    place         text not null default '',
    video_link    text not null default '',
    announced_at  timestamptz not null   -- the event's time: a late, older announcement loses
);
create index case_status_sessions_by_dispute on case_status_sessions (dispute_id, scheduled_for);

create table lookup_failures (
    key               text primary key,
    failures          int not null,
    window_started_at timestamptz not null,
    locked_until      timestamptz
);
