"""Production sign-in with OpenID Connect (authorization-code flow, Authlib), tested as far as it
goes without a provider: the console reads the provider's discovery document and sends the
person to its authorization endpoint with the client id, a state and a nonce; the claims of an
access token are what the pages show."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt
from starlette.testclient import TestClient

from liandiao import auth
from services.console import config
from services.console.app import create_app
from services.console.signin import claims_of
from services.console.tests.test_app import FakeBackend


def _discovery_server():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):   # http.server calls it by this name
            base = f"http://127.0.0.1:{self.server.server_port}"
            body = json.dumps({"issuer": base, "authorization_endpoint": f"{base}/authorize",
                               "token_endpoint": f"{base}/token", "jwks_uri": f"{base}/jwks"}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_sign_in_goes_to_the_providers_authorization_endpoint_with_state_and_nonce():
    server = _discovery_server()
    try:
        url = f"http://127.0.0.1:{server.server_port}/.well-known/openid-configuration"
        settings = config.load({"LIANDIAO_CONSOLE_OIDC_METADATA_URL": url, "LIANDIAO_CONSOLE_OIDC_CLIENT_ID": "console",
                                "LIANDIAO_CONSOLE_OIDC_CLIENT_SECRET": "s"})
        with TestClient(create_app(settings, FakeBackend())) as c:
            assert "使用统一身份认证登录" in c.get("/sign-in").text
            r = c.get("/sign-in/oidc?next=/applications", follow_redirects=False)
    finally:
        server.shutdown()
    target = urlparse(r.headers["location"])
    q = parse_qs(target.query)
    assert r.status_code == 302 and target.path == "/authorize"
    assert q["client_id"] == ["console"] and q["response_type"] == ["code"] and "openid" in q["scope"][0]
    assert q["redirect_uri"] == ["http://testserver/auth/callback"] and q["state"][0] and q["nonce"][0]


def test_the_pages_read_the_platforms_claims_from_the_access_token():
    token = jwt.encode(auth.to_payload(auth.Claims("judge-1", "court-horqin", auth.Role.COURT, ("1505",)),
                                       issuer="https://idp", audience="liandiao", issued_at=0, ttl_seconds=60),
                       "k" * 32, algorithm="HS256")
    c = claims_of(token)
    assert (c.subject, c.organization_id, c.role, c.region_scope) == ("judge-1", "court-horqin", auth.Role.COURT,
                                                                      ("1505",))
