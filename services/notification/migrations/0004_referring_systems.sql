-- Court and police case systems (issue 10): a dispute referred by such a system hears back there.
-- The projection keeps the system and its own reference from dispute-registered; a webhook
-- delivery to it keeps the structured result it carries (docs/api/external-systems.yaml, webhooks).
alter table disputes add column referring_system_id text not null default '';
alter table disputes add column referral_reference text not null default '';
alter table deliveries add column payload text;
