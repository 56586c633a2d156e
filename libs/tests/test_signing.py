"""SM3 and SM2 (liandiao.signing): standard vectors, OpenSSL as the independent oracle, key ids,
rotation. The OpenSSL key and signature below were made with OpenSSL 3.0 on this machine
(`openssl genpkey -algorithm SM2`; `openssl pkeyutl -sign -rawin -digest sm3
-pkeyopt distid:1234567812345678`), a throwaway test key."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from gmssl import sm3 as gmssl_sm3

from liandiao.signing import (
    ALGORITHM,
    InvalidKey,
    KeyConfigError,
    KeyEntry,
    KeyRing,
    PrivateKey,
    PublicKey,
    Signature,
    Signer,
    Sm3Hasher,
    UnknownKeyId,
    load_keys,
    parse_keys,
    sm2_sign,
    sm2_verify,
    sm3_digest,
    sm3_hex,
)

OPENSSL_PRIVATE = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQgrNKd8ZVe5oi6S+ZZ
OBXEYXxENVryep110a96Ao8AUDahRANCAASpclu8TSmNGjPnqHmj7/xRSZp4Qzvd
AyYtdCz4v7uiR/1FbsD7bMUblVSoMuZKZ7trHWWHMAzJRGy4jQCEIWfs
-----END PRIVATE KEY-----
"""
OPENSSL_PUBLIC = """-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEqXJbvE0pjRoz56h5o+/8UUmaeEM7
3QMmLXQs+L+7okf9RW7A+2zFG5VUqDLmSme7ax1lhzAMyURsuI0AhCFn7A==
-----END PUBLIC KEY-----
"""
OPENSSL_MESSAGE = b"liandiao test vector"
OPENSSL_SIGNATURE = bytes.fromhex(
    "3045022100e968a806ed60504d6f8f4f4a418a02b52a1abcf595fcb8b750cc36ec2c8e1d6202205ff4c6625e6599f4"
    "b53c154bd2b3811aa31d2eaca8054668617d5832a6d80560"
)


# ---- SM3 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("message, expected", [
    # GB/T 32905-2016 Appendix A, examples 1 and 2
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
])
def test_sm3_standard_vectors(message, expected):
    assert sm3_hex(message) == expected
    assert sm3_digest(message) == bytes.fromhex(expected)


@pytest.mark.parametrize("message", [b"", "调解协议书".encode(), bytes(range(256)) * 5])
def test_sm3_agrees_with_gmssl(message):
    assert sm3_hex(message) == gmssl_sm3.sm3_hash(list(message))


def test_sm3_incremental_equals_one_shot():
    hasher = Sm3Hasher()
    for chunk in (b"ab", b"", b"c"):
        hasher.update(chunk)
    assert hasher.digest() == sm3_digest(b"abc")


# ---- SM2 ----------------------------------------------------------------------------------


def test_verifies_an_openssl_signature_and_refuses_it_for_another_message():
    public = PublicKey.from_pem(OPENSSL_PUBLIC)
    assert sm2_verify(public, OPENSSL_MESSAGE, OPENSSL_SIGNATURE)
    assert not sm2_verify(public, OPENSSL_MESSAGE + b".", OPENSSL_SIGNATURE)


def test_openssl_key_files_load_and_match():
    private = PrivateKey.from_pem(OPENSSL_PRIVATE)
    assert private.public_key() == PublicKey.from_pem(OPENSSL_PUBLIC)
    assert PrivateKey.from_pem(private.to_pem()) == private
    assert PublicKey.from_pem(private.public_key().to_pem()) == private.public_key()
    assert "hidden" in repr(private) and f"{private.d:x}" not in repr(private)


def test_sign_then_verify_and_every_tamper_fails():
    key = PrivateKey.generate()
    message = sm3_digest("本协议书一式三份".encode())
    signature = sm2_sign(key, message)
    assert sm2_verify(key.public_key(), message, signature)
    assert not sm2_verify(key.public_key(), sm3_digest("本协议书一式四份".encode()), signature)
    assert not sm2_verify(PrivateKey.generate().public_key(), message, signature)
    flipped = bytearray(signature)
    flipped[-1] ^= 1
    assert not sm2_verify(key.public_key(), message, bytes(flipped))


