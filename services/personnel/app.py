"""Personnel use cases: validate (pure rules) -> store + outbox in one transaction."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID

import asyncpg

from liandiao import access, audit
from liandiao.auth import Claims
from liandiao.auth import Role as CallerRole
from liandiao.errors import FieldViolation, InvalidInput, NotFound, PermissionDenied, RuleViolation, parse_uuid, shown
from liandiao.events import catalog
from liandiao.events.outbox import enqueue
from liandiao.events.topics import shard_of
from liandiao.ids import ancestors, lookup, mask_phone
from liandiao.legaltime import to_china_date
from liandiao.personnel.v1 import personnel_pb2
from liandiao.pii import PiiCipher
from liandiao.reference import dispute_types
from liandiao.rpc import paging
from liandiao.rpc.convert import aware
from liandiao.rpc.paging import region_filter
from liandiao.uuid7 import uuid7
from services.personnel import access as policy
from services.personnel import store, views
from services.personnel.codes import ORG_KIND, ROSTER_STATUS
from services.personnel.domain import duty, performance, relations, roster
from services.personnel.domain.model import (
    BASE_SECTORS,
    NewOrganization,
    NewPerson,
    OrgKind,
    Parent,
    PersonUpdate,
    RemovalGround,
    Role,
    RosterStatus,
    check_organization,
    check_person,
    merge_update,
)
from services.personnel.limits import MAX_RELATIONS


def optional_uuid(field: str, value: str) -> UUID | None:
    return parse_uuid(field, value) if value else None


def mask_licence(licence: str) -> str:
    """First 4 (the issuing region) and last digit: 1505************3."""
    return licence[:4] + "*" * (len(licence) - 5) + licence[-1:]


def sectors() -> frozenset[str]:
    return BASE_SECTORS | {t.roster for t in dispute_types().values() if t.roster}


@contextlib.asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield


def _own_record(caller: Claims | None, person_id: str) -> None:
    """A mediator or lawyer acts on their own record only; staff act for anyone."""
    if caller is not None and caller.role in (CallerRole.MEDIATOR, CallerRole.LAWYER) and caller.subject != person_id:
        raise PermissionDenied("a mediator or lawyer may act only on their own record")


@dataclass(frozen=True)
class RosterListing:
    entries: list[tuple[store.RosterView, bool]]   # (entry, inherited from a higher court)
    chain: list[UUID]


@dataclass(frozen=True)
class PerformanceRecord:
    person: store.PersonRow
    summary: performance.Summary
    cases: list[store.CaseRow]
    lapses: list[store.LapseRow]
    feedback: list[store.FeedbackRow]
    trainings: list[store.TrainingRow]
    evaluations: list[store.EvaluationRow]
    next_page_token: str = ""


@dataclass(frozen=True)
class CoverageReport:
    offices_checked: int
    weeks: list[duty.IsoWeek]
    gaps: list[duty.OfficeGap]


async def _check(conn: asyncpg.Connection, rule: access.Rule, caller: Claims | None, row: store.PersonRow,
                 org: store.OrgRow, action: str = "") -> None:
    """The policy's decision on one person's record (None: an in-process call, no caller)."""
    if caller is None:
        return
    courts = frozenset(str(e.court_org_id) for e in await store.active_entries_of_person(conn, row.person_id))
    facts = policy.facts(org.region_code, str(row.person_id), str(org.organization_id),
                         str(org.parent_organization_id or ""), courts)
    if action:
        access.check_act(rule, caller, facts, f"person {row.person_id}", action)
    else:
        access.check_see(rule, caller, facts, f"person {row.person_id}")


async def publish_person(conn: asyncpg.Connection, row: store.PersonRow, org: store.OrgRow, now: datetime,
                         snapshot: store.PersonSnapshot | None = None) -> store.PersonSnapshot:
    """The person's whole snapshot as person-changed, in ``conn``'s transaction (the outbox)."""
    snapshot = snapshot or (await store.snapshots(conn, [row], to_china_date(now)))[0]
    await enqueue(conn, catalog.PERSON_CHANGED,
                  personnel_pb2.PersonChanged(person=views.person(snapshot), organization_region_code=org.region_code,
                                              organization_kind=ORG_KIND.to_proto(org.kind)),
                  dispute_id="", region_code=org.region_code, partition_key=str(row.person_id), now=now)
    return snapshot


async def announce_relations_again(conn: asyncpg.Connection, now: datetime | None = None) -> int:
    """After a fingerprint key rotation (python -m liandiao.pii refingerprint): every person
    with a declared relation is announced again, so that routing's recusal compares the
    relations' new fingerprints with those of the disputes registered under the new key."""
    now = now or datetime.now(UTC)
    people = [r["person_id"] for r in await conn.fetch("select distinct person_id from relations order by 1")]
    for pid in people:
        row = await store.touch_person(conn, pid, now)
        org = await store.get_org(conn, row.organization_id)
        assert org is not None
        await publish_person(conn, row, org, now)
    return len(people)


