from __future__ import annotations

import uuid

import asyncpg
import pytest

from liandiao import db


@pytest.fixture
async def schema(stack_env, tmp_path):
    """A throw-away service schema with the platform tables (outbox, inbox, dead letters)."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    await db.migrate(stack_env["LIANDIAO_DATABASE_URL"], name, tmp_path)
    yield name
    conn = await asyncpg.connect(stack_env["LIANDIAO_DATABASE_URL"])
    await conn.execute(f"drop schema {name} cascade")
    await conn.close()


@pytest.fixture
async def pool(stack_env, schema):
    p = await db.create_pool(stack_env["LIANDIAO_DATABASE_URL"], schema)
    yield p
    await p.close()