def test_signatures_of_the_pure_python_gmssl_of_before_still_verify_and_ours_verify_there():
    """Seals and rulings signed before issue 12 were made by pure-Python gmssl; they must verify
    after the switch to GmSSL, and what GmSSL signs must verify in an independent implementation."""
    import secrets

    from Cryptodome.Util.asn1 import DerSequence
    from gmssl import sm2 as gmssl_sm2

    key = PrivateKey.generate()
    public = key.public_key()
    engine = gmssl_sm2.CryptSM2(private_key=f"{key.d:064x}", public_key="")
    engine.public_key = f"{public.x:064x}{public.y:064x}"
    message = sm3_digest("调解协议书".encode())
    raw = engine.sign_with_sm3(message, f"{secrets.randbelow(2**255) + 1:064x}")
    before = DerSequence([int(raw[:64], 16), int(raw[64:], 16)]).encode()
    assert sm2_verify(public, message, before)
    assert not sm2_verify(public, message + b"!", before)
    r, s = DerSequence().decode(sm2_sign(key, message))
    assert engine.verify_with_sm3(f"{r:064x}{s:064x}", message)
    assert not engine.verify_with_sm3(f"{r:064x}{s:064x}", message + b"!")


def test_nonces_are_fresh():
    key = PrivateKey.generate()
    assert sm2_sign(key, b"m") != sm2_sign(key, b"m")


@pytest.mark.parametrize("signature", [
    b"",
    b"\x30\x00",
    b"not der at all",
    bytes.fromhex("3006020100020101"),  # r = 0
    bytes.fromhex("3006020101020100"),  # s = 0
])
def test_malformed_or_out_of_range_signatures_are_refused(signature):
    assert not sm2_verify(PublicKey.from_pem(OPENSSL_PUBLIC), OPENSSL_MESSAGE, signature)


def test_r_or_s_at_n_is_refused():
    n = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)
    from Cryptodome.Util.asn1 import DerSequence
    r, s = DerSequence().decode(OPENSSL_SIGNATURE)
    for bad in ([n, s], [r, n], [r + n, s]):
        assert not sm2_verify(PublicKey.from_pem(OPENSSL_PUBLIC), OPENSSL_MESSAGE, DerSequence(bad).encode())


def test_public_key_whose_x_starts_with_zeros_and_fours_signs_and_verifies():
    # gmssl's constructor lstrips "0"/"4" characters from a 04-prefixed key; ours does not use it.
    for d in range(1, 5000):
        key = PrivateKey(d)
        if key.public_key().to_hex()[2:4] in ("00", "04", "40", "44"):
            break
    else:
        pytest.fail("no such key in range")
    assert sm2_verify(key.public_key(), b"m", sm2_sign(key, b"m"))


@pytest.mark.parametrize("text", ["", "04" + "00" * 64, "04" + "zz" * 64, "05" + "11" * 64])
def test_public_keys_off_the_curve_or_malformed_are_refused(text):
    with pytest.raises(InvalidKey):
        PublicKey.from_hex(text)


@pytest.mark.parametrize("d", [0, int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54122", 16)])
def test_private_key_range_is_1_to_n_minus_2(d):
    with pytest.raises(InvalidKey):
        PrivateKey(d)


def test_private_key_one_below_the_upper_bound_is_accepted():
    assert PrivateKey(int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54121", 16))


openssl = shutil.which("openssl")


def _openssl_has_sm2() -> bool:
    if openssl is None:
        return False
    out = subprocess.run([openssl, "list", "-public-key-algorithms"], capture_output=True, text=True)
    return "SM2" in out.stdout


@pytest.mark.skipif(not _openssl_has_sm2(), reason="no OpenSSL with SM2 on this machine")
def test_openssl_verifies_our_signature_with_the_default_distid(tmp_path):
    key = PrivateKey.generate()
    message = b"\x01" * 32
    (tmp_path / "pub.pem").write_text(key.public_key().to_pem())
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig").write_bytes(sm2_sign(key, message))
    verify = [openssl, "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"), "-rawin",
              "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig"), "-digest", "sm3"]
    assert subprocess.run([*verify, "-pkeyopt", "distid:1234567812345678"], capture_output=True).returncode == 0
    # Without the id OpenSSL uses an empty one: the signature does not verify (MACHINE-NOTES).
    assert subprocess.run(verify, capture_output=True).returncode != 0


# ---- key ids, key ring, rotation ------------------------------------------------------------


def test_rotation_keeps_old_agreements_verifiable():
    old, new = PrivateKey.generate(), PrivateKey.generate()
    digest = sm3_digest(b"agreement of 2025")
    sealed_2025 = Signer("org1-2025a", "org1", old).sign(digest)
    ring = KeyRing([KeyEntry("org1-2025a", "org1", old.public_key(), retired=True)]).with_entry(
        KeyEntry("org1-2026a", "org1", new.public_key()))
    sealed_2026 = Signer("org1-2026a", "org1", new).sign(digest)
    assert ring.verify(sealed_2025, digest, "org1") and ring.verify(sealed_2026, digest, "org1")
    # the key id is bound: the 2025 signature under the 2026 id fails
    assert not ring.verify(Signature("org1-2026a", sealed_2025.value), digest, "org1")


def test_key_ring_refuses_unknown_ids_other_organizations_and_algorithms():
    key = PrivateKey.generate()
    ring = KeyRing([KeyEntry("org1-a", "org1", key.public_key())])
    signature = Signer("org1-a", "org1", key).sign(b"d")
    assert ring.verify(signature, b"d") and ring.verify(signature, b"d", "org1")
    assert not ring.verify(signature, b"d", "org2")
    assert not ring.verify(Signature("org9-a", signature.value), b"d")
    assert not ring.verify(Signature("org1-a", signature.value, "RSA"), b"d")
    assert signature.algorithm == ALGORITHM
    with pytest.raises(UnknownKeyId):
        ring.entry("org9-a")
    with pytest.raises(KeyConfigError, match="twice"):
        ring.with_entry(KeyEntry("org1-a", "org1", key.public_key()))


@pytest.mark.parametrize("key_id", ["", "a b", "x" * 65, "-leading"])
def test_key_ids_are_checked(key_id):
    with pytest.raises(KeyConfigError):
        KeyEntry(key_id, "org1", PrivateKey.generate().public_key())


def _write_config(tmp_path: Path, keys: list[dict]) -> Path:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"format": 1, "keys": keys}))
    return path


