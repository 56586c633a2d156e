-- When the case of an accepted assignment ended (mediation's agreement-effective or
-- mediation-failed): the mediator's workload counts offers and accepted cases still open,
-- not every case they ever took (the benchmark found the count growing with history).
alter table assignments add column case_ended_at timestamptz;
create index assignments_open_load on assignments (mediator_id)
    where case_ended_at is null and status in ('offered', 'accepted');
