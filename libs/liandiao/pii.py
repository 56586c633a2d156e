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
encryption key: one leaked key must not give the other away."""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import re
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12
_MAGIC = b"\xa7\x02"
LEGACY_KEY_ID = "k0"   # the single LIANDIAO_PII_KEY of before key ids


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
        nonce = os.urandom(_NONCE)
        kid = self.current.encode()
        return _MAGIC + bytes([len(kid)]) + kid + nonce + self._aead[self.current].encrypt(
            nonce, plain.encode(), context.encode())

    def key_id(self, blob: bytes) -> str:
        """The key a value was encrypted under (LEGACY_KEY_ID for old values)."""
        parsed = _parse(blob)
        return parsed[0] if parsed else LEGACY_KEY_ID

    def decrypt(self, blob: bytes, *, context: str) -> str:
        parsed = _parse(blob)
        if parsed is not None and parsed[0] in self._aead:
            kid, nonce, body = parsed
            try:
                return self._aead[kid].decrypt(nonce, body, context.encode()).decode()
            except InvalidTag:
                pass   # a legacy value that happens to start like a tagged one, or tampered: try legacy
        legacy = self._aead.get(LEGACY_KEY_ID)
        if legacy is None:
            raise InvalidTag("value is not readable with any key of the ring")
        return legacy.decrypt(blob[:_NONCE], blob[_NONCE:], context.encode()).decode()

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


_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


async def reencrypt_column(dsn: str, cipher: PiiCipher, *, schema: str, table: str, column: str, id_column: str,
                           context: str, batch: int = 500) -> int:
    """Moves every value of ``schema.table.column`` not under the current key to it,
    in batches (each its own transaction, rows locked while rewritten). ``context``
    may name ``{id}``, replaced by the row's ``id_column`` (the row the value is bound
    to). Returns how many values were rewritten; safe to run again or concurrently."""
    import asyncpg

    for name in (schema, table, column, id_column):
        if not _IDENT.match(name):
            raise ValueError(f"{name!r} is not a plain SQL identifier")
    conn = await asyncpg.connect(dsn)
    done, after = 0, None
    try:
        while True:
            async with conn.transaction():
                rows = await conn.fetch(
                    f"select {id_column}::text as id, {column} as v from {schema}.{table} "
                    f"where {column} is not null and ($1::text is null or {id_column}::text > $1) "
                    f"order by {id_column}::text limit $2 for update", after, batch)
                for r in rows:
                    fresh = cipher.reencrypt(bytes(r["v"]), context=context.replace("{id}", r["id"]))
                    if fresh is not None:
                        await conn.execute(f"update {schema}.{table} set {column} = $1 where {id_column}::text = $2",
                                           fresh, r["id"])
                        done += 1
            if len(rows) < batch:
                return done
            after = rows[-1]["id"]
    finally:
        await conn.close()


def main() -> None:
    from liandiao.config import SettingsError, load_settings

    parser = argparse.ArgumentParser(prog="python -m liandiao.pii",
                                     description="Re-encrypt a column of personal data under the current key.")
    sub = parser.add_subparsers(dest="command", required=True)
    re_ = sub.add_parser("reencrypt")
    for name in ("schema", "table", "column", "id-column", "context"):
        re_.add_argument(f"--{name}", required=True)
    args = parser.parse_args()
    try:
        settings = load_settings("pii")
    except SettingsError as exc:
        raise SystemExit(f"configuration error: {exc}") from None
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
    main()
