"""SM3 digests and SM2 signatures (the national algorithms), with key ids and a key ring.

- SM3 (GB/T 32905-2016): the digest every agreement signature covers. Computed by OpenSSL
  through `cryptography` (already a dependency, C speed, incremental for large documents);
  the tests pin it to the standard's vectors and to gmssl's pure-Python SM3.
- SM2 (GB/T 32918.2-2016) signature with SM3, distinguishing id "1234567812345678"
  (GM/T 0009-2012 default): signing and verification run in C, in the GmSSL library through
  PyPI gmssl-pyx (a compiled binding, GmSSL statically linked; the nonce k from GmSSL's own
  CSPRNG). OpenSSL verifies these signatures only when told the same id
  (`-pkeyopt distid:1234567812345678`). Until issue 12 the signature math was pure-Python gmssl
  3.2.2, about 16 ms a signature and 16 ms a check; the whole-flow profile found it a quarter of
  mediation's CPU (sealing checks every party's signature). GmSSL does it in about 2 ms and
  0.5 ms, and the tests still check both ways against pure-Python gmssl and against OpenSSL, so a
  seal signed before the change verifies after it. gmssl stays for what GmSSL's binding does not
  offer: the public half of a private key (once per key, cached). Its raw API has traps this
  module closes: its own nonce comes from `random` (not a CSPRNG), it strips every leading
  "0"/"4" character of a public key given with the 04 prefix, and it accepts r or s outside
  [1, n-1]; none of that is reached now.
- Keys: a `KeyRing` maps key id -> (organization, public key) for verification and keeps every
  key ever used, retired or not, so an agreement sealed with last year's key still verifies
  after a rotation. A `Signer` holds one organization's active private key; private keys are
  read from files named in the key configuration (see `load_keys`), never from the database.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import gmssl_pyx
from Cryptodome.Util.asn1 import DerBitString, DerInteger, DerObjectId, DerOctetString, DerSequence
from cryptography.hazmat.primitives import hashes
from gmssl import sm2 as _gmssl_sm2

ALGORITHM = "SM2-with-SM3"
# GM/T 0009-2012 §10: the default user id; gmssl hard-codes it into Z, OpenSSL needs it as distid.
DEFAULT_SIGNER_ID = b"1234567812345678"

_TABLE = _gmssl_sm2.default_ecc_table
_P = int(_TABLE["p"], 16)
_A = int(_TABLE["a"], 16)
_B = int(_TABLE["b"], 16)
_N = int(_TABLE["n"], 16)
_G = _TABLE["g"]

_OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
_OID_SM2 = "1.2.156.10197.1.301"
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


class SigningError(ValueError):
    """Base of the errors of this module."""


class InvalidKey(SigningError):
    """Key material that is not an SM2 key (wrong length, not on the curve, unreadable)."""


class UnknownKeyId(SigningError, LookupError):
    """A signature names a key id that is not in the key ring: add the key's public half."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        super().__init__(f"key id {key_id!r} is not in the key ring")


class KeyConfigError(SigningError):
    """The key configuration file is missing, malformed or inconsistent."""


# ---- SM3 ---------------------------------------------------------------------------------


def sm3_digest(data: bytes) -> bytes:
    """The 32-byte SM3 digest of `data` (GB/T 32905-2016)."""
    hasher = Sm3Hasher()
    hasher.update(data)
    return hasher.digest()


def sm3_hex(data: bytes) -> str:
    """SM3 as 64 lowercase hex digits: how digests are stored and shown."""
    return sm3_digest(data).hex()


# A signed ruling as a file anyone can hold and check offline (services.confirmation.verify):
# the canonical document, the key id and the SM2 signature, base64 in JSON. Here, not in the
# service, because the demo and operators' tools write such files too.
SIGNED_RULING_FORMAT = "liandiao-signed-ruling/1"


def signed_ruling_file(document: bytes, key_id: str, signature: bytes) -> str:
    return json.dumps({"format": SIGNED_RULING_FORMAT, "key_id": key_id, "document": base64.b64encode(document).decode(),
                       "signature": base64.b64encode(signature).decode(), "sm3": sm3_hex(document)}, indent=1)


class Sm3Hasher:
    """Incremental SM3, for documents read in chunks."""

    def __init__(self) -> None:
        self._hash = hashes.Hash(hashes.SM3())

    def update(self, chunk: bytes) -> None:
        self._hash.update(chunk)

    def digest(self) -> bytes:
        return self._hash.finalize()


# ---- SM2 keys ----------------------------------------------------------------------------


