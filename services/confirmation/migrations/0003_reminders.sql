-- Deadline reminders (SPC-2011 Art.4-5 for the court, SPC-Interp Art.354/357 for the
-- applicants): when the sweep must next look at an application for one. Set from the domain
-- each time the application is saved; open applications filed before this migration are
-- looked at on the next sweep, which sets it.
alter table applications add column remind_at timestamptz;
update applications set remind_at = now()
 where status in ('filed', 'awaiting_supplement', 'accepted', 'review_awaiting_supplement');
create index applications_remind_due on applications (remind_at) where remind_at is not null;
