-- Confirmation's schema: applications for judicial confirmation (司法确认) and
-- their rulings. Filled by the confirmation issue; created now so the service
-- owns its schema from the start.
create table applications (
    application_id uuid primary key,
    dispute_id     uuid not null,
    agreement_id   text not null,
    court_org_id   text not null,
    status         text not null,
    filed_at       timestamptz not null
);
