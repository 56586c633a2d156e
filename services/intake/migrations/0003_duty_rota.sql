-- The duty rota (值班) as personnel announces it in person-changed: which lawyer or
-- legal-service worker serves at which judicial office or police station on which
-- China calendar day. It relates a lawyer to the disputes of the offices they serve
-- (liandiao.access.Relation.ON_DUTY); days before a snapshot's "today" are kept, since
-- personnel's snapshot lists only the days from then on.
create table duty_rota (
    person_id     text not null,
    office_org_id text not null,
    day           date not null,
    primary key (person_id, day, office_org_id)
);
create index duty_rota_by_office on duty_rota (office_org_id, day);
