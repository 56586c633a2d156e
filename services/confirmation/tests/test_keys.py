"""The courts' signing keys: development keys are generated once per court and refused in
production; production needs a key file. Pure files, no stack."""

from __future__ import annotations

import json

import pytest

from liandiao.signing import KeyConfigError, PrivateKey, Signature
from services.confirmation.keys import DEV_DIR, KEYS_FILE, ensure_dev_key, load_court_keys


def test_a_development_stack_generates_one_key_per_court_and_keeps_it(tmp_path):
    keys = load_court_keys({DEV_DIR: str(tmp_path)}, "development")
    first = keys.signer("court-horqin")
    assert first.key_id == "dev-court-horqin"
    signature = first.sign(b"ruling")
    again = load_court_keys({DEV_DIR: str(tmp_path)}, "development")
    assert again.ring.verify(Signature(first.key_id, signature.value), b"ruling", organization_id="court-horqin")
    assert not again.ring.verify(Signature(first.key_id, signature.value), b"ruling!", organization_id="court-horqin")
    ensure_dev_key(tmp_path, "court-horqin")  # a second replica: the same key, not a new one
    assert load_court_keys({DEV_DIR: str(tmp_path)}, "development").signer("court-horqin").private_key == \
        first.private_key


def test_production_needs_a_key_file_and_refuses_development_keys(tmp_path):
    with pytest.raises(KeyConfigError, match="required in production"):
        load_court_keys({}, "production")
    ensure_dev_key(tmp_path, "court-horqin")
    with pytest.raises(KeyConfigError, match="development court keys are refused in production"):
        load_court_keys({KEYS_FILE: str(tmp_path / "keys.json")}, "production")


def test_production_signs_with_the_configured_court_key(tmp_path):
    private = PrivateKey.generate()
    (tmp_path / "horqin.pem").write_text(private.to_pem())
    (tmp_path / "keys.json").write_text(json.dumps({"format": 1, "keys": [
        {"key_id": "150502-court-2026a", "organization_id": "court-horqin", "active": True,
         "public_key": private.public_key().to_hex(), "private_key_file": "horqin.pem"}]}))
    keys = load_court_keys({KEYS_FILE: str(tmp_path / "keys.json")}, "production")
    assert keys.signer("court-horqin").key_id == "150502-court-2026a"
    with pytest.raises(KeyConfigError, match="court-kailu has no active signing key"):
        keys.signer("court-kailu")
