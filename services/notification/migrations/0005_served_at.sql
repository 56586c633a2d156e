-- Legal service (送达, CPL Art.90: the day the document reaches the addressee's system) is one
-- moment per delivery, kept apart from delivered_at (which follows the delivery's last state
-- change) and written once: a repeated receipt or a resend does not move it.
alter table deliveries add column served_at timestamptz;
