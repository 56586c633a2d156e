"""A key rotation of personal data against the real database: values written under the
old key still read, and the re-encryption command moves a whole column to the new key,
in batches, leaving values already there alone."""

from __future__ import annotations

import pytest

from liandiao.pii import PiiCipher, reencrypt_column

pytestmark = pytest.mark.stack

OLD = PiiCipher(keys={"2026a": b"a" * 32}, current="2026a", fingerprint_key=b"f" * 32)
NEW = PiiCipher(keys={"2026a": b"a" * 32, "2026b": b"b" * 32}, current="2026b", fingerprint_key=b"f" * 32)


async def test_reencrypt_moves_a_column_to_the_current_key(stack_env, schema, pool):
    phones = {f"p-{i:03d}": f"1380013{i:04d}" for i in range(7)}
    async with pool.acquire() as conn:
        await conn.execute("create table people (person_id text primary key, phone_enc bytea)")
        for pid, phone in phones.items():
            cipher = NEW if pid == "p-003" else OLD          # one already under the new key
            await conn.execute("insert into people values ($1, $2)", pid,
                               cipher.encrypt(phone, context=f"person.phone:{pid}"))
        await conn.execute("insert into people values ('p-none', null)")
    moved = await reencrypt_column(stack_env["LIANDIAO_DATABASE_URL"], NEW, schema=schema, table="people",
                                   column="phone_enc", id_column="person_id", context="person.phone:{id}", batch=3)
    assert moved == 6
    async with pool.acquire() as conn:
        rows = await conn.fetch("select person_id, phone_enc from people where phone_enc is not null")
    assert {NEW.key_id(bytes(r["phone_enc"])) for r in rows} == {"2026b"}
    assert {r["person_id"]: NEW.decrypt(bytes(r["phone_enc"]), context=f"person.phone:{r['person_id']}")
            for r in rows} == phones
    assert await reencrypt_column(stack_env["LIANDIAO_DATABASE_URL"], NEW, schema=schema, table="people",
                                  column="phone_enc", id_column="person_id", context="person.phone:{id}") == 0
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        await reencrypt_column(stack_env["LIANDIAO_DATABASE_URL"], NEW, schema=schema, table="people; drop",
                               column="phone_enc", id_column="person_id", context="x")
