"""Personal data at rest: ID numbers, phones and addresses are encrypted with
AES-256-GCM; equality look-ups (duplicate detection, recusal) use a keyed
fingerprint instead of the plain value (PIPL Art.28, DOMAIN §8).

Keys rotate (issue 7): every value names the key it was encrypted under, so a ring
of keys reads old values while new ones are written under the current key, and
``python -m liandiao.pii reencrypt`` moves a column to the current key. Format:
``b"\\xa7\\x02" + len(key id) + key id + nonce(12) + ciphertext``. Values written
before key ids existed (``nonce + ciphertext``) are read with the ring's legacy
key: GCM's tag tells the two apart with certainty.

Fingerprints use a key of their own (LIANDIAO_FINGERPRINT_KEY), never the
encryption key: one leaked key must not give the other away.

Services encrypt through ``EncryptedColumn`` only: it binds each value to its
schema, table, column and row ("intake.parties.id_number:<party id>") as GCM's
associated data, so a ciphertext copied into another row or column does not
decrypt (``UnreadableValue``), and the context format is written once.
``python -m liandiao.pii rebind --service <name>`` rewrites values stored before
this binding (bound to the column alone) once; ``reencrypt --service <name>``
moves every column of a service to the current key; ``refingerprint --service
<name>`` recomputes its fingerprints (``FINGERPRINT_COLUMNS``) from the decrypted
values under a new fingerprint key."""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import importlib
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12
_MAGIC = b"\xa7\x02"
LEGACY_KEY_ID = "k0"   # the single LIANDIAO_PII_KEY of before key ids


class UnreadableValue(ValueError):
    """A value that no key of the ring decrypts under the context asked for: it was
    copied from another row or column, tampered with, or its key is not configured."""


def derived_fingerprint_key(key: bytes) -> bytes:
    """How fingerprint keys were derived before they were configured on their own
    (kept so that a development stack's fingerprints stay comparable)."""
    return hmac.new(key, b"liandiao/fingerprint/v1", hashlib.sha256).digest()


