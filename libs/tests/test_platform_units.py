"""Pure pieces of the shared library: settings, topics, masking, tokens, PII, ids."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from liandiao import auth
from liandiao.config import SettingsError, load_settings
from liandiao.devtools.certs import database_url_tls, grpc_env, make_all
from liandiao.devtools.issuer import LocalIssuer, dev_issuer
from liandiao.events import catalog
from liandiao.events.topics import dlq_topic, shard_of, subscription_pattern, topic_name
from liandiao.pii import PiiCipher, UnreadableValue
from liandiao.redact import mask_free_text
from liandiao.uuid7 import uuid7

BASE = {"LIANDIAO_DATABASE_URL": "postgresql://u@127.0.0.1:1/db", "LIANDIAO_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
        "LIANDIAO_ENV": "development"}
PII = base64.b64encode(b"p" * 32).decode()
FP = base64.b64encode(b"f" * 32).decode()
PROD = {**BASE, "LIANDIAO_ENV": "production", "LIANDIAO_PII_KEY": PII, "LIANDIAO_FINGERPRINT_KEY": FP}


# ---- settings ---------------------------------------------------------------
def test_settings_defaults_and_consumer_group_per_release():
    s = load_settings("routing", {**BASE, "LIANDIAO_RELEASE": "region-1505", "LIANDIAO_PREFECTURES": "1505"})
    assert (s.grpc_port, s.metrics_port, s.prefectures) == (50051, 9464, ("1505",))
    assert s.consumer_group == "liandiao.routing.region-1505"


@pytest.mark.parametrize("env, message", [
    ({}, "LIANDIAO_DATABASE_URL, LIANDIAO_KAFKA_BOOTSTRAP not set"),
    ({**BASE, "LIANDIAO_DATABASE_URL": "mysql://x"}, "must be a postgresql:// URL"),
    ({**BASE, "LIANDIAO_GRPC_PORT": "eighty"}, "LIANDIAO_GRPC_PORT='eighty' is not a whole number"),
    ({**BASE, "LIANDIAO_GRPC_PORT": "70000"}, "must be between 1 and 65535"),
    ({**BASE, "LIANDIAO_PREFECTURES": "1505,15"}, "'15' is not a prefecture code"),
    ({**BASE, "LIANDIAO_PREFECTURES": "1505", "LIANDIAO_EXCLUDE_PREFECTURES": "1504"}, "not both"),
    ({**BASE, "LIANDIAO_PII_KEY": base64.b64encode(b"short").decode()}, "must decode to 32 bytes"),
    ({**BASE, "LIANDIAO_ENV": "production"}, "LIANDIAO_PII_KEY is required in production"),
    ({**BASE, "LIANDIAO_ENV": ""}, "LIANDIAO_ENV='': say production, or development"),
    ({**BASE, "LIANDIAO_ENV": "prod"}, "LIANDIAO_ENV='prod': say production, or development"),
    ({**BASE, "LIANDIAO_ENV": "staging"}, "LIANDIAO_ENV='staging'"),
    ({**BASE, "LIANDIAO_ENV": "production", "LIANDIAO_PII_KEY": PII},
     "LIANDIAO_FINGERPRINT_KEY is required in production"),
    ({**PROD, "LIANDIAO_FINGERPRINT_KEY": PII}, "LIANDIAO_FINGERPRINT_KEY must differ from every encryption key"),
    ({**PROD}, "LIANDIAO_JWKS_FILE (the identity provider's public keys) is required in production"),
    ({**PROD, "LIANDIAO_JWKS_FILE": str(auth.DEV_JWKS_FILE), "LIANDIAO_TOKEN_ISSUER": "https://idp.example"},
     "lists the development key 'liandiao-dev-1'"),
    ({**PROD, "LIANDIAO_JWKS_FILE": "/nonexistent.json", "LIANDIAO_TOKEN_ISSUER": "https://idp.example"},
     "LIANDIAO_JWKS_FILE='/nonexistent.json' is not a readable"),
    ({**BASE, "LIANDIAO_PII_KEYS": f"a:{PII}", "LIANDIAO_PII_KEY_ID": "b"}, "LIANDIAO_PII_KEY_ID='b' is not a key id"),
    ({**BASE, "LIANDIAO_PII_KEYS": f"a:{PII}", "LIANDIAO_PII_KEY": PII}, "not both"),
    ({**BASE, "LIANDIAO_PII_KEYS": "a:c2hvcnQ=", "LIANDIAO_PII_KEY_ID": "a"}, "must decode to 32 bytes"),
    ({**BASE, "LIANDIAO_PII_KEY_ID": "b"}, "needs the key ring LIANDIAO_PII_KEYS"),
    ({**BASE, "LIANDIAO_LOG_LEVEL": "chatty"}, "use DEBUG, INFO, WARNING or ERROR"),
])
def test_bad_settings_stop_start_up_with_the_variable_named(env, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings("intake", env)


def test_production_starts_with_the_providers_keys_and_verifies_only_its_tokens(tmp_path):
    provider = LocalIssuer.generate(key_id="nmg-idp-2026", issuer="https://idp.example")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(provider.jwks()))
    make_all(tmp_path)
    transport = {**grpc_env(tmp_path, "intake"), "LIANDIAO_KAFKA_SECURITY_PROTOCOL": "SSL",
                 "LIANDIAO_KAFKA_CA_FILE": str(tmp_path / "ca.crt"),
                 "LIANDIAO_DATABASE_URL": database_url_tls(BASE["LIANDIAO_DATABASE_URL"], tmp_path)}
    s = load_settings("intake", {**PROD, **transport, "LIANDIAO_JWKS_FILE": str(jwks),
                                 "LIANDIAO_TOKEN_ISSUER": "https://idp.example"})
    verifier = s.token_verifier()
    assert verifier.verify(provider.issue(CLAIMS)).subject == "p1"
    with pytest.raises(auth.InvalidToken, match="unknown key"):
        verifier.verify(dev_issuer().issue(CLAIMS))      # the development issuer is not trusted


# ---- topics -----------------------------------------------------------------
@pytest.mark.parametrize("region, shard", [("150502", "1505"), ("150502001001", "1505"), ("150000", "00"),
                                           ("15", "00"), ("", "00"), ("110105", "1101")])
def test_shard_is_the_prefecture_or_00(region, shard):
    assert shard_of(region) == shard


def test_topic_names_follow_the_design():
    assert topic_name(catalog.DISPUTE_REGISTERED, "150502") == "liandiao.intake.dispute-registered.v1.1505"
    assert dlq_topic("liandiao.intake.dispute-registered.v1.1505", "routing.disputes") == \
        "liandiao.intake.dispute-registered.v1.1505.dlq.routing.disputes"


def _matches(pattern: str, region: str) -> bool:
    return re.match(pattern, topic_name(catalog.DISPUTE_REGISTERED, region)) is not None


def test_regional_release_sees_its_prefectures_and_the_province_shard_only():
    p = subscription_pattern([catalog.DISPUTE_REGISTERED], prefectures=["1505"])
    assert _matches(p, "150502") and not _matches(p, "150402") and _matches(p, "150000")


def test_province_release_excludes_the_regional_ones_but_keeps_the_rest():
    p = subscription_pattern([catalog.DISPUTE_REGISTERED], exclude=["1505"])
    assert not _matches(p, "150502") and _matches(p, "150402") and _matches(p, "150000")
    assert re.match(p, "liandiao.intake.dispute-registered.v1.15051")  # exclusion is exact, not a prefix


def test_dead_letter_topics_and_other_events_never_match():
    p = subscription_pattern([catalog.DISPUTE_REGISTERED])
    assert not re.match(p, dlq_topic(topic_name(catalog.DISPUTE_REGISTERED, "150502"), "routing.disputes"))
    assert not re.match(p, topic_name(catalog.RISK_FLAGGED, "150502"))


# ---- masking ----------------------------------------------------------------
@pytest.mark.parametrize("text, shown", [
    ("id 11010519491231002X", "id 110105********002X"),
    ("tel +8613800138000", "tel +86138****8000"),
    ("tel 13800138000.", "tel 138****8000."),
    ("legacy 110105491231002", "legacy 110105******002"),
    ("case 1234567890123456789 stays", "case 1234567890123456789 stays"),
])
def test_free_text_masking(text, shown):
    assert mask_free_text(text) == shown


# ---- tokens (issue 7: asymmetric JWTs from the identity provider) ----------------
CLAIMS = auth.Claims(subject="p1", organization_id="station-1", role=auth.Role.POLICE, region_scope=("1505",))


def verifier(*issuers) -> auth.TokenVerifier:
    keys = [k for i in issuers for k in i.jwks()["keys"]]
    return auth.TokenVerifier({"keys": keys}, issuer=auth.DEV_ISSUER)


def test_token_round_trip_and_scope():
    claims = verifier(dev_issuer()).verify(dev_issuer().issue(CLAIMS))
    assert claims.role is auth.Role.POLICE and claims.sees_region("150502") and not claims.sees_region("150402")
    assert claims.subject == "p1" and claims.organization_id == "station-1"


def test_the_shipped_development_jwks_is_the_development_issuer_public_key():
    assert json.loads(auth.DEV_JWKS_FILE.read_text()) == dev_issuer().jwks()


def _hs256_with_public_key(token: str) -> str:
    """The algorithm-confusion attack: HS256 with the verifier's public key as the secret
    (built by hand: PyJWT itself refuses to sign it)."""
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    body = jwt.decode(token, options={"verify_signature": False})
    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": auth.DEV_KEY_ID}).encode()) + "." + \
        b64(json.dumps(body).encode())
    public = json.dumps(dev_issuer().jwks()["keys"][0]).encode()
    return signing_input + "." + b64(hmac.new(public, signing_input.encode(), hashlib.sha256).digest())


@pytest.mark.parametrize("make, reason", [
    (lambda: dev_issuer().issue(CLAIMS)[:-4] + "AAAA", "signature does not match"),
    (lambda: "garbage", "not a JWT"),
    (lambda: dev_issuer().issue(CLAIMS, issuer="https://elsewhere.example"), "another issuer"),
    (lambda: dev_issuer().issue(CLAIMS, audience="someone-else"), "not for this audience"),
    (lambda: dev_issuer().issue(CLAIMS, issued_at=int(time.time()) - 7200, ttl_seconds=3600), "expired"),
    (lambda: LocalIssuer.generate(key_id="mallory").issue(CLAIMS), "unknown key"),
    (lambda: LocalIssuer.generate().issue(CLAIMS), "signature does not match"),   # right kid, wrong key
    (lambda: _hs256_with_public_key(dev_issuer().issue(CLAIMS)), "refused"),
    (lambda: jwt.encode({"sub": "x"}, key=None, algorithm="none", headers={"kid": auth.DEV_KEY_ID}), "refused"),
], ids=["tampered", "not-a-jwt", "other-issuer", "wrong-audience", "expired", "unknown-key", "wrong-key",
        "hs256-confusion", "alg-none"])
def test_tokens_that_must_be_refused(make, reason):
    with pytest.raises(auth.InvalidToken, match=reason):
        verifier(dev_issuer()).verify(make())


def test_a_key_rotation_keeps_tokens_of_both_keys_valid_while_both_are_published():
    new = LocalIssuer.generate(key_id="liandiao-dev-2")
    both = verifier(dev_issuer(), new)
    assert both.verify(dev_issuer().issue(CLAIMS)).subject == both.verify(new.issue(CLAIMS)).subject == "p1"


# ---- personal data at rest -------------------------------------------------------
def test_pii_round_trip_is_bound_to_its_column():
    cipher = PiiCipher(b"p" * 32)
    blob = cipher.encrypt("11010519491231002X", context="party.id_number")
    assert b"11010519491231002X" not in blob
    assert cipher.decrypt(blob, context="party.id_number") == "11010519491231002X"
    with pytest.raises(UnreadableValue):
        cipher.decrypt(blob, context="party.phone")


def test_a_value_encrypted_before_a_key_rotation_still_reads_and_moves_to_the_new_key():
    old = PiiCipher(keys={"2026a": b"a" * 32}, current="2026a", fingerprint_key=b"f" * 32)
    blob = old.encrypt("13800138000", context="person.phone:p-1")
    rotated = PiiCipher(keys={"2026a": b"a" * 32, "2026b": b"b" * 32}, current="2026b", fingerprint_key=b"f" * 32)
    assert rotated.key_id(blob) == "2026a" and rotated.decrypt(blob, context="person.phone:p-1") == "13800138000"
    fresh = rotated.reencrypt(blob, context="person.phone:p-1")
    assert fresh is not None and rotated.key_id(fresh) == "2026b"
    assert rotated.decrypt(fresh, context="person.phone:p-1") == "13800138000"
    assert rotated.reencrypt(fresh, context="person.phone:p-1") is None       # already there
    assert old.fingerprint("13800138000") == rotated.fingerprint("13800138000")  # look-ups survive rotation


def test_values_from_before_key_ids_are_read_with_the_legacy_key():
    legacy_blob = bytes.fromhex("00" * 12) + AESGCM(b"p" * 32).encrypt(bytes(12), b"x", b"c")
    for first in (b"\xa7\x02", b"\x00\x00"):      # also one that happens to start like a tagged value
        blob = first + legacy_blob[2:] if first == b"\x00\x00" else legacy_blob
        assert PiiCipher(b"p" * 32).decrypt(blob, context="c") == "x"
    lookalike = b"\xa7\x02" + bytes(10)
    blob = lookalike + AESGCM(b"p" * 32).encrypt(lookalike, b"y", b"c")
    assert PiiCipher(b"p" * 32).decrypt(blob, context="c") == "y"


def test_a_ciphertext_swapped_between_rows_or_tampered_fails():
    cipher = PiiCipher(b"p" * 32)
    mine = cipher.encrypt("11010519491231002X", context="party.id_number:party-1")
    with pytest.raises(UnreadableValue):
        cipher.decrypt(mine, context="party.id_number:party-2")
    with pytest.raises(UnreadableValue):
        cipher.decrypt(mine[:-1] + bytes([mine[-1] ^ 1]), context="party.id_number:party-1")


def test_the_fingerprint_key_is_never_an_encryption_key():
    with pytest.raises(ValueError, match="must not be one of the encryption keys"):
        PiiCipher(b"p" * 32, fingerprint_key=b"p" * 32)


def test_fingerprints_are_stable_keyed_and_not_the_value():
    a, b = PiiCipher(b"p" * 32), PiiCipher(b"q" * 32)
    assert a.fingerprint("11010519491231002X") == a.fingerprint("11010519491231002X")
    assert a.fingerprint("11010519491231002X") != b.fingerprint("11010519491231002X")
    assert "1101" not in a.fingerprint("11010519491231002X")


# ---- ids --------------------------------------------------------------------
def test_uuid7_has_version_7_and_sorts_by_time():
    first = uuid7()
    time.sleep(0.002)
    second = uuid7()
    assert first.version == 7 and first.variant == uuid.RFC_4122
    assert first < second
