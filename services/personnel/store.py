"""Personnel's SQL: its own schema only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

import asyncpg

from liandiao.pii import EncryptedColumn, FingerprintColumn

# Personnel's encrypted personal data, each value bound to its row (liandiao.pii).
PERSON_PHONE = EncryptedColumn("personnel", "people", "phone_enc", "person_id", legacy_context="person.phone")
PERSON_ID_NUMBER = EncryptedColumn("personnel", "people", "id_number_enc", "person_id",
                                   legacy_context="person.id_number")
PERSON_LICENCE = EncryptedColumn("personnel", "people", "licence_enc", "person_id",
                                 legacy_context="person.lawyer_licence")
# The related person's ID of a declared relation (回避), normalised as it is fingerprinted: kept
# only so that a new fingerprint key can be applied to it (migration 0004).
RELATION_ID_NUMBER = EncryptedColumn("personnel", "relations", "id_number_enc", "relation_id")
# A work e-mail address (issue 10: staff told by e-mail where the routes say so; migration 0005).
PERSON_EMAIL = EncryptedColumn("personnel", "people", "email_enc", "person_id")
PII_COLUMNS = (PERSON_PHONE, PERSON_ID_NUMBER, PERSON_LICENCE, RELATION_ID_NUMBER, PERSON_EMAIL)
# Recomputable under a new fingerprint key (python -m liandiao.pii refingerprint --service personnel).
FINGERPRINT_COLUMNS = (FingerprintColumn("id_fp", PERSON_ID_NUMBER),
                       FingerprintColumn("licence_fp", PERSON_LICENCE, prefix="lawyer-licence:"),
                       FingerprintColumn("id_fingerprint", RELATION_ID_NUMBER))


async def after_refingerprint(conn: asyncpg.Connection) -> str:
    """Every person with a declared relation announced again (routing's recusal holds the
    relations' fingerprints from person-changed), and what could not be recomputed: relations
    declared before migration 0004 kept only the fingerprint of the related ID."""
    from services.personnel.app import announce_relations_again  # the app imports this module
    announced = await announce_relations_again(conn)
    kept = await conn.fetchval("select count(*) from relations where id_number_enc is null")
    said = f"{announced} person(s) with declared relations announced again (person-changed)"
    if kept:
        said += (f"; {kept} relation(s) declared before their ID was kept keep the old fingerprint: "
                 "have them declared again (DeclareRelation), docs/operations.md")
    return said


@dataclass(frozen=True)
class OrgRow:
    organization_id: UUID
    kind: str
    name: str
    region_code: str
    prefecture: str
    credit_code: str
    parent_organization_id: UUID | None
    committee_level: str
    created_at: datetime
    sector: str = ""


@dataclass(frozen=True)
class PersonRow:
    person_id: UUID
    name: str
    organization_id: UUID
    roles: list[str]
    specialties: list[str]
    languages: list[str]
    region_codes: list[str]
    roster_status: str
    removal_reason: str
    phone_enc: bytes | None
    phone_masked: str
    id_number_enc: bytes | None
    id_fp: str | None
    on_duty: bool
    version: int
    updated_at: datetime
    licence_enc: bytes | None = None
    licence_masked: str = ""
    licence_fp: str | None = None
    removal_ground: str = ""
    email_enc: bytes | None = None


@dataclass(frozen=True)
class RelationRow:
    person_id: UUID
    id_fingerprint: str
    kind: str
    note: str
    declared_at: datetime


@dataclass(frozen=True)
class DutyRow:
    person_id: UUID
    office_org_id: UUID
    duty_date: date


@dataclass(frozen=True)
class PersonSnapshot:
    """A person with what their record shows beyond the row: the whole of PersonChanged."""
    row: PersonRow
    relations: list[RelationRow] = field(default_factory=list)
    roster_court_ids: list[UUID] = field(default_factory=list)
    duty_days: list[DutyRow] = field(default_factory=list)


@dataclass(frozen=True)
class RosterRow:
    entry_id: UUID
    court_org_id: UUID
    person_id: UUID | None
    member_org_id: UUID | None
    dispute_scope: list[str]
    fee_charging: bool
    fee_standard: str
    status: str
    removal_reason: str
    listed_at: datetime
    removed_at: datetime | None


@dataclass(frozen=True)
class RosterView:
    """A roster entry with the published information of its member and court (SPC-Online Art.5)."""
    entry: RosterRow
    court_name: str
    name: str
    organization_kind: str
    organization_name: str
    region_code: str
    credit_code: str
    expertise: list[str]
    languages: list[str]
    roles: list[str]


@dataclass(frozen=True)
class CaseRow:
    dispute_id: UUID
    dispute_type: str
    region_code: str
    accepted_at: datetime
    outcome: str            # open | agreement | failed | settled
    detail: str
    outcome_at: datetime | None


@dataclass(frozen=True)
class FeedbackRow:
    feedback_id: UUID
    person_id: UUID
    dispute_id: UUID
    score: int
    complaint: str
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class TrainingRow:
    training_id: UUID
    person_id: UUID
    course: str
    hours: float
    held_on: date
    recorded_at: datetime


@dataclass(frozen=True)
class EvaluationRow:
    evaluation_id: UUID
    person_id: UUID
    period: str
    result: str
    notes: str
    recorded_at: datetime


@dataclass(frozen=True)
class LapseRow:
    dispute_id: UUID
    expired_at: datetime


_ORG = list(OrgRow.__dataclass_fields__)
_PERSON = list(PersonRow.__dataclass_fields__)
_ROSTER = list(RosterRow.__dataclass_fields__)


def _cols(names: list[str], alias: str = "") -> str:
    return ", ".join(f"{alias}.{n}" if alias else n for n in names)


def _insert_sql(table: str, cols: list[str]) -> str:
    return f"insert into {table} ({', '.join(cols)}) values ({', '.join(f'${i + 1}' for i in range(len(cols)))})"


# ---- organizations ---------------------------------------------------------------

async def insert_org(conn: asyncpg.Connection, o: OrgRow) -> None:
    await conn.execute(_insert_sql("organizations", _ORG), *(getattr(o, c) for c in _ORG))


async def get_org(conn: asyncpg.Connection, org_id: UUID, *, for_update: bool = False) -> OrgRow | None:
    lock = " for update" if for_update else ""
    row = await conn.fetchrow(f"select {_cols(_ORG)} from organizations where organization_id = $1{lock}", org_id)
    return OrgRow(**row) if row else None


async def list_orgs(conn: asyncpg.Connection, region_prefix: str, kind: str, limit: int, offset: int) -> list[OrgRow]:
    rows = await conn.fetch(
        f"""select {_cols(_ORG)} from organizations
            where region_code like $1 || '%' and ($2 = '' or kind = $2)
            order by region_code, name, organization_id limit $3 offset $4""", region_prefix, kind, limit, offset)
    return [OrgRow(**r) for r in rows]


async def orgs_of_kinds(conn: asyncpg.Connection, region_prefix: str, kinds: Sequence[str]) -> list[OrgRow]:
    rows = await conn.fetch(
        f"""select {_cols(_ORG)} from organizations
            where region_code like $1 || '%' and kind = any($2::text[])""", region_prefix, list(kinds))
    return [OrgRow(**r) for r in rows]


async def org_ancestry(conn: asyncpg.Connection, org_id: UUID, depth: int = 6) -> dict[UUID, tuple[str, UUID | None]]:
    """The organization and its parents up to ``depth``: id -> (kind, parent id)."""
    rows = await conn.fetch(
        """with recursive up (organization_id, kind, parent_organization_id, depth) as (
               select organization_id, kind, parent_organization_id, 1 from organizations where organization_id = $1
               union all
               select o.organization_id, o.kind, o.parent_organization_id, up.depth + 1
               from organizations o join up on o.organization_id = up.parent_organization_id
               where up.depth < $2)
           select organization_id, kind, parent_organization_id from up""", org_id, depth)
    return {r["organization_id"]: (r["kind"], r["parent_organization_id"]) for r in rows}


async def org_names(conn: asyncpg.Connection, ids: Sequence[UUID]) -> dict[UUID, str]:
    rows = await conn.fetch("select organization_id, name from organizations where organization_id = any($1::uuid[])",
                            list(ids))
    return {r["organization_id"]: r["name"] for r in rows}


# ---- people ---------------------------------------------------------------------

async def insert_person(conn: asyncpg.Connection, p: PersonRow) -> bool:
    """False when the lawyer licence is on file for someone else (nothing inserted)."""
    done = await conn.fetchval(
        _insert_sql("people", _PERSON) + " on conflict (licence_fp) where licence_fp is not null do nothing "
        "returning true", *(getattr(p, c) for c in _PERSON))
    return bool(done)


async def get_person(conn: asyncpg.Connection, person_id: UUID, *, for_update: bool = False) -> PersonRow | None:
    lock = " for update" if for_update else ""
    row = await conn.fetchrow(f"select {_cols(_PERSON)} from people where person_id = $1{lock}", person_id)
    return PersonRow(**row) if row else None


# Each change moves updated_at strictly forward, so a projection that keeps the
# newest snapshot (routing: "newer versions win") never drops a change made within
# the same clock tick as the one before.
_BUMP = "version = version + 1, updated_at = greatest($2::timestamptz, updated_at + interval '1 microsecond')"

UPDATABLE_COLUMNS = frozenset({"roles", "specialties", "languages", "region_codes", "on_duty", "phone_enc",
                               "phone_masked", "licence_enc", "licence_masked", "licence_fp", "email_enc"})


async def update_person(conn: asyncpg.Connection, person_id: UUID, now: datetime, changes: dict[str, object]) -> PersonRow:
    """Sets ``changes`` (column -> value, columns of UPDATABLE_COLUMNS) and bumps the version."""
    unknown = set(changes) - UPDATABLE_COLUMNS
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    names = sorted(changes)
    sets = "".join(f", {c} = ${i + 3}" for i, c in enumerate(names))
    row = await conn.fetchrow(
        f"update people set {_BUMP}{sets} where person_id = $1 returning {_cols(_PERSON)}",
        person_id, now, *(changes[c] for c in names))
    return PersonRow(**row)


async def touch_person(conn: asyncpg.Connection, person_id: UUID, now: datetime) -> PersonRow:
    """Bumps the version of a person whose snapshot changed elsewhere (relations, rota, rosters)."""
    return await update_person(conn, person_id, now, {})


async def remove_from_roster(conn: asyncpg.Connection, person_id: UUID, ground: str, reason: str,
                             now: datetime) -> PersonRow:
    row = await conn.fetchrow(
        f"""update people set roster_status = 'removed', removal_reason = $3, removal_ground = $4, {_BUMP}
            where person_id = $1 returning {_cols(_PERSON)}""", person_id, now, reason, ground)
    return PersonRow(**row)


async def other_liaison_officer(conn: asyncpg.Connection, organization_id: UUID, person_id: UUID) -> str | None:
    row = await conn.fetchrow(
        """select name from people where organization_id = $1 and 'liaison_officer' = any(roles)
           and person_id <> $2 limit 1""", organization_id, person_id)
    return row["name"] if row else None


async def list_people(conn: asyncpg.Connection, organization_id: UUID | None, role: str, region_prefix: str,
                      limit: int, offset: int, visible_regions: list[str]) -> list[PersonRow]:
    """``visible_regions``: LIKE patterns of the caller's scope, over the region of the
    person's organization (the access policy, liandiao.access)."""
    rows = await conn.fetch(
        f"""select {_cols(_PERSON)} from people
            where ($1::uuid is null or organization_id = $1) and ($2 = '' or $2 = any(roles))
              and ($3 = '' or exists (select 1 from unnest(region_codes) r where r like $3 || '%'))
              and exists (select 1 from organizations o where o.organization_id = people.organization_id
                          and o.region_code like any($6::text[]))
            order by name, person_id limit $4 offset $5""", organization_id, role, region_prefix, limit, offset,
        visible_regions)
    return [PersonRow(**r) for r in rows]


async def eligible_mediators(conn: asyncpg.Connection, region_chain: list[str], dispute_type: str,
                             language: str) -> list[PersonRow]:
    """Active mediators covering any code of ``region_chain`` with the specialty."""
    rows = await conn.fetch(
        f"""select {_cols(_PERSON)} from people
            where 'mediator' = any(roles) and roster_status = 'active'
              and $2 = any(specialties) and region_codes && $1::text[]
              and ($3 = '' or $3 = any(languages))
            order by name""", region_chain, dispute_type, language)
    return [PersonRow(**r) for r in rows]


DUTY_DAYS_SHOWN = 100


async def snapshots(conn: asyncpg.Connection, rows: Sequence[PersonRow], today: date) -> list[PersonSnapshot]:
    """The rows with their relations, the courts whose rosters list them and their rota
    from ``today`` on (one round trip)."""
    if not rows:
        return []
    found = await conn.fetch(
        """select x.person_id,
                  array(select row(r.id_fingerprint, r.kind, r.note, r.declared_at) from relations r
                        where r.person_id = x.person_id order by r.declared_at, r.id_fingerprint) as relations,
                  array(select e.court_org_id from roster_entries e
                        where e.person_id = x.person_id and e.status = 'active'
                        order by e.listed_at, e.court_org_id) as courts,
                  array(select row(d.office_org_id, d.duty_date) from duty_days d
                        where d.person_id = x.person_id and d.duty_date >= $2
                        order by d.duty_date, d.office_org_id limit $3) as duty
           from unnest($1::uuid[]) as x (person_id)""", [r.person_id for r in rows], today, DUTY_DAYS_SHOWN)
    extra = {f["person_id"]: f for f in found}
    out = []
    for row in rows:
        f = extra[row.person_id]
        out.append(PersonSnapshot(
            row, [RelationRow(row.person_id, *r) for r in f["relations"]], list(f["courts"]),
            [DutyRow(row.person_id, *d) for d in f["duty"]]))
    return out


# ---- relations ------------------------------------------------------------------

async def relation_count(conn: asyncpg.Connection, person_id: UUID, other_than: str) -> int:
    """The person's declared relations, not counting the one with fingerprint ``other_than``."""
    return await conn.fetchval("select count(*) from relations where person_id = $1 and id_fingerprint <> $2",
                               person_id, other_than)


async def upsert_relation(conn: asyncpg.Connection, r: RelationRow, relation_id: UUID,
                          id_number_enc: bytes | None) -> None:
    """A declaration again replaces the row's id with ``relation_id``: ``id_number_enc`` is bound to it."""
    await conn.execute(
        """insert into relations (person_id, id_fingerprint, kind, note, declared_at, relation_id, id_number_enc)
           values ($1, $2, $3, $4, $5, $6, $7)
           on conflict (person_id, id_fingerprint) do update
               set kind = excluded.kind, note = excluded.note, declared_at = excluded.declared_at,
                   relation_id = excluded.relation_id, id_number_enc = excluded.id_number_enc""",
        r.person_id, r.id_fingerprint, r.kind, r.note, r.declared_at, relation_id, id_number_enc)


# ---- rosters --------------------------------------------------------------------

async def insert_roster_entry(conn: asyncpg.Connection, e: RosterRow) -> bool:
    """False when the member is already on the court's roster (nothing inserted)."""
    done = await conn.fetchval(
        _insert_sql("roster_entries", _ROSTER) + " on conflict (court_org_id, coalesce(person_id, member_org_id)) "
        "where status = 'active' do nothing returning true", *(getattr(e, c) for c in _ROSTER))
    return bool(done)


async def active_entry(conn: asyncpg.Connection, court_org_id: UUID, person_id: UUID | None,
                       member_org_id: UUID | None, *, for_update: bool = False) -> RosterRow | None:
    lock = " for update" if for_update else ""
    row = await conn.fetchrow(
        f"""select {_cols(_ROSTER)} from roster_entries
            where court_org_id = $1 and status = 'active'
              and person_id is not distinct from $2 and member_org_id is not distinct from $3{lock}""",
        court_org_id, person_id, member_org_id)
    return RosterRow(**row) if row else None


async def close_entries(conn: asyncpg.Connection, entry_ids: Sequence[UUID], reason: str,
                        now: datetime) -> list[RosterRow]:
    rows = await conn.fetch(
        f"""update roster_entries set status = 'removed', removal_reason = $2, removed_at = $3
            where entry_id = any($1::uuid[]) returning {_cols(_ROSTER)}""", list(entry_ids), reason, now)
    return [RosterRow(**r) for r in rows]


async def active_entries_of_person(conn: asyncpg.Connection, person_id: UUID) -> list[RosterRow]:
    rows = await conn.fetch(
        f"""select {_cols(_ROSTER)} from roster_entries where person_id = $1 and status = 'active'
            order by listed_at for update""", person_id)
    return [RosterRow(**r) for r in rows]


_ROSTER_VIEW = f"""
    select {_cols(_ROSTER, 'e')}, c.name as court_name,
           coalesce(p.name, m.name) as name,
           coalesce(po.kind, m.kind) as organization_kind,
           coalesce(po.name, '') as organization_name,
           coalesce(m.region_code, po.region_code) as region_code,
           coalesce(m.credit_code, '') as credit_code,
           case when p.person_id is not null then p.specialties else array_remove(array[m.sector], '') end
               as expertise,
           coalesce(p.languages, '{{}}') as languages,
           coalesce(p.roles, '{{}}') as roles
    from roster_entries e
    join organizations c on c.organization_id = e.court_org_id
    left join people p on p.person_id = e.person_id
    left join organizations po on po.organization_id = p.organization_id
    left join organizations m on m.organization_id = e.member_org_id"""


def _roster_view(r: asyncpg.Record) -> RosterView:
    return RosterView(entry=RosterRow(**{c: r[c] for c in _ROSTER}), court_name=r["court_name"], name=r["name"],
                      organization_kind=r["organization_kind"], organization_name=r["organization_name"],
                      region_code=r["region_code"], credit_code=r["credit_code"], expertise=list(r["expertise"]),
                      languages=list(r["languages"]), roles=list(r["roles"]))


async def roster_view(conn: asyncpg.Connection, entry_id: UUID) -> RosterView:
    return _roster_view(await conn.fetchrow(f"{_ROSTER_VIEW} where e.entry_id = $1", entry_id))


async def list_roster(conn: asyncpg.Connection, courts: Sequence[UUID], dispute_type: str, include_removed: bool,
                      limit: int, offset: int) -> list[RosterView]:
    """Entries of ``courts``, the first court's first, then by name."""
    rows = await conn.fetch(
        f"""{_ROSTER_VIEW}
            where e.court_org_id = any($1::uuid[]) and ($2 = '' or $2 = any(e.dispute_scope))
              and ($3 or e.status = 'active')
            order by array_position($1::uuid[], e.court_org_id), coalesce(p.name, m.name), e.entry_id
            limit $4 offset $5""", list(courts), dispute_type, include_removed, limit, offset)
    return [_roster_view(r) for r in rows]


# ---- duty rota ------------------------------------------------------------------

async def add_duty(conn: asyncpg.Connection, person_id: UUID, office_org_id: UUID, days: Sequence[date]) -> int:
    result = await conn.execute(
        """insert into duty_days (person_id, office_org_id, duty_date)
           select $1, $2, d from unnest($3::date[]) d on conflict do nothing""", person_id, office_org_id, list(days))
    return int(result.rsplit(" ", 1)[-1])


async def remove_duty(conn: asyncpg.Connection, person_id: UUID, office_org_id: UUID, days: Sequence[date]) -> int:
    result = await conn.execute(
        "delete from duty_days where person_id = $1 and office_org_id = $2 and duty_date = any($3::date[])",
        person_id, office_org_id, list(days))
    return int(result.rsplit(" ", 1)[-1])


async def duty_days_at(conn: asyncpg.Connection, office_ids: Sequence[UUID], first: date, last: date,
                       roles: Sequence[str]) -> dict[UUID, list[date]]:
    """Days on which someone holding one of ``roles`` is on the rota at each office."""
    rows = await conn.fetch(
        """select distinct d.office_org_id, d.duty_date from duty_days d join people p using (person_id)
           where d.office_org_id = any($1::uuid[]) and d.duty_date between $2 and $3 and p.roles && $4::text[]""",
        list(office_ids), first, last, list(roles))
    out: dict[UUID, list[date]] = {}
    for r in rows:
        out.setdefault(r["office_org_id"], []).append(r["duty_date"])
    return out


# ---- performance file -----------------------------------------------------------

async def record_case(conn: asyncpg.Connection, dispute_id: UUID, person_id: UUID, assignment_id: str,
                      dispute_type: str, region_code: str, accepted_at: datetime) -> None:
    await conn.execute(
        """insert into performance_cases (dispute_id, person_id, assignment_id, dispute_type, region_code, accepted_at)
           values ($1, $2, $3, $4, $5, $6) on conflict do nothing""",
        dispute_id, person_id, assignment_id, dispute_type, region_code, accepted_at)


async def record_lapse(conn: asyncpg.Connection, dispute_id: UUID, person_id: UUID, expired_at: datetime) -> None:
    await conn.execute(
        "insert into performance_lapses (dispute_id, person_id, expired_at) values ($1, $2, $3) on conflict do nothing",
        dispute_id, person_id, expired_at)


async def record_outcome(conn: asyncpg.Connection, dispute_id: UUID, outcome: str, detail: str, at: datetime) -> None:
    await conn.execute(
        """insert into performance_outcomes (dispute_id, outcome, detail, outcome_at) values ($1, $2, $3, $4)
           on conflict (dispute_id) do update
               set outcome = excluded.outcome, detail = excluded.detail, outcome_at = excluded.outcome_at
               where performance_outcomes.outcome_at < excluded.outcome_at""", dispute_id, outcome, detail, at)


# The cases a person accepted with their outcome; an outcome belongs to the mediator
# who accepted the dispute last ($1: the person).
_CASES = """select c.dispute_id, c.dispute_type, c.region_code, c.accepted_at,
       case when last.person_id = c.person_id then coalesce(o.outcome, 'open') else 'open' end as outcome,
       case when last.person_id = c.person_id then coalesce(o.detail, '') else '' end as detail,
       case when last.person_id = c.person_id then o.outcome_at end as outcome_at
    from performance_cases c
    left join lateral (select person_id from performance_cases l where l.dispute_id = c.dispute_id
                       order by accepted_at desc limit 1) last on true
    left join performance_outcomes o on o.dispute_id = c.dispute_id
    where c.person_id = $1"""


async def cases_of(conn: asyncpg.Connection, person_id: UUID, limit: int | None = None,
                   offset: int = 0) -> list[CaseRow]:
    """The cases the person accepted, newest first, one page (None: all)."""
    rows = await conn.fetch(f"{_CASES} order by c.accepted_at desc, c.dispute_id limit $2 offset $3",
                            person_id, limit, offset)
    return [CaseRow(**r) for r in rows]


@dataclass(frozen=True)
class PerformanceCounts:
    """What the summary of a performance file counts, over the whole file."""
    outcomes: dict[str, int]          # outcome -> cases
    lapses: int
    scores: dict[int, int]            # score -> feedback records
    complaints: int
    training_hours: float


async def performance_counts(conn: asyncpg.Connection, person_id: UUID) -> PerformanceCounts:
    outcomes = await conn.fetch(f"select outcome, count(*) as n from ({_CASES}) x group by outcome", person_id)
    scores = await conn.fetch("select score, count(*) as n, count(*) filter (where complaint <> '') as complaints "
                              "from feedback where person_id = $1 group by score", person_id)
    lapses = await conn.fetchval("select count(*) from performance_lapses where person_id = $1", person_id)
    hours = await conn.fetchval("select coalesce(sum(hours), 0) from trainings where person_id = $1", person_id)
    return PerformanceCounts({r["outcome"]: r["n"] for r in outcomes}, lapses, {r["score"]: r["n"] for r in scores},
                             sum(r["complaints"] for r in scores), float(hours))


async def has_case(conn: asyncpg.Connection, person_id: UUID, dispute_id: UUID) -> bool:
    return bool(await conn.fetchval(
        "select exists (select 1 from performance_cases where person_id = $1 and dispute_id = $2)",
        person_id, dispute_id))


async def lapses_of(conn: asyncpg.Connection, person_id: UUID, limit: int | None = None,
                    offset: int = 0) -> list[LapseRow]:
    rows = await conn.fetch(
        "select dispute_id, expired_at from performance_lapses where person_id = $1 "
        "order by expired_at desc, dispute_id limit $2 offset $3", person_id, limit, offset)
    return [LapseRow(**r) for r in rows]


async def insert_feedback(conn: asyncpg.Connection, f: FeedbackRow) -> None:
    cols = list(FeedbackRow.__dataclass_fields__)
    await conn.execute(_insert_sql("feedback", cols), *(getattr(f, c) for c in cols))


async def feedback_of(conn: asyncpg.Connection, person_id: UUID, limit: int | None = None,
                      offset: int = 0) -> list[FeedbackRow]:
    cols = list(FeedbackRow.__dataclass_fields__)
    rows = await conn.fetch(f"select {_cols(cols)} from feedback where person_id = $1 "
                            "order by recorded_at desc, feedback_id limit $2 offset $3", person_id, limit, offset)
    return [FeedbackRow(**r) for r in rows]


async def insert_training(conn: asyncpg.Connection, t: TrainingRow) -> None:
    cols = list(TrainingRow.__dataclass_fields__)
    await conn.execute(_insert_sql("trainings", cols), *(getattr(t, c) for c in cols))


async def trainings_of(conn: asyncpg.Connection, person_id: UUID, limit: int | None = None,
                      offset: int = 0) -> list[TrainingRow]:
    cols = list(TrainingRow.__dataclass_fields__)
    rows = await conn.fetch(f"select {_cols(cols)} from trainings where person_id = $1 "
                            "order by held_on desc, training_id limit $2 offset $3", person_id, limit, offset)
    return [TrainingRow(**{**r, "hours": float(r["hours"])}) for r in rows]


async def insert_evaluation(conn: asyncpg.Connection, e: EvaluationRow) -> bool:
    """False when the period already has an evaluation."""
    cols = list(EvaluationRow.__dataclass_fields__)
    done = await conn.fetchval(_insert_sql("evaluations", cols) + " on conflict (person_id, period) do nothing "
                               "returning true", *(getattr(e, c) for c in cols))
    return bool(done)


async def evaluations_of(conn: asyncpg.Connection, person_id: UUID) -> list[EvaluationRow]:
    cols = list(EvaluationRow.__dataclass_fields__)
    rows = await conn.fetch(f"select {_cols(cols)} from evaluations where person_id = $1 "
                            "order by period desc", person_id)
    return [EvaluationRow(**r) for r in rows]
