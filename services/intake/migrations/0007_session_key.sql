-- A session is one of its dispute's: keyed by both, so the same session id in two disputes
-- (mediation's ids are unique, but the projection should not depend on it) is two rows.
alter table case_status_sessions drop constraint case_status_sessions_pkey;
alter table case_status_sessions add primary key (dispute_id, session_id);
