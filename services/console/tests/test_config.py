"""The console's settings: development by default; production refuses what would be unsafe."""

from pathlib import Path

import pytest

from liandiao.config import SettingsError
from services.console import config

# Any PEM file will do for reading the settings (the TLS handshake is not made here).
PEM = str(Path(__file__).parents[3] / "libs" / "liandiao" / "devtools" / "keys" / "dev-issuer.pem")
PROD = {"LIANDIAO_ENV": "production", "LIANDIAO_CONSOLE_SESSION_SECRET": "s" * 40,
        "LIANDIAO_CONSOLE_OIDC_METADATA_URL": "https://idp.example/.well-known/openid-configuration",
        "LIANDIAO_CONSOLE_OIDC_CLIENT_ID": "console", "LIANDIAO_CONSOLE_OIDC_CLIENT_SECRET": "s3cr3t-value",
        "LIANDIAO_TLS_CERT_FILE": PEM, "LIANDIAO_TLS_KEY_FILE": PEM, "LIANDIAO_TLS_CA_FILE": PEM}


def test_development_signs_in_with_the_local_issuer_and_finds_the_services_by_name():
    s = config.load({})
    assert s.dev_sign_in and s.oidc is None and not s.secure_cookies
    assert s.addresses["mediation"] == "mediation:50051" and len(s.session_secret) >= 32


def test_production_uses_the_provider_with_secure_cookies():
    s = config.load(PROD)
    assert not s.dev_sign_in and s.secure_cookies and s.oidc is not None and s.oidc.client_id == "console"
    assert "s3cr3t-value" not in repr(s.oidc) and "s3cr3t-value" not in repr(s)    # the client secret is kept out of logs


@pytest.mark.parametrize("change, named", [
    ({"LIANDIAO_CONSOLE_SESSION_SECRET": "short"}, "SESSION_SECRET"),
    ({"LIANDIAO_CONSOLE_OIDC_METADATA_URL": ""}, "OIDC_METADATA_URL"),
    ({"LIANDIAO_CONSOLE_OIDC_CLIENT_SECRET": ""}, "OIDC_CLIENT_SECRET"),
    ({"LIANDIAO_CONSOLE_DEMO_USERS": "/tmp/users.json"}, "DEMO_USERS"),
    ({"LIANDIAO_TLS_CA_FILE": ""}, "TLS"),
])
def test_production_refuses_an_unsafe_setting_and_names_it(change, named):
    with pytest.raises(SettingsError, match=named):
        config.load({**PROD, **change})
