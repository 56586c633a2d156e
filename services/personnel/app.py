"""Personnel use cases: validate -> store + outbox in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from liandiao.errors import FieldViolation, InvalidInput, NotFound, RuleViolation
from liandiao.events import catalog
from liandiao.events.outbox import enqueue
from liandiao.ids import ancestors, lookup, mask_phone, prefecture_of
from liandiao.legaltime import to_china_date
from liandiao.personnel.v1 import personnel_pb2
from liandiao.pii import PiiCipher
from liandiao.reference import dispute_types
from liandiao.uuid7 import uuid7
from services.personnel import store, views
from services.personnel.codes import ORG_KIND, ROSTER_STATUS
from services.personnel.domain.model import NewOrganization, NewPerson, RosterStatus, check_organization, check_person


def parse_uuid(field: str, value: str, *, required: bool = True) -> UUID | None:
    if not value and not required:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise InvalidInput(FieldViolation(field, "is not a UUID" if value else "required")) from None


class Personnel:
    def __init__(self, pool: asyncpg.Pool, pii: PiiCipher):
        self.pool, self.pii = pool, pii

    async def create_organization(self, o: NewOrganization) -> store.OrgRow:
        code, _warnings = check_organization(o)
        parent = parse_uuid("parent_organization_id", o.parent_organization_id, required=False)
        division = lookup(o.region_code)
        assert division is not None
        row = store.OrgRow(
            organization_id=uuid7(), kind=o.kind.value if o.kind else "", name=o.name.strip(),
            region_code=division.code, prefecture=prefecture_of(division.code), credit_code=code,
            parent_organization_id=parent, committee_level=o.committee_level, created_at=datetime.now(UTC),
        )
        async with self.pool.acquire() as conn:
            if parent and await store.get_org(conn, parent) is None:
                raise InvalidInput(FieldViolation("parent_organization_id", "no such organization"))
            await store.insert_org(conn, row)
        return row

    async def get_organization(self, org_id: str) -> store.OrgRow:
        async with self.pool.acquire() as conn:
            row = await store.get_org(conn, parse_uuid("organization_id", org_id))
        if row is None:
            raise NotFound(f"organization {org_id} not found")
        return row

    async def create_person(self, p: NewPerson) -> store.PersonRow:
        now = datetime.now(UTC)
        phone, id_number = check_person(p, set(dispute_types()), to_china_date(now))
        org_id = parse_uuid("organization_id", p.organization_id)
        row = store.PersonRow(
            person_id=uuid7(), name=p.name.strip(), organization_id=org_id, roles=[r.value for r in p.roles],
            specialties=list(p.specialties), languages=list(p.languages) or ["zh"],
            region_codes=[lookup(c).code for c in p.region_codes],  # type: ignore[union-attr]
            roster_status=RosterStatus.ACTIVE.value, removal_reason="",
            phone_enc=self.pii.encrypt(phone, context="person.phone") if phone else None,
            phone_masked=mask_phone(phone) if phone else "",
            id_number_enc=self.pii.encrypt(id_number, context="person.id_number") if id_number else None,
            id_fp=self.pii.fingerprint(id_number) if id_number else None,
            on_duty=p.on_duty, version=1, updated_at=now,
        )
        async with self.pool.acquire() as conn, conn.transaction():
            org = await store.get_org(conn, org_id)
            if org is None:
                raise InvalidInput(FieldViolation("organization_id", "no such organization"))
            await store.insert_person(conn, row)
            await self._person_changed(conn, row, org)
        return row

    async def remove_from_roster(self, person_id: str, reason: str) -> store.PersonRow:
        if not reason.strip():
            raise InvalidInput(FieldViolation("reason", "removal (除名) needs its reason (SPC-Invited Art.28)"))
        pid = parse_uuid("person_id", person_id)
        async with self.pool.acquire() as conn, conn.transaction():
            before = await store.get_person(conn, pid, for_update=True)
            if before is None:
                raise NotFound(f"person {person_id} not found")
            if before.roster_status == RosterStatus.REMOVED:
                raise RuleViolation("roster.already-removed", "the person is already removed from the roster")
            row = await store.remove_from_roster(conn, pid, reason.strip())
            org = await store.get_org(conn, row.organization_id)
            assert org is not None
            await self._person_changed(conn, row, org)
            await enqueue(conn, catalog.ROSTER_CHANGED, personnel_pb2.RosterChanged(
                person=views.person(row), previous_status=ROSTER_STATUS.to_proto(before.roster_status),
                reason=row.removal_reason,
            ), dispute_id="", region_code=org.region_code, partition_key=str(row.person_id))
        return row

    async def _person_changed(self, conn: asyncpg.Connection, row: store.PersonRow, org: store.OrgRow) -> None:
        await enqueue(conn, catalog.PERSON_CHANGED,
                      personnel_pb2.PersonChanged(person=views.person(row), organization_region_code=org.region_code,
                                                  organization_kind=ORG_KIND.to_proto(org.kind)),
                      dispute_id="", region_code=org.region_code, partition_key=str(row.person_id))

    async def get_person(self, person_id: str) -> store.PersonRow:
        async with self.pool.acquire() as conn:
            row = await store.get_person(conn, parse_uuid("person_id", person_id))
        if row is None:
            raise NotFound(f"person {person_id} not found")
        return row

    async def eligible(self, region_code: str, dispute_type: str, language: str) -> list[store.PersonRow]:
        division = lookup(region_code)
        if division is None:
            raise InvalidInput(FieldViolation("region_code", f"unknown region code {region_code}"))
        chain = [division.code, *(a.code for a in ancestors(division.code))]
        async with self.pool.acquire() as conn:
            return await store.eligible_mediators(conn, chain, dispute_type, language)