def test_load_keys_reads_active_private_keys_from_files_and_keeps_retired_public_keys(tmp_path):
    old, new = PrivateKey.generate(), PrivateKey.from_pem(OPENSSL_PRIVATE)
    (tmp_path / "new.pem").write_text(new.to_pem())
    path = _write_config(tmp_path, [
        {"key_id": "org1-2025a", "organization_id": "org1", "public_key": old.public_key().to_hex()},
        {"key_id": "org1-2026a", "organization_id": "org1", "public_key": OPENSSL_PUBLIC,
         "private_key_file": "new.pem", "active": True},
    ])
    ring, signers = load_keys(path)
    assert len(ring) == 2 and ring.entry("org1-2025a").retired and not ring.entry("org1-2026a").retired
    assert set(signers) == {"org1"} and signers["org1"].key_id == "org1-2026a"
    assert ring.verify(signers["org1"].sign(b"d"), b"d", "org1")
    assert "private_key" not in repr(signers["org1"])


def test_load_keys_reads_a_hex_private_key(tmp_path):
    key = PrivateKey.generate()
    (tmp_path / "k.hex").write_text(f"{key.d:064x}\n")
    path = _write_config(tmp_path, [{"key_id": "o-1", "organization_id": "o", "active": True,
                                     "public_key": key.public_key().to_hex(), "private_key_file": "k.hex"}])
    assert load_keys(path)[1]["o"].private_key == key


@pytest.mark.parametrize("keys, message", [
    ([{"key_id": "o-1", "organization_id": "o", "public_key": "PUB", "active": True}], "no private_key_file"),
    ([{"key_id": "o-1", "organization_id": "o", "public_key": "PUB", "active": True, "private_key_file": "k.pem"},
      {"key_id": "o-2", "organization_id": "o", "public_key": "PUB2", "active": True, "private_key_file": "k.pem"}],
     "two active keys"),
    ([{"key_id": "o-1", "organization_id": "o", "public_key": "PUB2", "active": True, "private_key_file": "k.pem"}],
     "does not match"),
    ([{"key_id": "o-1", "organization_id": "o", "public_key": "PUB", "active": True, "private_key_file": "nope"}],
     "cannot read"),
    ([{"key_id": "o-1", "public_key": "PUB"}], "needs key_id, organization_id"),
])
def test_bad_key_configurations_are_refused(tmp_path, keys, message):
    key, other = PrivateKey.generate(), PrivateKey.generate()
    (tmp_path / "k.pem").write_text(key.to_pem())
    for item in keys:
        item["public_key"] = {"PUB": key.public_key().to_hex(), "PUB2": other.public_key().to_hex()}[item["public_key"]]
    with pytest.raises(KeyConfigError, match=message):
        load_keys(_write_config(tmp_path, keys))


def test_no_key_file_configured(monkeypatch):
    monkeypatch.delenv("LIANDIAO_SIGNING_KEYS_FILE", raising=False)
    with pytest.raises(KeyConfigError, match="LIANDIAO_SIGNING_KEYS_FILE"):
        load_keys()
    with pytest.raises(KeyConfigError, match="format"):
        parse_keys({"keys": []})
