"""The console's own behaviour, with the services replaced by a fake (the real ones are in
tests/browser): sign-in, CSRF, the role's pages, a refusal shown as a page, open redirects."""

from __future__ import annotations

import re
from types import SimpleNamespace

import grpc
import pytest
from starlette.testclient import TestClient

from services.console import config
from services.console.app import create_app


def _refusal(code: grpc.StatusCode, details: str):
    async def call(request):
        raise grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)
    return call


class FakeBackend:
    """Every call refused with ``code``; records the token each call carried."""

    def __init__(self, code=grpc.StatusCode.NOT_FOUND):
        self.code, self.tokens = code, []

    def open(self):
        pass

    async def close(self):
        pass

    def as_person(self, token):
        self.tokens.append(token)
        refuse = _refusal(self.code, "dispute 0192 not found")
        svc = SimpleNamespace(GetDispute=refuse, GetAssignment=refuse, GetCase=refuse, GetConsultation=refuse,
                              ListDisputes=refuse, ListCases=refuse)
        return SimpleNamespace(intake=svc, routing=svc, mediation=svc)


@pytest.fixture
def client():
    backend = FakeBackend()
    with TestClient(create_app(config.load({}), backend)) as c:
        c.backend = backend
        yield c


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _sign_in(c, user="clerk", nxt="/"):
    token = _csrf(c.get("/sign-in").text)
    return c.post("/sign-in", data={"csrf": token, "user": user, "next": nxt}, follow_redirects=False)


def test_a_page_asks_for_sign_in_and_returns_there_afterwards(client):
    r = client.get("/disputes/new", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?next=/disputes/new"
    r = _sign_in(client, nxt="/disputes/new")
    assert r.headers["location"] == "/disputes/new"
    page = client.get("/disputes/new")
    assert page.status_code == 200 and "登记纠纷" in page.text and 'name="parties[0].id_document.number"' in page.text


def test_sign_in_never_redirects_off_the_console(client):
    for target in ("https://evil.example/", "//evil.example/x"):
        assert _sign_in(client, nxt=target).headers["location"] == "/"


def test_a_post_without_the_session_token_is_refused(client):
    _sign_in(client)
    r = client.post("/disputes/new", data={"csrf": "forged", "facts": "x"})
    assert r.status_code == 403 and "表单已过期或来源不明" in r.text
    assert client.backend.tokens == []            # nothing reached a service


def test_a_record_the_service_hides_is_a_clear_page_and_the_call_carried_the_persons_token(client):
    _sign_in(client)
    r = client.get("/disputes/0192")
    assert r.status_code == 404 and "没有找到，或您无权查看" in r.text
    claims = __import__("jwt").decode(client.backend.tokens[-1], options={"verify_signature": False})
    assert claims["role"] == "clerk" and claims["sub"] == "dev-clerk"


def test_another_roles_page_is_refused_and_english_is_a_click_away(client):
    _sign_in(client)
    assert client.get("/mediator").status_code == 403
    r = client.get("/lang/en", headers={"referer": "http://testserver/disputes/new"}, follow_redirects=False)
    assert r.headers["location"] == "/disputes/new"
    assert "Register a dispute" in client.get("/disputes/new").text
