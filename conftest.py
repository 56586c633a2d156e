"""Fixtures for every test that needs the real stack (PostgreSQL and Kafka started
by scripts/stack.sh; ``make test`` starts them first). Tests get their own
database (liandiao_test) and a wiped set of topics, so nothing left by a demo
leaks in. Service tests use ``service_pool`` to get their schema, migrated."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
TEST_PREFECTURES = ("1501", "1504", "1505")


def _stack_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith("LIANDIAO_")}
    state = REPO / ".state" / "stack.env"
    if "LIANDIAO_DATABASE_URL" not in env and state.exists():
        for line in state.read_text().splitlines():
            if line.startswith("export "):
                key, _, value = line.removeprefix("export ").partition("=")
                env.setdefault(key, value.strip("'\""))
    if "LIANDIAO_DATABASE_URL" not in env:
        pytest.fail("the local stack is not running: run `make stack-up` (make test does it for you)")
    return env


@pytest.fixture(scope="session")
def stack_env() -> dict[str, str]:
    """Environment pointing at the test database and the broker, both wiped once per run."""
    from liandiao.devtools import reset
    from liandiao.events.admin import ensure_topics

    env = _stack_env()
    admin_dsn = env["LIANDIAO_DATABASE_URL"]
    # swap only the database name: a query string (e.g. ?sslmode=verify-full) is kept
    base, _, query = admin_dsn.partition("?")
    test_dsn = base.rsplit("/", 1)[0] + "/liandiao_test" + (f"?{query}" if query else "")

    async def prepare() -> None:
        await reset.ensure_database(admin_dsn, "liandiao_test")
        await reset.drop_schemas(test_dsn)
        await reset.delete_topics(env["LIANDIAO_KAFKA_BOOTSTRAP"])
        await ensure_topics(env["LIANDIAO_KAFKA_BOOTSTRAP"], list(TEST_PREFECTURES), partitions=3)

    asyncio.run(prepare())
    return {**env, "LIANDIAO_DATABASE_URL": test_dsn, "LIANDIAO_ENV": "development",
            # a fresh consumer-group name per run: no offsets from earlier runs
            "LIANDIAO_RELEASE": f"test-{uuid.uuid4().hex[:8]}"}


@pytest.fixture
def service_pool(stack_env):
    """``async with service_pool("routing") as pool``: the service's migrations in a
    schema of their own (``routing_svc``, apart from the schema the end-to-end
    processes use) and a pool pinned to it, as the service has."""
    from contextlib import asynccontextmanager

    from liandiao import db

    @asynccontextmanager
    async def open_pool(service: str):
        schema = f"{service}_svc"
        await db.migrate(stack_env["LIANDIAO_DATABASE_URL"], schema, REPO / "services" / service / "migrations")
        pool = await db.create_pool(stack_env["LIANDIAO_DATABASE_URL"], schema)
        try:
            yield pool
        finally:
            await pool.close()

    return open_pool
