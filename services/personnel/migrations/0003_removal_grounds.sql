-- The ground of a removal from the roster (除名), one of the grounds of SPC-Invited
-- Art.10, 28 and SPC-Online Art.29 (services.personnel.domain.model.RemovalGround);
-- '' for removals recorded before the ground was asked for (their reason says why).
alter table people add column removal_ground text not null default '';