class PiiCipher:
    def __init__(self, key: bytes | None = None, *, keys: Mapping[str, bytes] | None = None,
                 current: str = LEGACY_KEY_ID, fingerprint_key: bytes | None = None):
        """``PiiCipher(key)``: one key (id k0). ``PiiCipher(keys={...}, current=id,
        fingerprint_key=...)``: a ring; new values go under ``current``."""
        ring = dict(keys or {})
        if key is not None:
            ring.setdefault(LEGACY_KEY_ID, key)
        if current not in ring:
            raise ValueError(f"the current PII key {current!r} is not in the key ring")
        for kid, k in ring.items():
            if len(k) != 32:
                raise ValueError(f"PII key {kid!r} must be 32 bytes")
            if not re.match(r"^[A-Za-z0-9._-]{1,40}$", kid):
                raise ValueError(f"PII key id {kid!r}: letters, digits, '.', '_' or '-', at most 40")
        self._aead = {kid: AESGCM(k) for kid, k in ring.items()}
        self.current = current
        self._fp_key = fingerprint_key or derived_fingerprint_key(ring[current])
        if fingerprint_key is not None and any(hmac.compare_digest(fingerprint_key, k) for k in ring.values()):
            raise ValueError("the fingerprint key must not be one of the encryption keys")

    def encrypt(self, plain: str, *, context: str) -> bytes:
        """Encrypts ``plain`` under the current key; ``context`` (e.g.
        "party.id_number:<party id>") is bound as associated data, so a ciphertext
        copied into another column or another row fails to decrypt."""
        return self.encrypt_bytes(plain.encode(), context=context)

    def encrypt_bytes(self, data: bytes, *, context: str) -> bytes:
        """``encrypt`` for binary data (e.g. a dead-lettered message that holds names)."""
        nonce = os.urandom(_NONCE)
        kid = self.current.encode()
        return _MAGIC + bytes([len(kid)]) + kid + nonce + self._aead[self.current].encrypt(
            nonce, data, context.encode())

    def decrypt_bytes(self, blob: bytes, *, context: str) -> bytes:
        parsed = _parse(blob)
        if parsed is not None and parsed[0] in self._aead:
            kid, nonce, body = parsed
            try:
                return self._aead[kid].decrypt(nonce, body, context.encode())
            except InvalidTag:
                pass
        raise UnreadableValue(f"a value does not decrypt as {_shown(context)}")

    def key_id(self, blob: bytes) -> str:
        """The key a value was encrypted under (LEGACY_KEY_ID for old values)."""
        parsed = _parse(blob)
        return parsed[0] if parsed else LEGACY_KEY_ID

    def decrypt(self, blob: bytes, *, context: str) -> str:
        """The plain value; UnreadableValue (naming the context and the key id, never
        the value) when it does not belong to ``context`` or its key is missing."""
        parsed = _parse(blob)
        if parsed is not None and parsed[0] in self._aead:
            kid, nonce, body = parsed
            try:
                return self._aead[kid].decrypt(nonce, body, context.encode()).decode()
            except InvalidTag:
                pass   # a legacy value that happens to start like a tagged one, or tampered: try legacy
        legacy = self._aead.get(LEGACY_KEY_ID)
        if legacy is not None and len(blob) > _NONCE:
            try:
                return legacy.decrypt(blob[:_NONCE], blob[_NONCE:], context.encode()).decode()
            except InvalidTag:
                pass
        kid = parsed[0] if parsed else LEGACY_KEY_ID
        missing = "" if kid in self._aead else f"; its key {kid!r} is not in the key ring"
        raise UnreadableValue(f"a value does not decrypt as {_shown(context)} (copied from another row or "
                              f"column, or tampered with){missing}")

    def reencrypt(self, blob: bytes, *, context: str) -> bytes | None:
        """The value under the current key, or None when it is there already."""
        if self.key_id(blob) == self.current and _parse(blob) is not None:
            return None
        return self.encrypt(self.decrypt(blob, context=context), context=context)

    def fingerprint(self, value: str) -> str:
        return hmac.new(self._fp_key, value.encode(), hashlib.sha256).hexdigest()


def _parse(blob: bytes) -> tuple[str, bytes, bytes] | None:
    if len(blob) < 3 + _NONCE or not blob.startswith(_MAGIC):
        return None
    n = blob[2]
    if len(blob) < 3 + n + _NONCE + 16:
        return None
    try:
        kid = blob[3:3 + n].decode("ascii")
    except UnicodeDecodeError:
        return None
    start = 3 + n
    return kid, blob[start:start + _NONCE], blob[start + _NONCE:]


def _shown(context: str) -> str:
    return repr(context[:120])


