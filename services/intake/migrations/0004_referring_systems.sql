-- Court and police case systems (issue 10): a referral sent in over the external-systems API
-- (services/intake/external) names the system it came from, so that results go back to it.
alter table disputes add column referring_system_id text not null default '';
alter table registrations add column referring_system_id text not null default '';
