"""Fixtures for tests that need the real stack: PostgreSQL and Kafka started by
scripts/stack.sh (``make test`` starts them first). Tests get their own database
(liandiao_test) and a wiped set of topics, so nothing left by a demo leaks in."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
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
    """Environment pointing at the test database and the broker, both wiped."""
    import asyncio

    from liandiao.devtools import reset
    from liandiao.events.admin import ensure_topics

    env = _stack_env()
    admin_dsn = env["LIANDIAO_DATABASE_URL"]
    test_dsn = admin_dsn.rsplit("/", 1)[0] + "/liandiao_test"

    async def prepare() -> None:
        await reset.ensure_database(admin_dsn, "liandiao_test")
        await reset.drop_schemas(test_dsn)
        await reset.delete_topics(env["LIANDIAO_KAFKA_BOOTSTRAP"])
        await ensure_topics(env["LIANDIAO_KAFKA_BOOTSTRAP"], list(TEST_PREFECTURES), partitions=3)

    asyncio.run(prepare())
    return {**env, "LIANDIAO_DATABASE_URL": test_dsn,
            # a fresh consumer-group name per run: no offsets from earlier runs
            "LIANDIAO_RELEASE": f"test-{uuid.uuid4().hex[:8]}"}
