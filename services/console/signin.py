"""Signing in. Development: a person picked from the demo users (users.py), with a token the
local identity issuer signs (liandiao.devtools.issuer, refused by services in production).
Production: the provincial identity provider, OpenID Connect authorization-code flow through
Authlib (state and nonce checked by it); its access token carries the platform's claims and
is the one forwarded to the services, which verify it against the provider's keys."""

from __future__ import annotations

from urllib.parse import urlparse

import jwt
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from liandiao import auth
from services.console import session, users
from services.console.config import ConsoleSettings
from services.console.present import N_
from services.console.web import render

TOKEN_TTL_SECONDS = 8 * 3600   # one working day


def _safe_next(value: str | None) -> str:
    """Only a path on this console (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or urlparse(value).netloc:
        return "/"
    return value


def oidc_client(settings: ConsoleSettings):
    if settings.oidc is None:
        return None
    from authlib.integrations.starlette_client import OAuth

    oauth = OAuth()
    oauth.register("province", server_metadata_url=settings.oidc.metadata_url, client_id=settings.oidc.client_id,
                   client_secret=settings.oidc.client_secret, client_kwargs={"scope": settings.oidc.scope})
    return oauth.create_client("province")


async def sign_in_page(request: Request) -> Response:
    settings: ConsoleSettings = request.app.state.settings
    people = users.load(settings.demo_users_file) if settings.dev_sign_in else ()
    nxt = _safe_next(request.query_params.get("next"))
    if request.method == "POST":
        if not await session.csrf_ok(request):
            return render(request, "sign_in.html", status=403, people=people, next=nxt, error=N_("表单已过期，请重试"))
        form = await request.form()
        nxt = _safe_next(str(form.get("next", "/")))
        if not settings.dev_sign_in:
            return render(request, "sign_in.html", status=403, people=(), next=nxt, error=N_("开发登录在生产环境中不可用"))
        chosen = next((u for u in people if u.key == form.get("user")), None)
        if chosen is None:
            return render(request, "sign_in.html", status=400, people=people, next=nxt, error=N_("请选择一个用户"))
        from liandiao.devtools.issuer import dev_issuer  # development only: never imported in production

        claims = chosen.claims()
        session.sign_in(request, claims, dev_issuer().issue(claims, ttl_seconds=TOKEN_TTL_SECONDS), chosen.label)
        return RedirectResponse(nxt, status_code=303)
    return render(request, "sign_in.html", people=people, next=nxt, error="",
                  oidc=settings.oidc is not None)


async def oidc_start(request: Request) -> Response:
    client = request.app.state.oidc
    if client is None:
        return RedirectResponse("/sign-in", status_code=303)
    request.session["next"] = _safe_next(request.query_params.get("next"))
    return await client.authorize_redirect(request, str(request.url_for("oidc_callback")))


def claims_of(access_token: str) -> auth.Claims:
    """The claims an access token carries, read for the pages only: the services verify it."""
    payload = jwt.decode(access_token, options={"verify_signature": False})
    return auth.Claims(subject=payload["sub"], organization_id=payload.get("org", ""),
                       role=auth.Role(payload["role"]), region_scope=tuple(payload.get("regions", ())))


async def oidc_callback(request: Request) -> Response:
    client = request.app.state.oidc
    token = await client.authorize_access_token(request)
    nxt = _safe_next(request.session.get("next"))
    access = token["access_token"]
    claims = claims_of(access)
    name = (token.get("userinfo") or {}).get("name", claims.subject)
    session.sign_in(request, claims, access, name)
    return RedirectResponse(nxt, status_code=303)


async def sign_out(request: Request) -> Response:
    if await session.csrf_ok(request):
        request.session.clear()
    return RedirectResponse("/sign-in", status_code=303)
