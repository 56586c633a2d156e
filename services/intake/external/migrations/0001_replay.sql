-- Signatures accepted within the window (liandiao.hmacsig): a second request with the same
-- signature is a replay, refused by every replica alike. Rows are kept until the window has
-- passed for them (expires_at) and then swept.
create table seen_signatures (
    system_id  text not null,
    signature  text not null,
    expires_at timestamptz not null,
    primary key (system_id, signature)
);
create index seen_signatures_expiry on seen_signatures (expires_at);