def _on_curve(x: int, y: int) -> bool:
    return 0 <= x < _P and 0 <= y < _P and (y * y - (x * x * x + _A * x + _B)) % _P == 0


@dataclass(frozen=True)
class PublicKey:
    """An SM2 public key: a point on the SM2 curve (GB/T 32918.5 parameters)."""

    x: int
    y: int

    def __post_init__(self) -> None:
        if not _on_curve(self.x, self.y):
            raise InvalidKey("the point is not on the SM2 curve")

    @classmethod
    def from_hex(cls, text: str) -> PublicKey:
        """Uncompressed form, 04 || x || y (130 hex digits); the 04 may be left out."""
        text = text.strip().lower()
        if len(text) == 130 and text.startswith("04"):
            text = text[2:]
        if len(text) != 128 or not re.fullmatch(r"[0-9a-f]+", text):
            raise InvalidKey("an SM2 public key is 04 followed by 128 hex digits")
        return cls(int(text[:64], 16), int(text[64:], 16))

    def to_hex(self) -> str:
        return "04" + self._xy_hex()

    def _xy_hex(self) -> str:
        return f"{self.x:064x}{self.y:064x}"

    def to_der(self) -> bytes:
        """SubjectPublicKeyInfo, as OpenSSL writes an SM2 public key."""
        algorithm = DerSequence([DerObjectId(_OID_EC_PUBLIC_KEY), DerObjectId(_OID_SM2)])
        return bytes(DerSequence([algorithm, DerBitString(bytes.fromhex(self.to_hex()))]).encode())

    def to_pem(self) -> str:
        return _pem("PUBLIC KEY", self.to_der())

    @classmethod
    def from_pem(cls, text: str) -> PublicKey:
        der = _unpem(text, "PUBLIC KEY")
        try:
            spki = _items(der, nr_elements=2)
            _check_algorithm(spki[0])
            point = DerBitString().decode(_bytes(spki[1]), strict=True).value
        except (ValueError, IndexError, TypeError) as exc:
            raise InvalidKey(f"not an SM2 public key: {exc}") from None
        return cls.from_hex(bytes(point).hex())


@dataclass(frozen=True, repr=False)
class PrivateKey:
    """An SM2 private key d, 1 <= d <= n-2 (GB/T 32918.1 §6.1). Never printed."""

    d: int = field(repr=False)

    def __post_init__(self) -> None:
        if not 1 <= self.d <= _N - 2:
            raise InvalidKey("an SM2 private key lies in [1, n-2]")

    def __repr__(self) -> str:
        return "PrivateKey(<hidden>)"

    def public_key(self) -> PublicKey:
        return _public_of(self.d)

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(secrets.randbelow(_N - 2) + 1)

    @classmethod
    def from_hex(cls, text: str) -> PrivateKey:
        text = text.strip().lower()
        if len(text) != 64 or not re.fullmatch(r"[0-9a-f]+", text):
            raise InvalidKey("an SM2 private key in hex is 64 hex digits")
        return cls(int(text, 16))

    def to_pem(self) -> str:
        """PKCS#8, as `openssl genpkey -algorithm SM2` writes it (for tools and tests)."""
        sec1 = DerSequence([
            1, DerOctetString(self.d.to_bytes(32, "big")),
        ]).encode()
        algorithm = DerSequence([DerObjectId(_OID_EC_PUBLIC_KEY), DerObjectId(_OID_SM2)])
        return _pem("PRIVATE KEY", bytes(DerSequence([0, algorithm, DerOctetString(sec1)]).encode()))

    @classmethod
    def from_pem(cls, text: str) -> PrivateKey:
        """PKCS#8 ("PRIVATE KEY", from openssl genpkey) or SEC1 ("SM2/EC PRIVATE KEY")."""
        label = _pem_label(text)
        try:
            if label == "PRIVATE KEY":
                outer = _items(_unpem(text, label))
                _check_algorithm(outer[1])
                sec1 = DerOctetString().decode(_bytes(outer[2]), strict=True).payload
            elif label in ("SM2 PRIVATE KEY", "EC PRIVATE KEY"):
                sec1 = _unpem(text, label)
            else:
                raise InvalidKey(f"unsupported PEM block {label!r}")
            scalar = DerOctetString().decode(_bytes(_items(sec1)[1]), strict=True).payload
        except (ValueError, IndexError, TypeError) as exc:
            raise InvalidKey(f"not an SM2 private key: {exc}") from None
        return cls(int.from_bytes(scalar, "big"))


