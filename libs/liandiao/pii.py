"""Personal data at rest: ID numbers, phones and addresses are encrypted with
AES-256-GCM; equality look-ups (duplicate detection, recusal) use a keyed
fingerprint instead of the plain value (PIPL Art.28, DOMAIN §8)."""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12


class PiiCipher:
    def __init__(self, key: bytes):
        if len(key) != 32:
            raise ValueError("PII key must be 32 bytes")
        self._aead = AESGCM(key)
        # A separate key for fingerprints, so that a fingerprint reveals nothing
        # about the encryption key and vice versa.
        self._fp_key = hmac.new(key, b"liandiao/fingerprint/v1", hashlib.sha256).digest()

    def encrypt(self, plain: str, *, context: str) -> bytes:
        """Encrypts ``plain``; ``context`` (e.g. "party.id_number") is bound as
        associated data, so a ciphertext copied into another column fails."""
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, plain.encode(), context.encode())

    def decrypt(self, blob: bytes, *, context: str) -> str:
        return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], context.encode()).decode()

    def fingerprint(self, value: str) -> str:
        return hmac.new(self._fp_key, value.encode(), hashlib.sha256).hexdigest()
