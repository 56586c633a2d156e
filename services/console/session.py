"""The signed-in person, kept in Starlette's signed session cookie (itsdangerous): their
claims for the pages and the token the services are called with. CSRF: a random token per
session that every form posts back (and htmx sends as a header); a POST without it is refused."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from starlette.requests import Request

from liandiao import auth

CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class User:
    subject: str
    organization_id: str
    role: str
    regions: tuple[str, ...]
    label: str
    token: str

    @property
    def prefecture(self) -> str:
        return self.regions[0][:4] if self.regions else ""


def sign_in(request: Request, claims: auth.Claims, token: str, label: str) -> None:
    request.session.clear()
    request.session.update({"sub": claims.subject, "org": claims.organization_id, "role": str(claims.role),
                            "regions": list(claims.region_scope), "label": label, "token": token,
                            CSRF_FIELD: secrets.token_urlsafe(24)})


def current(request: Request) -> User | None:
    s = request.session
    if not s.get("token"):
        return None
    return User(s["sub"], s["org"], s["role"], tuple(s.get("regions", ())), s.get("label", ""), s["token"])


def csrf_token(request: Request) -> str:
    if CSRF_FIELD not in request.session:
        request.session[CSRF_FIELD] = secrets.token_urlsafe(24)
    return request.session[CSRF_FIELD]


async def csrf_ok(request: Request) -> bool:
    expected = request.session.get(CSRF_FIELD)
    if not expected:
        return False
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        given = str(form.get(CSRF_FIELD, ""))
    return secrets.compare_digest(given, expected)
