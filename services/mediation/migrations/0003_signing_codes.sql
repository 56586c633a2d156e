-- One-time codes for online e-signatures (SPC-Online Art.19; domain/signing_code.py): only
-- the code's salted SM3 is kept, with its expiry, wrong entries and use.
create table signing_challenges (
    challenge_id uuid primary key,
    agreement_id text not null,
    party_id     text not null,
    digest       text not null,
    code_hash    text not null,
    issued_at    timestamptz not null,
    expires_at   timestamptz not null,
    attempts     integer not null default 0,
    used_at      timestamptz
);
create index signing_challenges_signer on signing_challenges (agreement_id, party_id, issued_at desc);
