"""Rotating the fingerprint key (issue 7): fingerprints are compared, never decrypted, so a
new LIANDIAO_FINGERPRINT_KEY applies only once every stored fingerprint is recomputed from
the value it was made of: ``python -m liandiao.pii refingerprint --service <name>``. After
it, duplicate detection finds the disputes registered before the rotation and a lawyer
licence is still one person's; a party's case code (looked up by its keyed hash) still
opens their status page; a second run changes nothing."""

from __future__ import annotations

import base64
import random
import uuid
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from liandiao import auth, db
from liandiao.config import _DEV_PII_KEY
from liandiao.errors import NotFound, RuleViolation
from liandiao.events import catalog
from liandiao.personnel.v1 import personnel_pb2
from liandiao.pii import PiiCipher, refingerprint_service
from services.intake.app import Intake
from services.intake.casecodes import CaseCodes
from services.intake.domain.lookups import LookupPolicy
from services.intake.tests.test_intake_store import CLERK, T0, new_id, registration
from services.personnel.app import Personnel
from services.personnel.domain.model import OrgKind, Role
from services.personnel.domain.relations import Declaration, RelationKind
from services.personnel.tests.test_app import licence, new_org, new_person

pytestmark = pytest.mark.stack
REPO = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def own_schema(stack_env, service: str):
    """The service's migrations in a schema of this test's own: the command rewrites every
    fingerprint of the schema, which other tests' rows must not see."""
    schema = f"{service}_fprot"
    dsn = stack_env["LIANDIAO_DATABASE_URL"]
    conn = await asyncpg.connect(dsn)
    await conn.execute(f"drop schema if exists {schema} cascade")
    await conn.close()
    await db.migrate(dsn, schema, REPO / "services" / service / "migrations")
    pool = await db.create_pool(dsn, schema)
    try:
        yield pool, schema
    finally:
        await pool.close()
OLD = PiiCipher(_DEV_PII_KEY, fingerprint_key=bytes([7]) * 32)
NEW = PiiCipher(_DEV_PII_KEY, fingerprint_key=bytes([8]) * 32)   # same encryption key, new fingerprint key


def test_the_command_is_offered(capsys):
    import os
    import subprocess
    import sys
    repo = Path(__file__).resolve().parents[2]
    # The command as an operator runs it, with the image's path (the chart's PYTHONPATH=/app/libs:/app),
    # not whatever an earlier test left in os.environ: alone, this test found no `liandiao` module.
    out = subprocess.run([sys.executable, "-m", "liandiao.pii", "refingerprint", "--help"], capture_output=True,
                         text=True, check=True, cwd=repo,
                         env={**os.environ, "PYTHONPATH": f"{repo / 'libs'}{os.pathsep}{repo}"}).stdout
    assert "--service" in out and "fingerprint" in out
    assert base64.b64encode(bytes([8]) * 32)   # what an operator puts in LIANDIAO_FINGERPRINT_KEY


async def test_after_refingerprint_duplicates_are_found_across_the_rotation(stack_env, capsys):
    rng = random.Random(uuid.uuid4().int)
    ids = (new_id(rng), new_id(rng))
    async with own_schema(stack_env, "intake") as (pool, schema):
        first = await Intake(pool, OLD).register(registration(ids), CLERK, T0)
        dsn = stack_env["LIANDIAO_DATABASE_URL"]
        assert await refingerprint_service(dsn, NEW, "intake", schema=schema) == 0
        said = capsys.readouterr().out
        assert "intake.parties.id_fp:" in said and "duplicate key(s) of open disputes made again" in said
        stored = await pool.fetchval("select array_agg(id_fp order by position) from parties where dispute_id = $1",
                                     first.record.dispute.dispute_id)
        assert stored == [NEW.fingerprint(ids[0]), NEW.fingerprint(ids[1])]
        # The same parties through another channel, under the new key: linked, not a second dispute.
        again = await Intake(pool, NEW).register(registration(ids), CLERK, T0 + timedelta(hours=1))
        assert again.linked and again.record.dispute.dispute_id == first.record.dispute.dispute_id
        await refingerprint_service(dsn, NEW, "intake", schema=schema)
        assert "intake.parties.id_fp: 0 fingerprint(s)" in capsys.readouterr().out


