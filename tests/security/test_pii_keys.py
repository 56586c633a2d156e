"""Personal data at rest (issue 7): keys rotate without losing a value, every value is
bound to its row and column, and fingerprints have a key of their own. The stored
values are written by intake's own use case into a throw-away copy of its schema."""

from __future__ import annotations

import base64
import random
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from liandiao import db
from liandiao.auth import Claims, Role
from liandiao.config import load_settings
from liandiao.devtools.localrun import REPO
from liandiao.pii import PiiCipher, UnreadableValue, rebind_column, reencrypt_bound_column
from services.intake import store
from services.intake.app import Intake
from services.intake.tests.test_intake_store import new_id, registration

OLD = PiiCipher(keys={"2026a": b"a" * 32}, current="2026a", fingerprint_key=b"f" * 32)
NEW = PiiCipher(keys={"2026a": b"a" * 32, "2026b": b"b" * 32}, current="2026b", fingerprint_key=b"f" * 32)
CLERK = Claims("clerk-1", "office-1", Role.CLERK, ("1501",))
PARTY = "0190a0b0-0000-7000-8000-000000000001"


# ---- the cipher and the column helper, no I/O -----------------------------------------
def test_a_value_is_bound_to_its_row_and_its_column():
    blob = store.PARTY_ID_NUMBER.encrypt(NEW, "11010519491231002X", PARTY)
    assert store.PARTY_ID_NUMBER.decrypt(NEW, blob, PARTY) == "11010519491231002X"
    with pytest.raises(UnreadableValue, match="intake.parties.id_number:0190a0b0-0000-7000-8000-000000000002"):
        store.PARTY_ID_NUMBER.decrypt(NEW, blob, PARTY[:-1] + "2")          # another row
    with pytest.raises(UnreadableValue, match="intake.parties.phone"):
        store.PARTY_PHONE.decrypt(NEW, blob, PARTY)                          # another column, same row
    with pytest.raises(UnreadableValue):
        store.AGENT_ID_NUMBER.decrypt(NEW, blob, PARTY)                      # another table
    assert store.PARTY_PHONE.encrypt(NEW, "", PARTY) is None                  # no value stays NULL


def test_the_error_of_a_missing_key_names_the_key_never_the_value():
    blob = store.PARTY_PHONE.encrypt(NEW, "13800138000", PARTY)
    only_old = PiiCipher(keys={"2026a": b"a" * 32}, current="2026a", fingerprint_key=b"f" * 32)
    with pytest.raises(UnreadableValue, match="key '2026b' is not in the key ring") as err:
        store.PARTY_PHONE.decrypt(only_old, blob, PARTY)
    assert "13800138000" not in str(err.value)


def test_old_values_read_after_a_rotation_and_new_ones_go_under_the_new_key():
    before = store.PARTY_PHONE.encrypt(OLD, "13800138000", PARTY)
    assert store.PARTY_PHONE.decrypt(NEW, before, PARTY) == "13800138000"
    after = store.PARTY_PHONE.encrypt(NEW, "13900139000", PARTY)
    assert (NEW.key_id(before), NEW.key_id(after)) == ("2026a", "2026b")


def b64(byte: bytes) -> str:
    return base64.b64encode(byte * 32).decode()


def test_fingerprints_do_not_change_when_the_encryption_key_does():
    env = {"LIANDIAO_ENV": "development", "LIANDIAO_DATABASE_URL": "postgresql://x/y", "LIANDIAO_KAFKA_BOOTSTRAP": "k:1",
           "LIANDIAO_FINGERPRINT_KEY": b64(b"f")}
    a = load_settings("intake", {**env, "LIANDIAO_PII_KEY": b64(b"a")}).pii_cipher()
    b = load_settings("intake", {**env, "LIANDIAO_PII_KEYS": "k1:" + b64(b"b"), "LIANDIAO_PII_KEY_ID": "k1"}).pii_cipher()
    assert a.encrypt("x", context="c")[:5] != b.encrypt("x", context="c")[:5]           # other key ids
    assert a.fingerprint("11010519491231002X") == b.fingerprint("11010519491231002X")
    other_fp = load_settings("intake", {**env, "LIANDIAO_PII_KEY": b64(b"a"),
                                        "LIANDIAO_FINGERPRINT_KEY": b64(b"g")}).pii_cipher()
    assert other_fp.fingerprint("11010519491231002X") != a.fingerprint("11010519491231002X")


# ---- against the real database, through intake's use case ---------------------------
pytest_stack = pytest.mark.stack


@pytest.fixture
async def schema(stack_env):
    name = f"pii_{uuid.uuid4().hex[:10]}"
    await db.migrate(stack_env["LIANDIAO_DATABASE_URL"], name, REPO / "services" / "intake" / "migrations")
    yield name
    conn = await asyncpg.connect(stack_env["LIANDIAO_DATABASE_URL"])
    await conn.execute(f"drop schema {name} cascade")
    await conn.close()


@pytest.fixture
async def pool(stack_env, schema):
    p = await db.create_pool(stack_env["LIANDIAO_DATABASE_URL"], schema)
    yield p
    await p.close()