_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class EncryptedColumn:
    """One encrypted column of personal data (bytea), bound to its row: the one way
    services encrypt and decrypt. ``id_column`` is the row's stable id (a primary key
    that never changes), ``sub_id_column`` the second part of a two-column key (the
    row id is then "<id>:<sub id>"). ``legacy_context`` is the context its values had
    before this helper: column-only ("party.phone"), which only ``rebind`` accepts
    because it binds nothing to the row; or row-bound in an older spelling, with
    ``{id}`` for the row id ("delivery.address:{id}"), which reads also accept until
    ``rebind`` has run: such a value still cannot be moved to another row."""
    schema: str
    table: str
    column: str          # e.g. "id_number_enc"
    id_column: str       # e.g. "party_id"
    legacy_context: str = ""
    sub_id_column: str = ""

    def __post_init__(self) -> None:
        for name in (self.schema, self.table, self.column, self.id_column):
            if not _IDENT.match(name):
                raise ValueError(f"{name!r} is not a plain SQL identifier")
        if self.sub_id_column and not _IDENT.match(self.sub_id_column):
            raise ValueError(f"{self.sub_id_column!r} is not a plain SQL identifier")

    @property
    def name(self) -> str:
        """"intake.parties.id_number": where a value belongs, without the row."""
        return f"{self.schema}.{self.table}.{self.column.removesuffix('_enc')}"

    def row_id(self, row_id: UUID | str, sub_id: UUID | str | None = None) -> str:
        return f"{row_id}:{sub_id}" if self.sub_id_column else str(row_id)

    def context(self, row_id: UUID | str, field: str = "") -> str:
        """``field``: where a value sits inside a document column (e.g. a JSON case
        holding several encrypted values per row), "PartyDetails.name"."""
        return f"{self.name}.{field}:{row_id}" if field else f"{self.name}:{row_id}"

    def _row_bound_legacy(self, row_id: UUID | str) -> str:
        return self.legacy_context.replace("{id}", str(row_id)) if "{id}" in self.legacy_context else ""

    def encrypt(self, cipher: PiiCipher, plain: str | None, row_id: UUID | str) -> bytes | None:
        """The value to store (None for no value: an empty field stays NULL)."""
        return cipher.encrypt(plain, context=self.context(row_id)) if plain else None

    def decrypt(self, cipher: PiiCipher, blob: bytes | None, row_id: UUID | str) -> str | None:
        if blob is None:
            return None
        legacy = self._row_bound_legacy(row_id)
        try:
            return cipher.decrypt(bytes(blob), context=self.context(row_id))
        except UnreadableValue as exc:
            if not legacy:
                raise
            first = exc
        try:   # written before this helper, bound to the same row in the old spelling (until rebind)
            return cipher.decrypt(bytes(blob), context=legacy)
        except UnreadableValue:
            raise first from None   # the error names the helper's context, as for any other column


async def _rewrite_column(dsn: str, col: EncryptedColumn, rewrite, batch: int,
                          schema: str | None) -> tuple[int, list[str]]:
    """Runs ``rewrite(blob, row id) -> new blob | None`` over every value of the
    column, in batches (each its own transaction, rows locked while rewritten).
    ``schema``: where the table is, when not the service's own (tests). Returns
    (values rewritten, ids of rows whose value could not be read)."""
    keys = (col.id_column, col.sub_id_column) if col.sub_id_column else (col.id_column,)
    return await _rewrite(dsn, schema or col.schema, col.table, col.column, keys, rewrite, batch)


async def _rewrite(dsn: str, schema: str, table: str, column: str, id_columns: tuple[str, ...], rewrite,
                   batch: int, *, read: str = "", write: str = "$1", also: str = "") -> tuple[int, list[str]]:
    """``read``/``write``: the SQL that reads the value and the one that stores it (a
    document column: ``jsonb`` as text); ``also``: more of the SET clause (a row version)."""
    import asyncpg

    for name in (schema, table, column, *id_columns):
        if not _IDENT.match(name):
            raise ValueError(f"{name!r} is not a plain SQL identifier")
    conn = await asyncpg.connect(dsn)
    done, unreadable, after = 0, [], None
    table = f"{schema}.{table}"
    # A two-column key is read as one text id, "<id>:<sub id>", the row id of its context.
    id_sql = " || ':' || ".join(f"{c}::text" for c in id_columns)
    id_sql = f"({id_sql})" if len(id_columns) > 1 else id_sql
    try:
        while True:
            async with conn.transaction():
                rows = await conn.fetch(
                    f"select {id_sql} as id, {read or column} as v from {table} "
                    f"where {column} is not null and ($1::text is null or {id_sql} > $1) "
                    f"order by {id_sql} limit $2 for update", after, batch)
                for r in rows:
                    try:
                        fresh = rewrite(r["v"] if read else bytes(r["v"]), r["id"])
                    except UnreadableValue:
                        unreadable.append(r["id"])
                        continue
                    if fresh is not None:
                        await conn.execute(f"update {table} set {column} = {write}{also} where {id_sql} = $2",
                                           fresh, r["id"])
                        done += 1
            if len(rows) < batch:
                return done, unreadable
            after = rows[-1]["id"]
    finally:
        await conn.close()