async def test_after_refingerprint_a_licence_is_still_one_persons(stack_env, capsys):
    async with own_schema(stack_env, "personnel") as (pool, schema):
        before = Personnel(pool, OLD)
        firm = await new_org(before, OrgKind.LAW_FIRM)
        number = licence()
        lawyer = await new_person(before, firm, Role.LAWYER, lawyer_licence_number=number, id_number=new_id(
            random.Random(uuid.uuid4().int)))
        # The lawyer declared a near relative (回避): routing's recusal compares its fingerprint with
        # the parties' fingerprints of each dispute, made by intake under the key of the day.
        relative = new_id(random.Random(uuid.uuid4().int))
        await before.declare_relation(lawyer, Declaration(RelationKind.NEAR_RELATIVE, id_number=relative))
        announced = await pool.fetchval("select count(*) from outbox where event_type = $1",
                                        catalog.PERSON_CHANGED.key)
        assert await refingerprint_service(stack_env["LIANDIAO_DATABASE_URL"], NEW, "personnel",
                                           schema=schema) == 0
        said = capsys.readouterr()
        assert "personnel.people.licence_fp:" in said.out
        assert "personnel.relations.id_fingerprint: 1 fingerprint(s)" in said.out
        assert "1 person(s) with declared relations announced again" in said.out and not said.err
        fp = await pool.fetchval("select licence_fp from people where person_id = $1", uuid.UUID(lawyer))
        assert fp == NEW.fingerprint("lawyer-licence:" + number)
        with pytest.raises(RuleViolation, match="another person"):
            await new_person(Personnel(pool, NEW), firm, Role.LAWYER, lawyer_licence_number=number)
        # The relation is under the new key and announced again, as routing will compare it with the
        # fingerprints of disputes registered after the rotation.
        relation_fp = await pool.fetchval("select id_fingerprint from relations where person_id = $1",
                                          uuid.UUID(lawyer))
        assert relation_fp == NEW.fingerprint(relative)
        payload = await pool.fetchval("select payload from outbox where event_type = $1 order by id desc limit 1",
                                      catalog.PERSON_CHANGED.key)
        assert await pool.fetchval("select count(*) from outbox where event_type = $1",
                                   catalog.PERSON_CHANGED.key) == announced + 1
        person = personnel_pb2.PersonChanged.FromString(bytes(payload)).person
        assert [r.id_fingerprint for r in person.relations] == [NEW.fingerprint(relative)]


async def test_a_relation_declared_before_its_id_was_kept_is_named(stack_env, capsys):
    """A relation of before migration 0004 (only its fingerprint) cannot be recomputed: the
    command says how many, and what to do."""
    async with own_schema(stack_env, "personnel") as (pool, schema):
        before = Personnel(pool, OLD)
        committee = await new_org(before, OrgKind.MEDIATION_COMMITTEE)
        mediator = await new_person(before, committee, Role.MEDIATOR)
        await before.declare_relation(mediator, Declaration(RelationKind.INTEREST, passport_number="E7654321"))
        await pool.execute("update relations set id_number_enc = null")   # as declared before 0004
        assert await refingerprint_service(stack_env["LIANDIAO_DATABASE_URL"], NEW, "personnel",
                                           schema=schema) == 0
        said = capsys.readouterr().out
        assert "1 relation(s) declared before their ID was kept" in said and "DeclareRelation" in said
        assert await pool.fetchval("select id_fingerprint from relations") == OLD.fingerprint("E7654321")


async def test_after_refingerprint_a_partys_case_code_still_opens_their_status(stack_env, capsys):
    """The code on the party's receipt is looked up by its keyed hash under the fingerprint key
    (intake.case_codes.code_fp): the command makes it again from the code kept encrypted beside it."""
    console = auth.Claims("console", "liandiao", auth.Role.SERVICE, ("15",))
    rng = random.Random(uuid.uuid4().int)
    async with own_schema(stack_env, "intake") as (pool, schema):
        def codes(cipher: PiiCipher) -> CaseCodes:
            return CaseCodes(pool, cipher, "https://console.example.gov.cn/", LookupPolicy())
        reg = registration((new_id(rng), new_id(rng)))
        reg = replace(reg, parties=(replace(reg.parties[0], phone="13800131234"), reg.parties[1]))
        got = await Intake(pool, OLD, codes=codes(OLD)).register(reg, CLERK, T0)
        assert (await codes(OLD).status(got.case_code, "1234", "10.1.2.3", "zh", console)).your_name == "王**"
        # Under the new key alone, before the command: the code matches nothing.
        with pytest.raises(NotFound):
            await codes(NEW).status(got.case_code, "1234", "10.1.2.4", "zh", console)
        dsn = stack_env["LIANDIAO_DATABASE_URL"]
        assert await refingerprint_service(dsn, NEW, "intake", schema=schema) == 0
        assert "intake.case_codes.code_fp: 1 fingerprint(s)" in capsys.readouterr().out
        view = await codes(NEW).status(got.case_code, "1234", "10.1.2.5", "zh", console)
        assert view.your_name == "王**"
        with pytest.raises(NotFound):   # and the old key's hash no longer finds it
            await codes(OLD).status(got.case_code, "1234", "10.1.2.6", "zh", console)
        await refingerprint_service(dsn, NEW, "intake", schema=schema)
        assert "intake.case_codes.code_fp: 0 fingerprint(s)" in capsys.readouterr().out