def _items(der: bytes, **options: Any) -> list[Any]:
    """The elements of a DER SEQUENCE: ints for INTEGERs, raw bytes for anything else.
    (pycryptodome's stub types DerSequence.__getitem__ as None, hence the cast.)"""
    sequence = cast(Any, DerSequence().decode(der, strict=True, **options))
    return [sequence[i] for i in range(len(sequence))]


def _bytes(element: Any) -> bytes:
    if not isinstance(element, bytes):
        raise ValueError("expected a DER element, found an integer")
    return element


def _check_algorithm(element: Any) -> None:
    oids = [DerObjectId().decode(_bytes(e), strict=True).value for e in _items(_bytes(element))]
    if oids != [_OID_EC_PUBLIC_KEY, _OID_SM2]:
        raise InvalidKey(f"not an SM2 key (algorithm {oids})")


def _pem(label: str, der: bytes) -> str:
    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""])


def _pem_label(text: str) -> str:
    match = re.search(r"-----BEGIN ([A-Z0-9 ]+)-----", text)
    if match is None:
        raise InvalidKey("no PEM block found")
    return match.group(1)


def _unpem(text: str, label: str) -> bytes:
    match = re.search(rf"-----BEGIN {label}-----(.*?)-----END {label}-----", text, re.S)
    if match is None:
        raise InvalidKey(f"no {label} PEM block found")
    try:
        return base64.b64decode("".join(match.group(1).split()), validate=True)
    except ValueError as exc:
        raise InvalidKey(f"bad base64 in {label}: {exc}") from None


# ---- SM2 signatures ----------------------------------------------------------------------


@lru_cache(maxsize=256)
def _public_of(d: int) -> PublicKey:
    """d·G, in pure-Python gmssl (about 4 ms): once per key, as a signer signs with few keys."""
    return PublicKey.from_hex(_gmssl_sm2.CryptSM2(private_key="", public_key="")._kg(d, _G))


def _raw(public: PublicKey) -> bytes:
    return public.x.to_bytes(32, "big") + public.y.to_bytes(32, "big")


def sm2_sign(private: PrivateKey, message: bytes) -> bytes:
    """SM2 signature of `message` (e = SM3(Z || message), default signer id), DER-encoded
    SEQUENCE {r, s} (GB/T 35276), what OpenSSL reads."""
    return bytes(gmssl_pyx.sm2_sign(private.d.to_bytes(32, "big"), _raw(private.public_key()), message,
                                    signer_id=DEFAULT_SIGNER_ID))


def sm2_verify(public: PublicKey, message: bytes, signature: bytes) -> bool:
    """True when `signature` (DER) is a valid SM2 signature of `message` by `public`."""
    try:
        r, s = _items(signature, nr_elements=2, only_ints_expected=True)
    except (ValueError, TypeError, IndexError):
        return False
    if not (1 <= r < _N and 1 <= s < _N):  # GB/T 32918.2 §7.1 B1, B2
        return False
    # Re-encoded from r and s, so GmSSL reads the DER form it expects whatever the input's encoding.
    canonical = bytes(DerSequence([DerInteger(r), DerInteger(s)]).encode())
    try:
        return bool(gmssl_pyx.sm2_verify(_raw(public), message, canonical, signer_id=DEFAULT_SIGNER_ID))
    except gmssl_pyx.GmsslInnerError:   # InvalidValueError included: not a signature GmSSL can check
        return False


# ---- signatures with key ids, signers, the key ring --------------------------------------


@dataclass(frozen=True)
class Signature:
    """A signature and the key that made it; what is stored next to the signed digest."""

    key_id: str
    value: bytes  # DER SEQUENCE {r, s}
    algorithm: str = ALGORITHM


@dataclass(frozen=True)
class KeyEntry:
    key_id: str
    organization_id: str
    public_key: PublicKey
    retired: bool = False  # verifies old signatures, signs nothing new
    # Compromised or withdrawn from use: verifies nothing, not even what it signed before (the
    # signing data was no longer under the signer's sole control, Electronic Signature Law Art.13).
    revoked: bool = False

    def __post_init__(self) -> None:
        if not _KEY_ID.fullmatch(self.key_id):
            raise KeyConfigError(f"key id {self.key_id!r}: letters, digits, '.', '_', ':', '-', at most 64")
        if not self.organization_id:
            raise KeyConfigError(f"key {self.key_id}: organization_id is required")


@dataclass(frozen=True)
class Signer:
    """One organization's active signing key."""

    key_id: str
    organization_id: str
    private_key: PrivateKey = field(repr=False)

    def sign(self, message: bytes) -> Signature:
        return Signature(self.key_id, sm2_sign(self.private_key, message))


