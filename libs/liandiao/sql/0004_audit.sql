-- Issue 7: the audit trail every service keeps in its own schema: who (person or
-- service, organization, role) read personal data or changed state, through which
-- method, on which resource, when, and why where a rule requires a reason. Written
-- by liandiao.audit in the transaction of the change it records; read through the
-- auditor-only ListAuditEntries. Append-only: a trigger refuses UPDATE, DELETE and
-- TRUNCATE for every role, the service's own included.
create table audit_log (
    entry_id        bigserial primary key,
    at              timestamptz not null default now(),
    actor           text not null,
    organization_id text not null,
    role            text not null,
    method          text not null,
    action          text not null check (action in ('read', 'change')),
    resource_kind   text not null,
    resource_id     text not null,
    region_code     text not null default '',
    reason          text not null default ''
);
create index audit_log_at on audit_log (at desc, entry_id desc);
create index audit_log_resource on audit_log (resource_kind, resource_id);
create index audit_log_actor on audit_log (actor, at desc);

create function audit_log_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'audit_log is append-only (% refused)', tg_op using errcode = 'insufficient_privilege';
end $$;
create trigger audit_log_no_update before update or delete on audit_log
    for each row execute function audit_log_append_only();
create trigger audit_log_no_truncate before truncate on audit_log
    for each statement execute function audit_log_append_only();