async def rebind_column(dsn: str, cipher: PiiCipher, col: EncryptedColumn, *, batch: int = 500,
                        schema: str | None = None) -> tuple[int, list[str]]:
    """Binds every value still under the column-only ``legacy_context`` to its row
    (and the current key). Values bound already are left alone, so it is safe to
    run again or while the services write. Returns (rebound, unreadable row ids)."""
    def rewrite(blob: bytes, row_id: str) -> bytes | None:
        bound = col.context(row_id)
        try:
            cipher.decrypt(blob, context=bound)
            return None
        except UnreadableValue:
            if not col.legacy_context:
                raise
        old = col.legacy_context.replace("{id}", row_id)
        return cipher.encrypt(cipher.decrypt(blob, context=old), context=bound)

    return await _rewrite_column(dsn, col, rewrite, batch, schema)


async def reencrypt_bound_column(dsn: str, cipher: PiiCipher, col: EncryptedColumn, *, batch: int = 500,
                                 schema: str | None = None) -> tuple[int, list[str]]:
    """Moves every value of ``col`` not under the current key to it (row-bound values only)."""
    return await _rewrite_column(dsn, col, lambda blob, row_id: cipher.reencrypt(blob, context=col.context(row_id)),
                                 batch, schema)


@dataclass(frozen=True)
class EncryptedDocument:
    """A jsonb column whose documents hold encrypted values where only the service's
    codec knows (mediation's case aggregate): their contexts come from ``column``'s
    ``context(row id, field)``, and ``reencrypt`` rewrites each document through
    ``rewrite(cipher, document) -> document | None`` (None: already under the current
    key). ``version_column``, when set, is bumped with each rewrite so that a writer
    holding an older copy of the row sees a conflict instead of overwriting it."""
    column: EncryptedColumn
    rewrite: Callable[[PiiCipher, Any], Any]
    version_column: str = ""

    @property
    def name(self) -> str:
        return self.column.name


async def reencrypt_document_column(dsn: str, cipher: PiiCipher, doc: EncryptedDocument, *, batch: int = 100,
                                    schema: str | None = None) -> tuple[int, list[str]]:
    """Moves every document of ``doc`` whose values are not all under the current key to
    it, in batches (each its own transaction, rows locked). Returns (rewritten, unreadable
    row ids)."""
    import json

    col = doc.column
    version = doc.version_column
    if version and not _IDENT.match(version):
        raise ValueError(f"{version!r} is not a plain SQL identifier")

    def rewrite(text: str, row_id: str) -> str | None:
        fresh = doc.rewrite(cipher, json.loads(text))
        return None if fresh is None else json.dumps(fresh)

    keys = (col.id_column, col.sub_id_column) if col.sub_id_column else (col.id_column,)
    return await _rewrite(dsn, schema or col.schema, col.table, col.column, keys, rewrite, batch,
                          read=f"{col.column}::text", write="$1::jsonb",
                          also=f", {version} = {version} + 1" if version else "")


@dataclass(frozen=True)
class FingerprintColumn:
    """A keyed fingerprint stored beside the encrypted value it was made from (same row):
    ``fingerprint(prefix + plain value of source)``. Because the value is kept, a new
    fingerprint key can be applied to it (``refingerprint``)."""
    column: str                  # e.g. "id_fp"
    source: EncryptedColumn      # e.g. intake.parties.id_number_enc
    prefix: str = ""             # what the service puts before the value ("lawyer-licence:")

    def __post_init__(self) -> None:
        if not _IDENT.match(self.column):
            raise ValueError(f"{self.column!r} is not a plain SQL identifier")

    @property
    def name(self) -> str:
        return f"{self.source.schema}.{self.source.table}.{self.column}"


