"""Mediation's personal data through the platform's one helper (issue 7): the contexts are
the ones mediation wrote before (stored cases read unchanged, nothing to rebind), and
``reencrypt`` moves the parties' names, the messages and the case document to a new key."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from liandiao import db
from liandiao.devtools.localrun import REPO
from liandiao.legaltime import shipped_calendar
from liandiao.pii import (
    EncryptedDocument,
    PiiCipher,
    reencrypt_bound_column,
    reencrypt_document_column,
    service_columns,
)
from services.mediation import store
from services.mediation.app import Mediation
from services.mediation.codec import CASE_AGGREGATE, Codec
from services.mediation.domain import agreement as ag
from services.mediation.domain.content import AgreementMode
from services.mediation.tests.test_cases_store import COMPLETE, MEDIATOR, OPERATOR, PARTIES, accepted

OLD = PiiCipher(keys={"2026a": b"a" * 32}, current="2026a", fingerprint_key=b"f" * 32)
NEW = PiiCipher(keys={"2026a": b"a" * 32, "2026b": b"b" * 32}, current="2026b", fingerprint_key=b"f" * 32)
ONLY_NEW = PiiCipher(keys={"2026b": b"b" * 32}, current="2026b", fingerprint_key=b"f" * 32)
CASE = "0190a0b0-0000-7000-8000-0000000000c1"


def test_the_helper_reads_values_in_the_spelling_mediation_wrote_before_it():
    # As store.py and codec.py wrote them before EncryptedColumn (literal context strings).
    name = OLD.encrypt("张三", context=f"mediation.case_parties.name:{CASE}:p-a")
    body = OLD.encrypt("周二见", context="mediation.case_messages.body:m-1")
    detail = OLD.encrypt("150502198001010011", context=f"mediation.cases.aggregate.PartyDetails.id_number:{CASE}:p-a")
    assert NEW.decrypt(name, context=store.CASE_PARTY_NAME.context(store.CASE_PARTY_NAME.row_id(CASE, "p-a"))) == "张三"
    assert store.CASE_MESSAGE_BODY.decrypt(NEW, body, "m-1") == "周二见"
    assert NEW.decrypt(detail, context=CASE_AGGREGATE.context(f"{CASE}:p-a", "PartyDetails.id_number")) \
        == "150502198001010011"
    assert {c.name for c in service_columns("mediation")} == {
        "mediation.case_parties.name", "mediation.case_messages.body", "mediation.cases.aggregate"}


@pytest.fixture
async def pool(stack_env):
    schema = f"pii_med_{uuid.uuid4().hex[:8]}"
    await db.migrate(stack_env["LIANDIAO_DATABASE_URL"], schema, REPO / "services" / "mediation" / "migrations")
    p = await db.create_pool(stack_env["LIANDIAO_DATABASE_URL"], schema)
    yield p, schema
    await p.close()
    conn = await asyncpg.connect(stack_env["LIANDIAO_DATABASE_URL"])
    await conn.execute(f"drop schema {schema} cascade")
    await conn.close()


def _key_ids(doc: str) -> set[str]:
    found: set[str] = set()

    def walk(v):
        if isinstance(v, dict):
            if "_pii" in v:
                found.add(NEW.key_id(base64.b64decode(v["_pii"])))
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(json.loads(doc))
    return found


@pytest.mark.stack
async def test_reencrypt_moves_names_messages_and_the_case_document_to_the_new_key(pool, stack_env):
    p, schema = pool
    now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    m = Mediation(p, OLD, calendar=shipped_calendar(), now=lambda: now)
    event = accepted(now, parties=PARTIES)
    async with p.acquire() as conn, conn.transaction():
        await m.on_dispute_assigned(conn, event)
    case = await m.get(OPERATOR, dispute_id=event.payload.dispute_id)
    cid = str(case.case_id)
    await m.post_message(MEDIATOR, cid, "p-a", "下周二上午调解")
    await m.case_command(MEDIATOR, cid, "draft", lambda c, a, t: ag.decide_draft_agreement(c, ag.DraftAgreement(
        agreement_id=f"a-{cid}", mode=AgreementMode.WRITTEN, actor=a), t))
    await m.agreement_command(MEDIATOR, f"a-{cid}", "edit", lambda c, a, t: ag.decide_edit_agreement(
        c, ag.EditAgreement(content=COMPLETE, actor=a), t))
    before = await p.fetchrow("select aggregate::text as doc, row_version from cases where case_id = $1", case.case_id)
    assert _key_ids(before["doc"]) == {"2026a"}

    dsn = stack_env["LIANDIAO_DATABASE_URL"]
    moved = {}
    for col in store.PII_COLUMNS:
        job = reencrypt_document_column if isinstance(col, EncryptedDocument) else reencrypt_bound_column
        moved[col.name] = await job(dsn, NEW, col, schema=schema, batch=1)   # type: ignore[arg-type]
    assert moved == {"mediation.case_parties.name": (2, []), "mediation.case_messages.body": (1, []),
                     "mediation.cases.aggregate": (1, [])}

    after = await p.fetchrow("select aggregate::text as doc, row_version from cases where case_id = $1", case.case_id)
    assert _key_ids(after["doc"]) == {"2026b"} and after["row_version"] == before["row_version"] + 1
    names = await p.fetch("select name from case_parties where case_id = $1", case.case_id)
    assert {NEW.key_id(bytes(r["name"])) for r in names} == {"2026b"}
    # The old key can go: every value reads with the new one alone, as it was.
    later = Mediation(p, ONLY_NEW, calendar=shipped_calendar(), now=lambda: now)
    again = await later.get(OPERATOR, case_id=cid)
    assert again == Codec(OLD).load(json.loads(before["doc"]))
    assert again.agreement.content.parties[0].id_number == "150502198001010011"
    assert [x.body for x in await later.messages(MEDIATOR, cid, 10, 0)] == ["下周二上午调解"]
    # Run again: nothing left to move.
    for col in store.PII_COLUMNS:
        job = reencrypt_document_column if isinstance(col, EncryptedDocument) else reencrypt_bound_column
        assert (await job(dsn, NEW, col, schema=schema))[0] == 0   # type: ignore[arg-type]


@pytest.mark.stack
async def test_the_command_line_finds_mediations_columns_and_its_document(stack_env):
    import os
    import subprocess
    import sys

    await db.migrate(stack_env["LIANDIAO_DATABASE_URL"], "mediation", REPO / "services" / "mediation" / "migrations")
    env = {**os.environ, **stack_env, "LIANDIAO_ENV": "development", "PYTHONPATH": f"{REPO / 'libs'}:{REPO}"}
    ran = subprocess.run([sys.executable, "-m", "liandiao.pii", "reencrypt", "--service", "mediation"], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert [line.split(":")[0] for line in ran.stdout.splitlines()] == [
        "mediation.case_parties.name", "mediation.case_messages.body", "mediation.cases.aggregate"]
