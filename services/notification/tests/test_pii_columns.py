"""Notification's addresses through the platform's one helper (issue 7): values written
before it, bound to their row in the older spelling ("contact.address:<id>"), still read,
never in another row, and ``rebind`` moves them to the helper's context once."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from liandiao import db
from liandiao.devtools.localrun import REPO
from liandiao.pii import PiiCipher, UnreadableValue, rebind_column, service_columns
from services.notification.store import CONTACT_ADDRESS, DELIVERY_ADDRESS, Store

PII = PiiCipher(keys={"2026a": b"a" * 32}, current="2026a", fingerprint_key=b"f" * 32)
ROW = "0190a0b0-0000-7000-8000-0000000000d1"


def test_an_address_in_the_old_spelling_reads_in_its_own_row_only():
    old = PII.encrypt("13800138000", context=f"delivery.address:{ROW}")
    assert DELIVERY_ADDRESS.decrypt(PII, old, ROW) == "13800138000"
    with pytest.raises(UnreadableValue, match="notification.deliveries.address:0190a0b0-0000-7000-8000-0000000000d2"):
        DELIVERY_ADDRESS.decrypt(PII, old, ROW[:-1] + "2")
    with pytest.raises(UnreadableValue):
        CONTACT_ADDRESS.decrypt(PII, old, ROW)
    assert {c.name for c in service_columns("notification")} == {"notification.deliveries.address",
                                                                 "notification.contacts.address"}


@pytest.fixture
async def pool(stack_env):
    schema = f"pii_ntf_{uuid.uuid4().hex[:8]}"
    await db.migrate(stack_env["LIANDIAO_DATABASE_URL"], schema, REPO / "services" / "notification" / "migrations")
    p = await db.create_pool(stack_env["LIANDIAO_DATABASE_URL"], schema)
    yield p, schema
    await p.close()
    conn = await asyncpg.connect(stack_env["LIANDIAO_DATABASE_URL"])
    await conn.execute(f"drop schema {schema} cascade")
    await conn.close()


@pytest.mark.stack
async def test_rebind_moves_old_contacts_to_the_helpers_context_once(pool, stack_env):
    p, schema = pool
    s = Store(p, PII)
    async with p.acquire() as conn:
        await s.set_contact(conn, "r-1", "sms", "13800138000")
        await s.set_contact(conn, "r-2", "sms", "13900139000")
        ids = {r["recipient_id"]: str(r["contact_id"]) for r in await conn.fetch("select * from contacts")}
        legacy = PII.encrypt("13800138000", context=f"contact.address:{ids['r-1']}")   # as written before
        await conn.execute("update contacts set address_enc = $1 where recipient_id = 'r-1'", legacy)
        assert await s.contacts(conn, ["r-1"]) == {"r-1": {"sms": "13800138000"}}
        await conn.execute("update contacts set address_enc = $1 where recipient_id = 'r-2'", legacy)
        with pytest.raises(UnreadableValue):                     # copied into another row: not readable
            await s.contacts(conn, ["r-2"])
    dsn = stack_env["LIANDIAO_DATABASE_URL"]
    assert await rebind_column(dsn, PII, CONTACT_ADDRESS, schema=schema) == (1, [ids["r-2"]])
    blob = await p.fetchval("select address_enc from contacts where recipient_id = 'r-1'")
    assert PII.decrypt(blob, context=CONTACT_ADDRESS.context(ids["r-1"])) == "13800138000"
    assert await rebind_column(dsn, PII, CONTACT_ADDRESS, schema=schema) == (0, [ids["r-2"]])
