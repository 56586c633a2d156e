"""Migrations: applied once, recorded in the service's schema, safe when several
replicas start at the same moment."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from liandiao import db

pytestmark = pytest.mark.stack


async def test_concurrent_starts_apply_each_migration_exactly_once(stack_env, tmp_path):
    (tmp_path / "0001_things.sql").write_text("create table things (id int primary key);")
    (tmp_path / "0002_more.sql").write_text("insert into things values (1);")
    schema = f"m_{uuid.uuid4().hex[:10]}"
    dsn = stack_env["LIANDIAO_DATABASE_URL"]
    results = await asyncio.gather(*(db.migrate(dsn, schema, tmp_path) for _ in range(4)))
    applied = sorted(name for r in results for name in r)
    assert applied == ["platform:0001_platform", "platform:0002_outbox_parking_retention",
                       "platform:0003_dead_letter_once", "platform:0004_audit",
                       "service:0001_things", "service:0002_more"]
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval(f"select count(*) from {schema}.things") == 1  # 0002 ran once
        assert await conn.fetchval(f"select count(*) from {schema}.schema_migrations") == 6
        assert await db.migrate(dsn, schema, tmp_path) == []  # a restart finds nothing to do
    finally:
        await conn.execute(f"drop schema {schema} cascade")
        await conn.close()


async def test_a_failing_migration_leaves_nothing_half_applied(stack_env, tmp_path):
    (tmp_path / "0001_bad.sql").write_text("create table ok (id int); select no_such_function();")
    schema = f"m_{uuid.uuid4().hex[:10]}"
    dsn = stack_env["LIANDIAO_DATABASE_URL"]
    with pytest.raises(asyncpg.UndefinedFunctionError):
        await db.migrate(dsn, schema, tmp_path)
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("select to_regclass($1)", f"{schema}.ok") is None
        assert await conn.fetchval(f"select count(*) from {schema}.schema_migrations where scope = 'service'") == 0
    finally:
        await conn.execute(f"drop schema {schema} cascade")
        await conn.close()


def test_misnamed_migration_files_are_refused(tmp_path):
    (tmp_path / "1_init.sql").write_text("")
    with pytest.raises(ValueError, match="NNNN_name.sql"):
        db.discover(tmp_path, "service")