async def register(pool, cipher: PiiCipher) -> list[asyncpg.Record]:
    rng = random.Random(uuid.uuid4().int)
    reg = registration((new_id(rng), new_id(rng)))
    reg = replace(reg, parties=tuple(replace(p, address="内蒙古呼和浩特市新城区某街1号") for p in reg.parties))
    got = await Intake(pool, cipher).register(reg, CLERK, datetime.now(UTC) - timedelta(minutes=1))
    return await pool.fetch("select party_id, id_number_enc, phone_enc, address_enc from parties "
                            "where dispute_id = $1 order by position", got.record.dispute.dispute_id)


@pytest_stack
async def test_a_ciphertext_swapped_between_two_rows_or_two_columns_does_not_read(pool):
    first, second = await register(pool, NEW)
    assert store.PARTY_ID_NUMBER.decrypt(NEW, first["id_number_enc"], first["party_id"])
    await pool.execute("update parties set id_number_enc = $1 where party_id = $2",
                       first["id_number_enc"], second["party_id"])
    await pool.execute("update parties set address_enc = $1 where party_id = $2", first["phone_enc"], first["party_id"])
    rows = {r["party_id"]: r for r in await pool.fetch("select * from parties where party_id = any($1)",
                                                       [first["party_id"], second["party_id"]])}
    with pytest.raises(UnreadableValue, match="intake.parties.id_number:"):
        store.PARTY_ID_NUMBER.decrypt(NEW, rows[second["party_id"]]["id_number_enc"], second["party_id"])
    with pytest.raises(UnreadableValue, match="intake.parties.address:"):
        store.PARTY_ADDRESS.decrypt(NEW, rows[first["party_id"]]["address_enc"], first["party_id"])


@pytest_stack
async def test_reencrypt_moves_values_of_before_the_rotation_to_the_new_key(stack_env, schema, pool):
    old_rows = await register(pool, OLD)
    new_rows = await register(pool, NEW)
    plain = {r["party_id"]: store.PARTY_PHONE.decrypt(NEW, r["phone_enc"], r["party_id"]) for r in old_rows}
    assert {NEW.key_id(r["id_number_enc"]) for r in old_rows} == {"2026a"}
    assert {NEW.key_id(r["id_number_enc"]) for r in new_rows} == {"2026b"}
    dsn = stack_env["LIANDIAO_DATABASE_URL"]
    moved = {c.name: (await reencrypt_bound_column(dsn, NEW, c, schema=schema, batch=1))[0] for c in store.PII_COLUMNS}
    assert moved["intake.parties.id_number"] == moved["intake.parties.phone"] == moved["intake.parties.address"] == 2
    rows = await pool.fetch("select party_id, id_number_enc, phone_enc from parties")
    assert {NEW.key_id(r[c]) for r in rows for c in ("id_number_enc", "phone_enc")} == {"2026b"}
    assert {r["party_id"]: store.PARTY_PHONE.decrypt(NEW, r["phone_enc"], r["party_id"]) for r in rows
            if r["party_id"] in plain} == plain
    assert (await reencrypt_bound_column(dsn, NEW, store.PARTY_PHONE, schema=schema))[0] == 0


@pytest_stack
async def test_rebind_binds_values_of_before_row_binding_to_their_rows_once(stack_env, schema, pool):
    bound = await register(pool, NEW)
    legacy = await register(pool, NEW)
    numbers = {}
    for r in legacy:                                     # as the code before row binding wrote them
        number = store.PARTY_ID_NUMBER.decrypt(NEW, r["id_number_enc"], r["party_id"])
        numbers[r["party_id"]] = number
        await pool.execute("update parties set id_number_enc = $1 where party_id = $2",
                           OLD.encrypt(number, context="party.id_number"), r["party_id"])
    with pytest.raises(UnreadableValue):                 # not readable as a row-bound value until rebound
        store.PARTY_ID_NUMBER.decrypt(NEW, await pool.fetchval(
            "select id_number_enc from parties where party_id = $1", legacy[0]["party_id"]), legacy[0]["party_id"])
    junk = bound[1]["party_id"]                          # a value bound to nothing: reported, left as it is
    await pool.execute("update parties set phone_enc = $1 where party_id = $2",
                       NEW.encrypt("13800138000", context="party.address"), junk)
    dsn = stack_env["LIANDIAO_DATABASE_URL"]
    assert await rebind_column(dsn, NEW, store.PARTY_ID_NUMBER, schema=schema) == (2, [])
    assert await rebind_column(dsn, NEW, store.PARTY_PHONE, schema=schema) == (0, [str(junk)])
    rows = await pool.fetch("select party_id, id_number_enc from parties where party_id = any($1)", list(numbers))
    assert {r["party_id"]: store.PARTY_ID_NUMBER.decrypt(NEW, r["id_number_enc"], r["party_id"])
            for r in rows} == numbers
    assert {NEW.key_id(r["id_number_enc"]) for r in rows} == {"2026b"}
    assert await rebind_column(dsn, NEW, store.PARTY_ID_NUMBER, schema=schema) == (0, [])
