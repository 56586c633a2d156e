-- A member of staff's work e-mail (issue 10: mediators, clerks and judges told by e-mail where
-- notification's routes say so), encrypted like the phone (liandiao.pii, row-bound).
alter table people add column email_enc bytea;