async def refingerprint_column(dsn: str, cipher: PiiCipher, fp: FingerprintColumn, *, batch: int = 500,
                               schema: str | None = None) -> tuple[int, list[str]]:
    """Recomputes every fingerprint of ``fp`` under the current fingerprint key from the
    decrypted source value, in batches (each its own transaction, rows locked). Values
    already under it are left alone: safe to run again. Returns (rewritten, unreadable ids)."""
    import asyncpg

    col = fp.source
    table = f"{schema or col.schema}.{col.table}"
    conn = await asyncpg.connect(dsn)
    done, unreadable, after = 0, [], None
    try:
        while True:
            async with conn.transaction():
                rows = await conn.fetch(
                    f"select {col.id_column}::text as id, {col.column} as v, {fp.column} as fp from {table} "
                    f"where {col.column} is not null and ($1::text is null or {col.id_column}::text > $1) "
                    f"order by {col.id_column}::text limit $2 for update", after, batch)
                for r in rows:
                    try:
                        plain = col.decrypt(cipher, bytes(r["v"]), r["id"])
                    except UnreadableValue:
                        unreadable.append(r["id"])
                        continue
                    fresh = cipher.fingerprint(fp.prefix + (plain or ""))
                    if fresh != r["fp"]:
                        await conn.execute(f"update {table} set {fp.column} = $1 where {col.id_column}::text = $2",
                                           fresh, r["id"])
                        done += 1
            if len(rows) < batch:
                return done, unreadable
            after = rows[-1]["id"]
    finally:
        await conn.close()


async def refingerprint_service(dsn: str, cipher: PiiCipher, service: str, schema: str | None = None) -> int:
    """Every FINGERPRINT_COLUMNS of the service, then its ``after_refingerprint(conn)``
    (what it derives from fingerprints, e.g. intake's duplicate keys), if it has one."""
    import asyncpg

    module = importlib.import_module(f"services.{service}.store")
    failed = 0
    for fp in getattr(module, "FINGERPRINT_COLUMNS", ()):
        n, unreadable = await refingerprint_column(dsn, cipher, fp, schema=schema)
        print(f"{fp.name}: {n} fingerprint(s) recomputed under the current fingerprint key")
        if unreadable:
            failed += len(unreadable)
            print(f"{fp.name}: {len(unreadable)} value(s) unreadable, rows {', '.join(unreadable[:20])}",
                  file=sys.stderr)
    after = getattr(module, "after_refingerprint", None)
    if after is not None:
        conn = await asyncpg.connect(dsn, server_settings={"search_path": schema or service})
        try:
            async with conn.transaction():
                print(f"{service}: {await after(conn)}")
        finally:
            await conn.close()
    for note in getattr(module, "FINGERPRINTS_KEPT", ()):
        print(f"{service}: not recomputable: {note}", file=sys.stderr)
    return 1 if failed else 0


def service_columns(service: str) -> Sequence[EncryptedColumn | EncryptedDocument]:
    """The encrypted columns a service declares (``PII_COLUMNS`` in its store module)."""
    if not _IDENT.match(service):
        raise ValueError(f"{service!r} is not a service name")
    module = importlib.import_module(f"services.{service}.store")
    return tuple(getattr(module, "PII_COLUMNS", ()))


async def reencrypt_column(dsn: str, cipher: PiiCipher, *, schema: str, table: str, column: str, id_column: str,
                           context: str, batch: int = 500) -> int:
    """Moves every value of ``schema.table.column`` not under the current key to it,
    in batches (each its own transaction, rows locked while rewritten). ``context``
    may name ``{id}``, replaced by the row's ``id_column`` (the row the value is bound
    to). Returns how many values were rewritten; safe to run again or concurrently."""
    done, unreadable = await _rewrite(dsn, schema, table, column, (id_column,),
                                      lambda blob, row_id: cipher.reencrypt(blob, context=context.replace("{id}", row_id)),
                                      batch)
    if unreadable:
        raise UnreadableValue(f"{schema}.{table}.{column}: {len(unreadable)} value(s) could not be read "
                              f"(rows {', '.join(unreadable[:5])}); the others were re-encrypted")
    return done


