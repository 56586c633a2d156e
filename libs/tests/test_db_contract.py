"""Pooled connections go back to the pool without asyncpg's reset round trip
(liandiao.db._no_session_state), so no code may leave session state on one: a session
advisory lock, LISTEN, a session-level SET or a cursor WITH HOLD. The two places that need
session state (the outbox relay's lock and LISTEN, migrate()'s lock and search_path) use
connections of their own; this test fails when new code puts such a statement anywhere else."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SESSION_STATE = re.compile(
    r"pg_(try_)?advisory_lock\(|add_listener\(|(^|[\"';]\s*)listen\s+\w|(^|[\"';]\s*)set\s+(session\s+)?(?!local\b|transaction\b)[a-z_]+\s*(to|=)"
    r"|with\s+hold", re.I)
# file -> the function that holds its own connection (asyncpg.connect, never the pool)
OWN_CONNECTION = {"libs/liandiao/db.py": "async def migrate(", "libs/liandiao/events/outbox.py": "async def _run("}


def _sources():
    for folder in ("libs/liandiao", "services"):
        for path in (REPO / folder).rglob("*.py"):
            rel = path.relative_to(REPO).as_posix()
            if "/tests/" in rel or rel.endswith("_pb2.py") or rel.endswith("_pb2_grpc.py"):
                continue
            yield rel, path.read_text(encoding="utf-8")


DEF = re.compile(r"^\s*(async )?def \w+\(", re.M)


def _enclosing(text: str, pos: int) -> str:
    """The header of the function that holds position ``pos`` ("<module>" outside any)."""
    headers = list(DEF.finditer(text, 0, pos))
    return headers[-1].group(0).strip() if headers else "<module>"


def test_session_state_is_only_taken_on_connections_of_their_own():
    offending = [f"{rel}: {text[m.start():m.end() + 30].splitlines()[0]} (in {_enclosing(text, m.start())})"
                 for rel, text in _sources() for m in SESSION_STATE.finditer(text)
                 if not _enclosing(text, m.start()).startswith(OWN_CONNECTION.get(rel, "\0"))]
    assert not offending, offending


def test_the_owners_really_connect_on_their_own():
    for rel, header in OWN_CONNECTION.items():
        text = (REPO / rel).read_text(encoding="utf-8")
        start = text.index(header)
        following = DEF.search(text, start + len(header))
        assert "asyncpg.connect(" in text[start:following.start() if following else None], rel


def test_the_pattern_catches_what_it_is_for():
    for statement in ("select pg_advisory_lock(1)", "select pg_try_advisory_lock(hashtext($1))", "\"LISTEN outbox\"",
                      "conn.add_listener('x', f)", "execute(\"set search_path to intake\")", "'SET statement_timeout = 5'",
                      "declare c cursor with hold for select 1"):
        assert SESSION_STATE.search(statement), statement
    for statement in ("select pg_try_advisory_xact_lock(1)", "set local statement_timeout = 5",
                      "set transaction isolation level serializable", "update t set status = 'x'"):
        assert not SESSION_STATE.search(statement), statement
