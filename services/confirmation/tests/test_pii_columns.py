"""The agreement projection's personal data (the parties' names, terms that name them) is
encrypted at rest, bound to its row, moved to a new key by `reencrypt`, and projections stored
in plain text before are read and then encrypted."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from liandiao import db
from liandiao.devtools.localrun import REPO
from liandiao.pii import PiiCipher, UnreadableValue, reencrypt_bound_column, service_columns
from services.confirmation import store
from services.confirmation.app import Confirmation
from services.confirmation.keys import DEV_DIR, load_court_keys
from services.confirmation.tests.stack_builders import agreement, cst

OLD = PiiCipher(keys={"2026a": b"a" * 32}, current="2026a", fingerprint_key=b"f" * 32)
NEW = PiiCipher(keys={"2026a": b"a" * 32, "2026b": b"b" * 32}, current="2026b", fingerprint_key=b"f" * 32)
ONLY_NEW = PiiCipher(keys={"2026b": b"b" * 32}, current="2026b", fingerprint_key=b"f" * 32)


def test_confirmation_declares_its_encrypted_column():
    assert {c.name for c in service_columns("confirmation")} == {"confirmation.agreements.payload"}


def test_a_payload_is_bound_to_its_row():
    a = agreement(cst(2026, 6, 1))
    sealed = store.seal_payload(OLD, a.agreement_id, a.SerializeToString())
    assert "张三".encode() not in sealed
    assert store.open_payload(OLD, a.agreement_id, sealed) == a.SerializeToString()
    with pytest.raises(UnreadableValue):
        store.open_payload(OLD, "agr-another", sealed)


@pytest.fixture
async def schema_pool(stack_env):
    schema = f"pii_conf_{uuid.uuid4().hex[:8]}"
    await db.migrate(stack_env["LIANDIAO_DATABASE_URL"], schema, REPO / "services" / "confirmation" / "migrations")
    p = await db.create_pool(stack_env["LIANDIAO_DATABASE_URL"], schema)
    yield p, schema
    await p.close()
    conn = await asyncpg.connect(stack_env["LIANDIAO_DATABASE_URL"])
    await conn.execute(f"drop schema {schema} cascade")
    await conn.close()


@pytest.mark.stack
async def test_names_are_not_stored_in_plain_text_and_move_to_a_new_key(schema_pool, stack_env, tmp_path):
    pool, schema = schema_pool
    keys = load_court_keys({DEV_DIR: str(tmp_path / "keys")}, "development")
    c = Confirmation(pool, keys, cipher=OLD)
    a, legacy = agreement(cst(2026, 6, 1)), agreement(cst(2026, 6, 1))
    async with pool.acquire() as conn, conn.transaction():
        await c.record_agreement(conn, a, cst(2026, 6, 1))
        # As the projection was stored before it was encrypted.
        await store.upsert_agreement(conn, legacy.agreement_id, uuid.UUID(legacy.dispute_id), "150502", "org-dalin",
                                     [], [], legacy.SerializeToString(), cst(2026, 6, 1))
    stored = bytes(await pool.fetchval("select payload from agreements where agreement_id = $1", a.agreement_id))
    assert "张三".encode() not in stored and "李四".encode() not in stored
    async with pool.acquire() as conn:
        assert c._record(await store.get_agreement(conn, legacy.agreement_id)).parties[0].name == "张三"
    assert await c.encrypt_plain_agreements() == 1 and await c.encrypt_plain_agreements() == 0
    plain = bytes(await pool.fetchval("select payload from agreements where agreement_id = $1", legacy.agreement_id))
    assert "张三".encode() not in plain

    moved, unreadable = await reencrypt_bound_column(stack_env["LIANDIAO_DATABASE_URL"], NEW, store.AGREEMENT_PAYLOAD,
                                                     schema=schema)
    assert (moved, unreadable) == (2, [])
    fresh = Confirmation(pool, keys, cipher=ONLY_NEW)  # the old key retired
    async with pool.acquire() as conn:
        for x in (a, legacy):
            assert fresh._record(await store.get_agreement(conn, x.agreement_id)).agreement_id == x.agreement_id