async def _run_service(dsn: str, cipher: PiiCipher, service: str, command: str) -> int:
    job = rebind_column if command == "rebind" else reencrypt_bound_column
    failed = 0
    for col in service_columns(service):
        if isinstance(col, EncryptedDocument):
            if command == "rebind":   # documents were bound to their rows from the start
                print(f"{col.name}: nothing to rebind (row-bound since it was written)")
                continue
            n, unreadable = await reencrypt_document_column(dsn, cipher, col)
        else:
            n, unreadable = await job(dsn, cipher, col)
        verb = "bound to their rows" if command == "rebind" else f"re-encrypted under key {cipher.current!r}"
        print(f"{col.name}: {n} value(s) {verb}")
        if unreadable:
            failed += len(unreadable)
            print(f"{col.name}: {len(unreadable)} value(s) unreadable, rows {', '.join(unreadable[:20])}",
                  file=sys.stderr)
    return 1 if failed else 0


def main() -> None:
    from liandiao.config import SettingsError, load_settings

    parser = argparse.ArgumentParser(prog="python -m liandiao.pii",
                                     description="Maintain the encrypted columns of personal data.")
    sub = parser.add_subparsers(dest="command", required=True)
    re_ = sub.add_parser("reencrypt", help="move a service's columns (or one column) to the current key")
    re_.add_argument("--service")
    for name in ("schema", "table", "column", "id-column", "context"):
        re_.add_argument(f"--{name}")
    rb = sub.add_parser("rebind", help="once: bind values stored before row binding to their rows")
    rb.add_argument("--service", required=True)
    rf = sub.add_parser("refingerprint", help="recompute a service's stored fingerprints under the current "
                                              "LIANDIAO_FINGERPRINT_KEY (a fingerprint key rotation)")
    rf.add_argument("--service", required=True)
    args = parser.parse_args()
    try:
        settings = load_settings("pii")
    except SettingsError as exc:
        raise SystemExit(f"configuration error: {exc}") from None
    if args.command == "refingerprint":
        raise SystemExit(asyncio.run(refingerprint_service(settings.database_url, settings.pii_cipher(),
                                                            args.service)))
    if args.service:
        raise SystemExit(asyncio.run(_run_service(settings.database_url, settings.pii_cipher(), args.service,
                                                  args.command)))
    missing = [n for n in ("schema", "table", "column", "id_column", "context") if not getattr(args, n)]
    if missing:
        parser.error("reencrypt needs --service, or all of --schema --table --column --id-column --context")
    n = asyncio.run(reencrypt_column(settings.database_url, settings.pii_cipher(), schema=args.schema,
                                     table=args.table, column=args.column, id_column=args.id_column,
                                     context=args.context))
    print(f"{n} value(s) re-encrypted under key {settings.pii_current_key_id!r}")


def parse_key_ring(raw: str) -> dict[str, bytes]:
    """``"2026a:<base64>,2026b:<base64>"`` -> {key id: key}; ValueError naming the entry."""
    ring: dict[str, bytes] = {}
    for entry in (e.strip() for e in raw.split(",") if e.strip()):
        kid, sep, b64 = entry.partition(":")
        if not sep:
            raise ValueError(f"{entry[:20]!r}... is not <key id>:<base64 key>")
        try:
            ring[kid] = base64.b64decode(b64, validate=True)
        except ValueError:
            raise ValueError(f"key {kid!r} is not valid base64") from None
    return ring


if __name__ == "__main__":
    # Run as the imported module, not as __main__: the services' PII_COLUMNS are built from
    # liandiao.pii's classes, which a second copy of this module would not recognise.
    importlib.import_module("liandiao.pii").main()