class KeyRing:
    """Every public key the platform has signed with, by key id (rotation keeps old ones)."""

    def __init__(self, entries: Iterable[KeyEntry] = ()) -> None:
        self._entries: dict[str, KeyEntry] = {}
        for entry in entries:
            if entry.key_id in self._entries:
                raise KeyConfigError(f"key id {entry.key_id!r} is listed twice")
            self._entries[entry.key_id] = entry

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, key_id: str) -> KeyEntry:
        try:
            return self._entries[key_id]
        except KeyError:
            raise UnknownKeyId(key_id) from None

    def entries(self) -> tuple[KeyEntry, ...]:
        """Every key, in the order listed: what an organization publishes (public halves only)."""
        return tuple(self._entries.values())

    def with_entry(self, entry: KeyEntry) -> KeyRing:
        """This ring plus a new key (a rotation adds the new key and keeps the old)."""
        return KeyRing([*self._entries.values(), entry])

    def verify(self, signature: Signature, message: bytes, organization_id: str | None = None) -> bool:
        """True when the named key exists, belongs to `organization_id` (when given) and the
        signature verifies. A retired key still verifies what it signed before retirement."""
        entry = self._entries.get(signature.key_id)
        if entry is None or entry.revoked or signature.algorithm != ALGORITHM:
            return False
        if organization_id is not None and entry.organization_id != organization_id:
            return False
        return sm2_verify(entry.public_key, message, signature.value)


# ---- configuration -----------------------------------------------------------------------

KEYS_FILE_ENV = "LIANDIAO_SIGNING_KEYS_FILE"


def load_keys(path: str | os.PathLike[str] | None = None) -> tuple[KeyRing, dict[str, Signer]]:
    """The key ring and each organization's active signer, from a JSON file (default: the file
    named by $LIANDIAO_SIGNING_KEYS_FILE):

        {"format": 1, "keys": [
          {"key_id": "150502-rmtj-2026a", "organization_id": "...", "public_key": "04...",
           "private_key_file": "/run/secrets/150502-rmtj-2026a.pem", "active": true},
          {"key_id": "150502-rmtj-2025a", "organization_id": "...", "public_key": "04..."}]}

    `public_key` is hex (04||x||y) or PEM. Only active keys name a private key file (PKCS#8
    or SEC1 PEM, or 64 hex digits); a relative path is taken from the JSON file's folder.
    At most one active key per organization, and its private half must match its public half.
    """
    if path is None:
        path = os.environ.get(KEYS_FILE_ENV) or None
    if path is None:
        raise KeyConfigError(f"no signing key file: set {KEYS_FILE_ENV}")
    file = Path(path)
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise KeyConfigError(f"cannot read {file}: {exc}") from None
    return parse_keys(doc, base=file.parent)


def parse_keys(doc: Mapping[str, Any], base: Path | None = None) -> tuple[KeyRing, dict[str, Signer]]:
    if not isinstance(doc, Mapping) or doc.get("format") != 1 or not isinstance(doc.get("keys"), list):
        raise KeyConfigError('expected {"format": 1, "keys": [...]}')
    entries: list[KeyEntry] = []
    signers: dict[str, Signer] = {}
    for item in doc["keys"]:
        try:
            key_id, org = str(item["key_id"]), str(item["organization_id"])
            text = str(item["public_key"])
        except (KeyError, TypeError):
            raise KeyConfigError(f"a key needs key_id, organization_id and public_key: {item!r}") from None
        public = PublicKey.from_pem(text) if "BEGIN" in text else PublicKey.from_hex(text)
        active, revoked = bool(item.get("active", False)), bool(item.get("revoked", False))
        if active and revoked:
            raise KeyConfigError(f"key {key_id} is both active and revoked")
        entries.append(KeyEntry(key_id, org, public, retired=not active, revoked=revoked))
        if not active:
            continue
        if org in signers:
            raise KeyConfigError(f"organization {org} has two active keys")
        if not item.get("private_key_file"):
            raise KeyConfigError(f"active key {key_id} has no private_key_file")
        private = _read_private_key(Path(base or ".") / str(item["private_key_file"]))
        if private.public_key() != public:
            raise KeyConfigError(f"the private key file of {key_id} does not match its public key")
        signers[org] = Signer(key_id, org, private)
    return KeyRing(entries), signers


def _read_private_key(path: Path) -> PrivateKey:
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyConfigError(f"cannot read private key file {path}: {exc}") from None
    return PrivateKey.from_pem(text) if "BEGIN" in text else PrivateKey.from_hex(text)
