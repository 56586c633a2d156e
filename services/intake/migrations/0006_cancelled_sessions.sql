-- A session mediation cancelled (mediation.session-cancelled) is kept with the time it was
-- cancelled, not deleted: a late, older announcement of it then still loses (announced_at), and
-- the status page never shows it as the next date.
alter table case_status_sessions add column cancelled_at timestamptz;
