"""PostgreSQL: one asyncpg pool per service, pinned to the service's own schema,
and the migration runner (numbered SQL files, applied once, recorded in the
service's schema, serialised by an advisory lock so two replicas may start at once)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

# Errors that mean "not now": the database or the network is not there (a restart,
# an administrator's shutdown, too many connections), or the transaction lost a
# race (deadlock, serialization failure, a lock not available). Waited out by
# consumers and relays, UNAVAILABLE to gRPC callers (who retry), never
# dead-lettered. asyncpg's DataError is an InterfaceError too, but it means a
# value could not be encoded: retrying cannot help, so it is not transient.
# InternalClientError ("cannot switch to state ...; another operation is in
# progress") is what a pooled connection cut by a database restart can raise on
# its next use: the pool replaces it, and the work succeeds on another (seen in
# tests/failure/test_database_restart.py).
_TRANSIENT = (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
              asyncpg.TooManyConnectionsError, asyncpg.CannotConnectNowError,
              asyncpg.AdminShutdownError, asyncpg.CrashShutdownError,
              asyncpg.DeadlockDetectedError, asyncpg.SerializationError, asyncpg.LockNotAvailableError,
              asyncpg.InternalClientError)


def transient(exc: BaseException) -> bool:
    """Whether ``exc`` will likely pass if the same work is tried again shortly."""
    return isinstance(exc, _TRANSIENT) and not isinstance(exc, asyncpg.DataError)


PLATFORM_SQL = Path(__file__).parent / "sql"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


async def create_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections see only ``schema`` (and pg_catalog): a service's
    SQL names its tables unqualified and cannot reach another service's."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": f"liandiao-{schema}"},
        reset=_no_session_state,
    )
    assert pool is not None
    return pool


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """What a connection needs before it goes back to the pool: nothing beyond what asyncpg
    always does (roll back a transaction left open). asyncpg's default reset sends
    "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL" on every release: the
    whole-flow benchmark counted 72 of them per dispute, a round trip each (bench/README.md).
    The platform keeps no session state on a pooled connection: advisory locks are taken per
    transaction (events.retention), LISTEN and the session lock of the outbox relay and of
    migrate() are on connections of their own, and settings come from the connection's startup
    parameters; libs/tests/test_db_contract.py keeps it so."""


@dataclass(frozen=True)
class Migration:
    scope: str
    version: int
    name: str
    sql: str


def discover(folder: Path, scope: str) -> list[Migration]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        m = _FILE.match(path.name)
        if not m:
            raise ValueError(f"migration file {path} must be named NNNN_name.sql")
        found.append(Migration(scope, int(m.group(1)), m.group(2), path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration numbers in {folder}")
    return found


async def migrate(dsn: str, schema: str, service_migrations: Path) -> list[str]:
    """Applies what is missing; returns the names applied. Safe to run concurrently."""
    if not re.match(r"^[a-z_][a-z0-9_]*$", schema):
        raise ValueError(f"bad schema name {schema!r}")
    plan = discover(PLATFORM_SQL, "platform") + discover(service_migrations, "service")
    conn = await asyncpg.connect(dsn)
    applied: list[str] = []
    try:
        # Serialise concurrent starts of the same service (two replicas, an init
        # container and a developer): the second waits, then finds nothing to do.
        await conn.execute("select pg_advisory_lock(hashtext('liandiao.migrate.' || $1))", schema)
        try:
            await conn.execute(f"create schema if not exists {schema}")
            await conn.execute(f"set search_path to {schema}")
            await conn.execute(
                """create table if not exists schema_migrations (
                       scope text not null, version int not null, name text not null,
                       applied_at timestamptz not null default now(),
                       primary key (scope, version))"""
            )
            done = {(r["scope"], r["version"]) for r in await conn.fetch("select scope, version from schema_migrations")}
            for m in plan:
                if (m.scope, m.version) in done:
                    continue
                async with conn.transaction():
                    await conn.execute(m.sql)
                    await conn.execute(
                        "insert into schema_migrations (scope, version, name) values ($1, $2, $3)",
                        m.scope, m.version, m.name,
                    )
                applied.append(f"{m.scope}:{m.version:04d}_{m.name}")
                log.info("migration applied", extra={"schema": schema, "migration": applied[-1]})
        finally:
            await conn.execute("select pg_advisory_unlock(hashtext('liandiao.migrate.' || $1))", schema)
    finally:
        await conn.close()
    return applied
