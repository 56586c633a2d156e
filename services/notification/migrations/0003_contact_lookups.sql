-- Contact addresses read from intake (parties) and personnel (staff) over gRPC (issue 10):
-- when each recipient's were last read, and their preferred language. Their addresses sit
-- in `contacts` (encrypted, bound to the row) only while the lookup is fresh; older ones
-- are read again, and the purge deletes what nobody asked for within the lifetime.
create table contact_lookups (
    recipient_id text primary key,
    looked_up_at timestamptz not null,
    language     text not null default ''
);
create index contact_lookups_by_age on contact_lookups (looked_up_at);