class Personnel:
    def __init__(self, pool: asyncpg.Pool, pii: PiiCipher, review: performance.ReviewPolicy | None = None):
        self.pool, self.pii = pool, pii
        self.review = review or performance.ReviewPolicy()

    # ---- organizations ------------------------------------------------------------
    async def create_organization(self, o: NewOrganization,
                                  caller: Claims | None = None) -> tuple[store.OrgRow, list[str]]:
        parent_id = optional_uuid("parent_organization_id", o.parent_organization_id)
        async with self.pool.acquire() as conn:
            parent_row = await store.get_org(conn, parent_id) if parent_id else None
            if parent_id and parent_row is None:
                raise InvalidInput(FieldViolation("parent_organization_id", "no such organization"))
            parent = Parent(OrgKind(parent_row.kind), parent_row.region_code) if parent_row else None
            code, warnings = check_organization(o, parent, sectors())
            division = lookup(o.region_code)
            assert division is not None
            policy.check_region(caller, division.code, "the new organization")
            row = store.OrgRow(
                organization_id=uuid7(), kind=o.kind.value if o.kind else "", name=o.name.strip(),
                # A province-level body (a provincial office) has no prefecture: the province shard.
                region_code=division.code, prefecture=shard_of(division.code), credit_code=code,
                parent_organization_id=parent_id, committee_level=o.committee_level,
                created_at=datetime.now(UTC), sector=o.sector,
            )
            await store.insert_org(conn, row)
        return row, warnings

    async def get_organization(self, org_id: str) -> store.OrgRow:
        async with self.pool.acquire() as conn:
            row = await store.get_org(conn, parse_uuid("organization_id", org_id))
        if row is None:
            raise NotFound(f"organization {org_id} not found")
        return row

    async def list_organizations(self, prefix: str, kind: str, limit: int, offset: int) -> list[store.OrgRow]:
        prefix = region_filter(prefix)
        async with self.pool.acquire() as conn:
            return await store.list_orgs(conn, prefix, kind, limit, offset)

    # ---- people -------------------------------------------------------------------
    async def create_person(self, p: NewPerson, now: datetime | None = None,
                            caller: Claims | None = None) -> store.PersonSnapshot:
        now = now or datetime.now(UTC)
        org_id = parse_uuid("organization_id", p.organization_id)
        async with self.pool.acquire() as conn, conn.transaction():
            org = await store.get_org(conn, org_id, for_update=Role.LIAISON_OFFICER in p.roles)
            checked = check_person(p, OrgKind(org.kind) if org else None, set(dispute_types()), to_china_date(now))
            if org is None:
                raise InvalidInput(FieldViolation("organization_id", "no such organization"))
            policy.check_region(caller, org.region_code, f"organization {org.organization_id}")
            person_id = uuid7()
            row = store.PersonRow(
                person_id=person_id, name=p.name.strip(), organization_id=org_id, roles=[r.value for r in p.roles],
                specialties=list(p.specialties), languages=list(p.languages) or ["zh"],
                region_codes=[lookup(c).code for c in p.region_codes],  # type: ignore[union-attr]
                roster_status=RosterStatus.ACTIVE.value, removal_reason="",
                phone_enc=store.PERSON_PHONE.encrypt(self.pii, checked.phone, person_id),
                phone_masked=mask_phone(checked.phone) if checked.phone else "",
                id_number_enc=store.PERSON_ID_NUMBER.encrypt(self.pii, checked.id_number, person_id),
                id_fp=self.pii.fingerprint(checked.id_number) if checked.id_number else None,
                on_duty=p.on_duty, version=1, updated_at=now, **self._licence_columns(checked.lawyer_licence, person_id),
                email_enc=store.PERSON_EMAIL.encrypt(self.pii, checked.email, person_id) if checked.email else None,
            )
            if Role.LIAISON_OFFICER in p.roles:
                await self._one_liaison_per_office(conn, org, row.person_id)
            if not await store.insert_person(conn, row):
                raise RuleViolation("lawyer-licence.one-person",
                                    "this lawyer licence number is on file for another person")
            # A new person has no relations, rosters or rota yet.
            return await self._person_changed(conn, row, org, now, store.PersonSnapshot(row))

    def _licence_columns(self, licence: str, person_id: UUID) -> dict[str, object]:
        if not licence:
            return {"licence_enc": None, "licence_masked": "", "licence_fp": None}
        return {"licence_enc": store.PERSON_LICENCE.encrypt(self.pii, licence, person_id),
                "licence_masked": mask_licence(licence), "licence_fp": self.pii.fingerprint("lawyer-licence:" + licence)}

    async def _one_liaison_per_office(self, conn: asyncpg.Connection, org: store.OrgRow, person_id: UUID) -> None:
        """DOMAIN §1: one named liaison officer (联络人) per office, for warnings and information exchange."""
        other = await store.other_liaison_officer(conn, org.organization_id, person_id)
        if other is not None:
            raise RuleViolation("liaison.one-per-office", f"{org.name} already has a liaison officer ({other}); "
                                "take the role from them first")

    async def update_person(self, person_id: str, u: PersonUpdate, now: datetime | None = None,
                            caller: Claims | None = None) -> store.PersonSnapshot:
        now = now or datetime.now(UTC)
        pid = parse_uuid("person_id", person_id)
        async with self.pool.acquire() as conn, conn.transaction():
            before = await store.get_person(conn, pid, for_update=True)
            if before is None:
                raise NotFound(f"person {person_id} not found")
            org = await store.get_org(conn, before.organization_id, for_update=Role.LIAISON_OFFICER in u.roles)
            assert org is not None
            await _check(conn, policy.PERSON, caller, before, org, "edit")
            if caller is not None:
                await audit.record(conn, caller, audit.Action.CHANGE, "person", str(pid), org.region_code)
            current = NewPerson(name=before.name, organization_id=str(before.organization_id),
                                roles=tuple(Role(r) for r in before.roles), specialties=tuple(before.specialties),
                                languages=tuple(before.languages), region_codes=tuple(before.region_codes),
                                on_duty=before.on_duty)
            merged = merge_update(current, u)
            keeps_licence = before.licence_fp is not None and "lawyer_licence_number" not in u.paths
            checked = check_person(merged, OrgKind(org.kind), set(dispute_types()), to_china_date(now),
                                   licence_on_file=keeps_licence)
            changes: dict[str, object] = {}
            for path in ("roles", "specialties", "languages", "region_codes", "on_duty"):
                if path in u.paths:
                    value = getattr(merged, path)
                    if path == "roles":
                        value = [r.value for r in value]
                    elif path == "region_codes":
                        value = [lookup(c).code for c in value]  # type: ignore[union-attr]
                    changes[path] = list(value) if isinstance(value, tuple) else value
            if "phone" in u.paths:
                changes["phone_enc"] = store.PERSON_PHONE.encrypt(self.pii, checked.phone, pid)
                changes["phone_masked"] = mask_phone(checked.phone) if checked.phone else ""
            if "email" in u.paths:
                changes["email_enc"] = store.PERSON_EMAIL.encrypt(self.pii, checked.email, pid) \
                    if checked.email else None
            if "lawyer_licence_number" in u.paths or Role.LAWYER not in merged.roles:
                # A person who is no longer a lawyer keeps no licence number (PIPL: no more than needed).
                changes.update(self._licence_columns(checked.lawyer_licence, pid))
            if Role.LIAISON_OFFICER in merged.roles and Role.LIAISON_OFFICER.value not in before.roles:
                await self._one_liaison_per_office(conn, org, pid)
            try:
                # A savepoint only when the licence changes: the one update that can collide.
                async with conn.transaction() if "licence_fp" in changes else _nothing():
                    row = await store.update_person(conn, pid, now, changes)
            except asyncpg.UniqueViolationError:
                raise RuleViolation("lawyer-licence.one-person",
                                    "this lawyer licence number is on file for another person") from None
            return await self._person_changed(conn, row, org, now)

    async def get_person(self, person_id: str, now: datetime | None = None,
                         caller: Claims | None = None) -> store.PersonSnapshot:
        today = to_china_date(now or datetime.now(UTC))
        async with self.pool.acquire() as conn:
            row = await store.get_person(conn, parse_uuid("person_id", person_id))
            if row is None:
                raise NotFound(f"person {person_id} not found")
            org = await store.get_org(conn, row.organization_id)
            assert org is not None
            await _check(conn, policy.PERSON, caller, row, org)
            if caller is not None:
                await audit.record(conn, caller, audit.Action.READ, "person", str(row.person_id), org.region_code)
            return (await store.snapshots(conn, [row], today))[0]

    async def get_contact(self, person_id: str, caller: Claims) -> tuple[str, str, str, str]:
        """(person id, real phone, first language, e-mail) for the service that must reach the
        person (notification); the read is in the audit trail as ``person_contact``."""
        async with self.pool.acquire() as conn:
            row = await store.get_person(conn, parse_uuid("person_id", person_id))
            if row is None:
                raise NotFound(f"person {person_id} not found")
            org = await store.get_org(conn, row.organization_id)
            assert org is not None
            await _check(conn, policy.PERSON, caller, row, org)
            await audit.record(conn, caller, audit.Action.READ, "person_contact", str(row.person_id), org.region_code)
        phone = store.PERSON_PHONE.decrypt(self.pii, row.phone_enc, row.person_id) or ""
        email = store.PERSON_EMAIL.decrypt(self.pii, row.email_enc, row.person_id) or ""
        return str(row.person_id), phone, row.languages[0] if row.languages else "", email

    async def list_people(self, organization_id: str, role: str, prefix: str, limit: int,
                          offset: int, caller: Claims | None = None) -> list[store.PersonSnapshot]:
        org = optional_uuid("organization_id", organization_id)
        prefix = region_filter(prefix)
        # The caller's region scope, in the query: people of organizations of those regions.
        scope = [p + "%" for p in (caller.region_scope if caller is not None else ("",))]
        if not scope:
            return []
        async with self.pool.acquire() as conn:
            rows = await store.list_people(conn, org, role, prefix, limit, offset, scope)
            if caller is not None:
                await audit.record(conn, caller, audit.Action.READ, "person", [str(r.person_id) for r in rows])
            return await store.snapshots(conn, rows, to_china_date(datetime.now(UTC)))

    async def eligible(self, region_code: str, dispute_type: str, language: str) -> list[store.PersonSnapshot]:
        division = lookup(region_code)
        if division is None:
            raise InvalidInput(FieldViolation("region_code", f"unknown region code {shown(region_code)}"))
        chain = [division.code, *(a.code for a in ancestors(division.code))]
        async with self.pool.acquire() as conn:
            rows = await store.eligible_mediators(conn, chain, dispute_type, language)
            return await store.snapshots(conn, rows, to_china_date(datetime.now(UTC)))

    async def remove_from_roster(self, person_id: str, ground: RemovalGround | None, reason: str,
                                 now: datetime | None = None, caller: Claims | None = None) -> store.PersonSnapshot:
        """除名: off every roster, and routing stops offering (SPC-Invited Art.10, 28), on
        one of the grounds of RemovalGround, with what happened in words."""
        now = now or datetime.now(UTC)
        bad = []
        if ground is None:
            bad.append(FieldViolation("ground", "removal (除名) names its ground: forced mediation, bribery, leaking "
                                      "the process or agreement, or repeatedly refusing assignments without reason "
                                      "(SPC-Invited Art.10, 28; SPC-Online Art.29)"))
        if not reason.strip():
            bad.append(FieldViolation("reason", "removal (除名) needs its reason (SPC-Invited Art.28)"))
        if bad:
            raise InvalidInput(bad)
        assert ground is not None
        pid = parse_uuid("person_id", person_id)
        async with self.pool.acquire() as conn, conn.transaction():
            before = await store.get_person(conn, pid, for_update=True)
            if before is None:
                raise NotFound(f"person {person_id} not found")
            holder = await store.get_org(conn, before.organization_id)
            assert holder is not None
            await _check(conn, policy.REMOVE, caller, before, holder, "remove from the roster")
            if caller is not None:
                await audit.record(conn, caller, audit.Action.CHANGE, "person", str(pid), holder.region_code,
                                   reason=f"{ground.value}: {reason.strip()}")
            if before.roster_status == RosterStatus.REMOVED:
                raise RuleViolation("roster.already-removed", "the person is already removed from the roster")
            entries = await store.active_entries_of_person(conn, pid)
            await store.close_entries(conn, [e.entry_id for e in entries], reason.strip(), now)
            row = await store.remove_from_roster(conn, pid, ground.value, reason.strip(), now)
            org = await store.get_org(conn, row.organization_id)
            assert org is not None
            snapshot = await self._person_changed(conn, row, org, now)
            await enqueue(conn, catalog.ROSTER_CHANGED, personnel_pb2.RosterChanged(
                person=views.person(snapshot), previous_status=ROSTER_STATUS.to_proto(before.roster_status),
                reason=row.removal_reason,
            ), dispute_id="", region_code=org.region_code, partition_key=str(row.person_id))
        return snapshot

    async def _person_changed(self, conn: asyncpg.Connection, row: store.PersonRow, org: store.OrgRow,
                              now: datetime, snapshot: store.PersonSnapshot | None = None) -> store.PersonSnapshot:
        """Publishes the person's whole snapshot (person-changed); returns it."""
        return await publish_person(conn, row, org, now, snapshot)

    async def _touched(self, conn: asyncpg.Connection, pid: UUID, now: datetime) -> store.PersonSnapshot:
        row = await store.touch_person(conn, pid, now)
        org = await store.get_org(conn, row.organization_id)
        assert org is not None
        return await self._person_changed(conn, row, org, now)

    # ---- relations (回避) -------------------------------------------------------------
    async def declare_relation(self, person_id: str, d: relations.Declaration, caller: Claims | None = None,
                               now: datetime | None = None) -> store.PersonSnapshot:
        now = now or datetime.now(UTC)
        pid = parse_uuid("person_id", person_id)
        _own_record(caller, person_id)
        normalised = relations.related_id(d, to_china_date(now))
        assert d.kind is not None
        async with self.pool.acquire() as conn, conn.transaction():
            person = await store.get_person(conn, pid, for_update=True)
            if person is None:
                raise NotFound(f"person {person_id} not found")
            org = await store.get_org(conn, person.organization_id)
            assert org is not None
            await _check(conn, policy.DECLARE, caller, person, org, "declare a relation of")
            # The same keyed fingerprint intake puts on PartyRef.id_fingerprint.
            fingerprint = self.pii.fingerprint(normalised)
            # Every relation travels in each person-changed snapshot: their number is bounded.
            if await store.relation_count(conn, pid, other_than=fingerprint) >= MAX_RELATIONS:
                raise RuleViolation("relations.at-most", f"a person declares at most {MAX_RELATIONS} relations; "
                                    "ask a clerk to review the existing ones")
            # The normalised ID is kept encrypted beside it (bound to the relation), so that a new
            # fingerprint key can be applied to it (refingerprint), never shown.
            relation_id = uuid7()
            await store.upsert_relation(conn, store.RelationRow(pid, fingerprint, d.kind.value, d.note.strip(), now),
                                        relation_id, store.RELATION_ID_NUMBER.encrypt(self.pii, normalised,
                                                                                      relation_id))
            return await self._touched(conn, pid, now)

    # ---- rosters (名册) ----------------------------------------------------------------
    async def _member(self, conn: asyncpg.Connection, person_id: str, organization_id: str,
                      caller: Claims | None = None) -> tuple[UUID | None, UUID | None, roster.Member]:
        if bool(person_id) == bool(organization_id):
            raise InvalidInput(FieldViolation("person_id", "give exactly one of person_id and organization_id"))
        if person_id:
            pid = parse_uuid("person_id", person_id)
            p = await store.get_person(conn, pid, for_update=True)
            if p is None:
                raise NotFound(f"person {person_id} not found")
            org = await store.get_org(conn, p.organization_id)
            assert org is not None
            await _check(conn, policy.PERSON, caller, p, org)
            return pid, None, roster.Member(True, OrgKind(org.kind), tuple(Role(r) for r in p.roles),
                                            RosterStatus(p.roster_status))
        oid = parse_uuid("organization_id", organization_id)
        member_org = await store.get_org(conn, oid)
        if member_org is None:
            raise NotFound(f"organization {organization_id} not found")
        return None, oid, roster.Member(False, OrgKind(member_org.kind))

    async def _court(self, conn: asyncpg.Connection, court_org_id: str, caller: Claims | None = None) -> store.OrgRow:
        court = await store.get_org(conn, parse_uuid("court_org_id", court_org_id))
        if court is None:
            raise NotFound(f"organization {court_org_id} not found")
        if caller is not None and caller.role is CallerRole.COURT and caller.organization_id != court_org_id:
            raise PermissionDenied("a court keeps its own roster; this one belongs to another court")
        policy.check_region(caller, court.region_code, f"court {court_org_id}")
        return court

    async def add_to_roster(self, court_org_id: str, person_id: str, organization_id: str, listing: roster.Listing,
                            caller: Claims | None = None, now: datetime | None = None) -> store.RosterView:
        now = now or datetime.now(UTC)
        async with self.pool.acquire() as conn, conn.transaction():
            court = await self._court(conn, court_org_id, caller)
            pid, oid, member = await self._member(conn, person_id, organization_id, caller)
            roster.check_listing(OrgKind(court.kind), member, listing, set(dispute_types()))
            entry = store.RosterRow(uuid7(), court.organization_id, pid, oid, list(listing.dispute_scope),
                                    listing.fee_charging, listing.fee_standard.strip(), RosterStatus.ACTIVE.value,
                                    "", now, None)
            if not await store.insert_roster_entry(conn, entry):
                raise RuleViolation("roster.already-listed", f"already on the roster of {court.name}")
            return await self._roster_changed(conn, entry, court, RosterStatus.REMOVED, "", now)

    async def remove_roster_entry(self, court_org_id: str, person_id: str, organization_id: str, reason: str,
                                  caller: Claims | None = None, now: datetime | None = None) -> store.RosterView:
        now = now or datetime.now(UTC)
        if not reason.strip():
            raise InvalidInput(FieldViolation("reason", "removal from a roster needs its reason (SPC-Invited Art.28)"))
        async with self.pool.acquire() as conn, conn.transaction():
            court = await self._court(conn, court_org_id, caller)
            pid, oid, _ = await self._member(conn, person_id, organization_id, caller)
            entry = await store.active_entry(conn, court.organization_id, pid, oid, for_update=True)
            if entry is None:
                raise RuleViolation("roster.not-listed", f"not on the roster of {court.name}")
            closed = (await store.close_entries(conn, [entry.entry_id], reason.strip(), now))[0]
            return await self._roster_changed(conn, closed, court, RosterStatus.ACTIVE, reason.strip(), now)

    async def _roster_changed(self, conn: asyncpg.Connection, entry: store.RosterRow, court: store.OrgRow,
                              previous: RosterStatus, reason: str, now: datetime) -> store.RosterView:
        view = await store.roster_view(conn, entry.entry_id)
        event = personnel_pb2.RosterChanged(previous_status=ROSTER_STATUS.to_proto(previous), reason=reason,
                                            court_org_id=str(court.organization_id), entry=views.roster_entry(view))
        if entry.person_id is not None:
            snapshot = await self._touched(conn, entry.person_id, now)   # roster_court_ids changed
            event.person.CopyFrom(views.person(snapshot))
        await enqueue(conn, catalog.ROSTER_CHANGED, event, dispute_id="", region_code=court.region_code,
                      partition_key=str(entry.person_id or entry.member_org_id), now=now)
        return view

    async def list_roster(self, court_org_id: str, dispute_type: str, include_removed: bool, limit: int,
                          offset: int) -> RosterListing:
        """The court's roster and those of the courts above it (SPC-Online Art.5: lower
        courts may use a higher court's roster), the court's own entries first."""
        if dispute_type and dispute_type not in dispute_types():
            raise InvalidInput(FieldViolation("dispute_type", f"unknown dispute type {shown(dispute_type)}"))
        async with self.pool.acquire() as conn:
            court = await self._court(conn, court_org_id)
            if OrgKind(court.kind) not in roster.COURT_KINDS:
                raise InvalidInput(FieldViolation("court_org_id", f"a {court.kind} keeps no roster; name a basic "
                                                  "court or a people's tribunal"))
            ancestry = await store.org_ancestry(conn, court.organization_id)
            orgs = {str(k): (OrgKind(kind), str(parent) if parent else None) for k, (kind, parent) in ancestry.items()}
            chain = [UUID(c) for c in roster.court_chain(str(court.organization_id), orgs)]
            found = await store.list_roster(conn, chain, dispute_type, include_removed, limit, offset)
        return RosterListing([(v, v.entry.court_org_id != court.organization_id) for v in found], chain)

    # ---- performance file (业绩档案) ---------------------------------------------------
    async def on_dispute_assigned(self, conn: asyncpg.Connection, d, occurred_at: datetime) -> None:
        """routing's dispute-assigned: the mediator accepted the case."""
        accepted = aware(d.accepted_at) if d.HasField("accepted_at") else occurred_at
        await store.record_case(conn, UUID(d.dispute_id), UUID(d.mediator_id), d.assignment_id, d.dispute_type,
                                d.region_code, accepted)

    async def on_assignment_expired(self, conn: asyncpg.Connection, e, occurred_at: datetime) -> None:
        """routing's assignment-expired: an offer left unanswered, a decline without reason."""
        expired = aware(e.expired_at) if e.HasField("expired_at") else occurred_at
        await store.record_lapse(conn, UUID(e.dispute_id), UUID(e.mediator_id), expired)

    async def on_outcome(self, conn: asyncpg.Connection, dispute_id: str, outcome: performance.Outcome,
                         detail: str, at: datetime) -> None:
        """mediation's agreement-effective or mediation-failed."""
        await store.record_outcome(conn, UUID(dispute_id), outcome.value, detail, at)

    async def _person_for_record(self, conn: asyncpg.Connection, person_id: str,
                                 caller: Claims | None = None) -> store.PersonRow:
        """The person a record is written for, when the caller may write it (RECORD)."""
        row = await store.get_person(conn, parse_uuid("person_id", person_id))
        if row is None:
            raise NotFound(f"person {person_id} not found")
        if caller is not None:
            org = await store.get_org(conn, row.organization_id)
            assert org is not None
            await _check(conn, policy.RECORD, caller, row, org, "record in the performance file of")
        return row

    async def record_feedback(self, person_id: str, dispute_id: str, score: int, complaint: str,
                              caller: Claims | None = None, now: datetime | None = None) -> store.FeedbackRow:
        now = now or datetime.now(UTC)
        did = parse_uuid("dispute_id", dispute_id)
        text = performance.check_feedback(score, complaint)
        async with self.pool.acquire() as conn:
            person = await self._person_for_record(conn, person_id, caller)
            if not await store.has_case(conn, person.person_id, did):
                raise RuleViolation("performance.own-case", "feedback is recorded on a case the mediator accepted; "
                                    "this dispute is not in their performance file")
            row = store.FeedbackRow(uuid7(), person.person_id, did, score, text,
                                    caller.subject if caller else "", now)
            await store.insert_feedback(conn, row)
        return row

    async def record_training(self, person_id: str, course: str, hours: float, held_on: str,
                              now: datetime | None = None, caller: Claims | None = None) -> store.TrainingRow:
        now = now or datetime.now(UTC)
        day = performance.check_training(course, hours, held_on, to_china_date(now))
        async with self.pool.acquire() as conn:
            person = await self._person_for_record(conn, person_id, caller)
            row = store.TrainingRow(uuid7(), person.person_id, course.strip(), hours, day, now)
            await store.insert_training(conn, row)
        return row

    async def record_evaluation(self, person_id: str, period: str, result: performance.EvaluationResult | None,
                                notes: str, now: datetime | None = None,
                                caller: Claims | None = None) -> store.EvaluationRow:
        now = now or datetime.now(UTC)
        period = performance.check_evaluation(period, result, notes, to_china_date(now))
        assert result is not None
        async with self.pool.acquire() as conn:
            person = await self._person_for_record(conn, person_id, caller)
            row = store.EvaluationRow(uuid7(), person.person_id, period, result.value, notes.strip(), now)
            if not await store.insert_evaluation(conn, row):
                raise RuleViolation("evaluation.once-per-period", f"{period} is already evaluated")
        return row

    async def performance_file(self, person_id: str, caller: Claims | None = None, limit: int = paging.DEFAULT_SIZE,
                               offset: int = 0) -> PerformanceRecord:
        """The file with one page (``limit`` from ``offset``) of each list that grows with
        use (cases, lapsed offers, feedback, trainings); the summary counts the whole file."""
        _own_record(caller, person_id)
        async with self.pool.acquire() as conn:
            person = await self._person_for_record(conn, person_id)
            pid = person.person_id
            org = await store.get_org(conn, person.organization_id)
            assert org is not None
            await _check(conn, policy.PERFORMANCE, caller, person, org)
            if caller is not None:
                await audit.record(conn, caller, audit.Action.READ, "performance_file", str(pid), org.region_code)
            cases = await store.cases_of(conn, pid, limit, offset)
            lapses = await store.lapses_of(conn, pid, limit, offset)
            fb = await store.feedback_of(conn, pid, limit, offset)
            trainings = await store.trainings_of(conn, pid, limit, offset)
            evaluations = await store.evaluations_of(conn, pid)
            counts = await store.performance_counts(conn, pid)
        longest = max(len(cases), len(lapses), len(fb), len(trainings))
        summary = performance.summarise(performance.Facts(
            outcomes=[performance.Outcome(o) for o, n in sorted(counts.outcomes.items()) for _ in range(n)],
            offers_lapsed=counts.lapses, scores=[s for s, n in sorted(counts.scores.items()) for _ in range(n)],
            complaints=counts.complaints, training_hours=counts.training_hours,
            incompetent_evaluations=[e.period for e in evaluations
                                     if e.result == performance.EvaluationResult.INCOMPETENT],
        ), self.review)
        return PerformanceRecord(person, summary, cases, lapses, fb, trainings, evaluations,
                                 paging.next_offset(offset, limit, longest))

    # ---- duty rota ----------------------------------------------------------------------
    async def set_duty(self, person_id: str, office_org_id: str, dates: list[str], cancel: bool,
                       now: datetime | None = None, caller: Claims | None = None) -> store.PersonSnapshot:
        now = now or datetime.now(UTC)
        pid = parse_uuid("person_id", person_id)
        oid = parse_uuid("office_org_id", office_org_id)
        async with self.pool.acquire() as conn, conn.transaction():
            person = await store.get_person(conn, pid, for_update=True)
            if person is None:
                raise NotFound(f"person {person_id} not found")
            office = await store.get_org(conn, oid)
            if office is None:
                raise NotFound(f"organization {office_org_id} not found")
            holder = await store.get_org(conn, person.organization_id)
            assert holder is not None
            await _check(conn, policy.DUTY, caller, person, holder, "set the duty of")
            policy.check_region(caller, office.region_code, f"office {office_org_id}")
            days = duty.check_duty([Role(r) for r in person.roles], OrgKind(office.kind), dates)
            changed = await (store.remove_duty if cancel else store.add_duty)(conn, pid, oid, days)
            if not changed:
                return (await store.snapshots(conn, [person], to_china_date(now)))[0]
            return await self._touched(conn, pid, now)

    async def duty_coverage(self, region_prefix: str, from_week: str, to_week: str,
                            caller: Claims | None = None) -> CoverageReport:
        bad = []
        if not region_prefix or lookup(region_prefix) is None:
            bad.append(FieldViolation("region_prefix", f"a known division code (e.g. 1505), got {shown(region_prefix)}"))
        try:
            weeks = duty.report_weeks(from_week, to_week)
        except InvalidInput as exc:
            bad += exc.violations
        if bad:
            raise InvalidInput(bad)
        prefix = lookup(region_prefix).code  # type: ignore[union-attr]
        policy.check_region(caller, prefix, "the report's region")
        first, last = weeks[0].monday, date.fromisocalendar(weeks[-1].year, weeks[-1].week, 7)
        async with self.pool.acquire() as conn:
            offices = await store.orgs_of_kinds(conn, prefix, [k.value for k in duty.DUTY_OFFICE_KINDS])
            days = await store.duty_days_at(conn, [o.organization_id for o in offices], first, last,
                                            [r.value for r in duty.DUTY_ROLES])
        gaps = duty.coverage_gaps(
            [duty.Office(str(o.organization_id), o.name, OrgKind(o.kind), o.region_code) for o in offices], weeks,
            {str(k): v for k, v in days.items()})
        return CoverageReport(len(offices), weeks, gaps)
