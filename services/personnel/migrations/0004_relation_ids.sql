-- Declared relations (回避) keep the related person's ID, normalised and encrypted under the
-- PII key bound to the relation (id_number_enc, liandiao.pii), beside its fingerprint, so that
-- a fingerprint key rotation recomputes the fingerprint (python -m liandiao.pii refingerprint
-- --service personnel) instead of asking every mediator to declare again. Relations declared
-- before this migration have no id_number_enc: only their fingerprint was ever kept.
alter table relations add column relation_id uuid not null default gen_random_uuid();
alter table relations add constraint relations_relation_id_once unique (relation_id);
alter table relations add column id_number_enc bytea;
