-- Issue 6: an event that can never be published (larger than the broker takes) is parked
-- with its reason instead of blocking every event behind it; operators see it in
-- liandiao_outbox_parked and release or discard it (python -m liandiao.events.admin parked).
-- The partial index outbox_unpublished (published_at is null) still serves the relay and
-- the gauges: parked rows are few.
alter table outbox add column parked_at timestamptz;
alter table outbox add column park_reason text;

-- Retention purges inbox ids by when they were processed (see liandiao.events.retention).
create index inbox_processed_at on inbox (processed_at);
