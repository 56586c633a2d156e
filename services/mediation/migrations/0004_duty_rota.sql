-- The lawyer on duty (issue 7): a lawyer or legal-service worker on the duty rota of the
-- judicial office that registered a dispute, or of the police station that referred it,
-- reads its case (liandiao.access.Relation.ON_DUTY), as in intake and routing.
--  * cases.registering_org_id: the registering office, from routing's dispute-assigned
--    (cases opened before this migration relate lawyers through the referring station only);
--  * duty_rota: personnel's rota as person-changed announces it (liandiao.dutyrota).
alter table cases add column registering_org_id text not null default '';

create table duty_rota (
    person_id     text not null,
    office_org_id text not null,
    day           date not null,
    primary key (person_id, day, office_org_id)
);
create index duty_rota_by_office on duty_rota (office_org_id, day);
