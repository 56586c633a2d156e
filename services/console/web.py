"""The pieces every page uses: the Jinja2 environments (one per language, with the i18n
extension and the presentation filters), the signed-in person, the services as that person,
and the page a refusal becomes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import quote

import grpc
import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from liandiao.ids import lookup
from liandiao.reference import dispute_types
from services.console import errors, i18n, present
from services.console.backend import Caller
from services.console.present import N_
from services.console.session import CSRF_FIELD, User, csrf_token, current

HERE = Path(__file__).parent


def _environment(locale: str) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             extensions=["jinja2.ext.i18n"], undefined=jinja2.StrictUndefined)
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    types = dispute_types()

    def dtype(code: str) -> str:
        t = types.get(code)
        return code if t is None else (t.zh if locale == "zh" else t.en)

    def region(code: str) -> str:
        d = lookup(code)
        return code if d is None else f"{d.name}"

    env.filters.update(dtype=dtype, region=region, cst=present.cst_parts, isodate=present.date_parts, money=present.money,
                       days_left=present.working_days_left, label=lambda v, m: present.label(m, v))
    env.globals.update(locale=locale, present=present)
    return env


ENVIRONMENTS = {locale: _environment(locale) for locale in i18n.LOCALES}


def locale_of(request: Request) -> str:
    return i18n.pick(request.cookies.get("lang"))


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    env = ENVIRONMENTS[locale_of(request)]
    user = current(request)
    html = env.get_template(template).render(request=request, user=user, csrf=csrf_token(request),
                                             csrf_field=CSRF_FIELD, path=request.url.path, **context)
    return HTMLResponse(html, status_code=status)


def refused(request: Request, exc: grpc.aio.AioRpcError) -> HTMLResponse:
    r = errors.refusal(exc)
    return render(request, "refused.html", status=r.status, refusal=r)


Handler = Callable[[Request, User, Caller], Awaitable[Response]]


def page(*roles: str):
    """A page for signed-in people of ``roles`` (any role when none): the handler gets the
    person and the services as that person; a service's refusal becomes the refusal page."""
    def wrap(handler: Handler):
        @wraps(handler)
        async def endpoint(request: Request) -> Response:
            user = current(request)
            if user is None:
                return RedirectResponse("/sign-in?next=" + quote(request.url.path), status_code=303)
            if roles and user.role not in roles:
                return render(request, "refused.html", status=403, refusal=errors.Refusal(
                    403, N_("此页面不属于您的角色"), f"role {user.role}"))
            caller = request.app.state.backend.as_person(user.token)
            try:
                return await handler(request, user, caller)
            except grpc.aio.AioRpcError as exc:
                return refused(request, exc)
        return endpoint
    return wrap


def back(url: str) -> RedirectResponse:
    """After a form's POST: the page it belongs to (post/redirect/get)."""
    return RedirectResponse(url, status_code=303)


async def form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: str(v).strip() for k, v in data.items() if k != CSRF_FIELD}
