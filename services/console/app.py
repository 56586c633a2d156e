"""The console as an ASGI application: routes, the signed session, CSRF on every POST, static
files (the console's own, and htmx and ECharts fetched at build time into static/vendor), and
the party status page of issue 11 mounted when its module (services/console/party) is there."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from liandiao import auth
from services.console import errors, i18n, party, session, signin
from services.console.backend import Backend
from services.console.config import ConsoleSettings
from services.console.pages import board, court, disputes, mediation, warnings
from services.console.present import N_
from services.console.web import render

HERE = Path(__file__).parent
SESSION_COOKIE = "liandiao_console"
SESSION_MAX_AGE = 8 * 3600
# Each role's first page.
HOME = {"clerk": "/disputes", "police": "/referrals", "mediator": "/mediator", "lawyer": "/mediator",
        "court": "/applications", "judge": "/applications", "liaison": "/warnings", "operator": "/board",
        "supervisor": "/board"}


class CsrfGuard:
    """Refuses a POST whose form (or X-CSRF-Token header, for htmx) does not carry the
    session's token: another site cannot make a signed-in person act."""

    def __init__(self, app: ASGIApp, exempt: tuple[str, ...] = ()):
        self.app, self.exempt = app, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope["path"].startswith(self.exempt):
            # Read once here, handed to the handler again: a body can be received only once.
            body = await Request(scope, receive).body()

            async def replay() -> dict:
                return {"type": "http.request", "body": body, "more_body": False}
            request = Request(scope, replay)
            if not await session.csrf_ok(request):
                response = render(request, "refused.html", status=403, refusal=errors.Refusal(
                    403, N_("表单已过期或来源不明，请返回重试"), "CSRF token missing or wrong"))
                await response(scope, receive, send)
                return
            receive = replay
        await self.app(scope, receive, send)


async def home(request: Request) -> Response:
    user = session.current(request)
    if user is None:
        return RedirectResponse("/sign-in", status_code=303)
    return RedirectResponse(HOME.get(user.role, "/disputes"), status_code=303)


async def language(request: Request) -> Response:
    locale = i18n.pick(request.path_params["locale"])
    back = request.headers.get("referer", "/")
    response = RedirectResponse(signin._safe_next(_path_of(back)), status_code=303)
    response.set_cookie("lang", locale, max_age=365 * 86400, samesite="lax")
    return response


def _path_of(url: str) -> str:
    from urllib.parse import urlparse
    u = urlparse(url)
    return u.path + (f"?{u.query}" if u.query else "")


async def server_error(request: Request, exc: Exception) -> Response:
    """A fault of the console itself: a plain page (the traceback goes to the log only)."""
    return render(request, "refused.html", status=500, refusal=errors.Refusal(500, N_("出现了错误"), ""))


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


def _party_mount(settings: ConsoleSettings, backend: Backend) -> list[Mount]:
    """The parties' status page (issue 11, services/console/party): intake answers it for the
    console's own service identity (a party has no sign-in), over the console's channels, whose
    certificate names the console (a service token must match its certificate). The console's
    token: LIANDIAO_SERVICE_TOKEN_FILE in production, the local issuer in development."""
    token = auth.service_token("console", os.environ, production=settings.production)
    source = party.GrpcStatusSource(intake=lambda: backend.channels["intake"],
                                    personnel=lambda: backend.channels["personnel"], metadata=token.metadata)
    # One proxy (the ingress) appends the party's address to X-Forwarded-For in the chart.
    return [Mount(party.PREFIX, app=party.router(source, forwarded_hops=1 if settings.production else 0))]


def routes(settings: ConsoleSettings, backend: Backend) -> list:
    d, m, c = disputes, mediation, court
    return [
        Route("/", home), Route("/healthz", healthz), Route("/lang/{locale}", language),
        Route("/sign-in", signin.sign_in_page, methods=["GET", "POST"]),
        Route("/sign-in/oidc", signin.oidc_start), Route("/auth/callback", signin.oidc_callback, name="oidc_callback"),
        Route("/sign-out", signin.sign_out, methods=["POST"]),
        Route("/disputes", d.queue), Route("/referrals", d.queue), Route("/unplaced", d.unplaced),
        Route("/disputes/new", d.register, methods=["GET", "POST"]),
        Route("/disputes/{dispute_id}", d.dispute), Route("/disputes/{dispute_id}/placement", d.placement),
        Route("/disputes/{dispute_id}/receipt.pdf", d.receipt_pdf),
        Route("/disputes/{dispute_id}/consultation", d.call_consultation, methods=["POST"]),
        Route("/disputes/{dispute_id}/consultation/plan", d.consultation_plan, methods=["POST"]),
        Route("/disputes/{dispute_id}/reassign", d.reassign, methods=["POST"]),
        Route("/mediator", m.home), Route("/offers/{dispute_id}/{answer:str}", m.answer_offer, methods=["POST"]),
        Route("/cases/{case_id}", m.case_page),
        Route("/cases/{case_id}/sessions", m.schedule, methods=["POST"]),
        Route("/cases/{case_id}/sessions/{session_id}/record", m.record, methods=["POST"]),
        Route("/cases/{case_id}/agreement", m.draft, methods=["POST"]),
        Route("/cases/{case_id}/agreement/{agreement_id}/sign", m.sign, methods=["POST"]),
        Route("/cases/{case_id}/terminate", m.terminate, methods=["POST"]),
        Route("/cases/{case_id}/apply", m.apply, methods=["POST"]),
        Route("/cases/{case_id}/extension", m.extend, methods=["POST"]),
        Route("/cases/{case_id}/extension/consent", m.consent, methods=["POST"]),
        Route("/cases/{case_id}/follow-ups", m.follow_up, methods=["POST"]),
        Route("/applications", c.applications), Route("/applications/{application_id}", c.application),
        Route("/applications/{application_id}/accept", c.accept, methods=["POST"]),
        Route("/applications/{application_id}/refuse", c.refuse, methods=["POST"]),
        Route("/applications/{application_id}/rule", c.rule, methods=["POST"]),
        Route("/applications/{application_id}/ruling.pdf", c.ruling_pdf),
        Route("/applications/{application_id}/ruling.json", c.ruling_file),
        Route("/warnings", warnings.warnings),
        Route("/warnings/{dispute_id}/acknowledge", warnings.acknowledge, methods=["POST"]),
        Route("/board", board.board), Route("/board/ledger", board.ledger),
        Mount("/static", app=StaticFiles(directory=HERE / "static", check_dir=False), name="static"),
        *_party_mount(settings, backend),
    ]


def create_app(settings: ConsoleSettings, backend: Backend | None = None) -> Starlette:
    backend = backend or Backend(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        backend.open()
        try:
            yield
        finally:
            await backend.close()

    app = Starlette(routes=routes(settings, backend), lifespan=lifespan, exception_handlers={500: server_error}, middleware=[
        Middleware(SessionMiddleware, secret_key=settings.session_secret, session_cookie=SESSION_COOKIE,
                   max_age=SESSION_MAX_AGE, same_site="lax", https_only=settings.secure_cookies),
        # The party page has its own protection (rate limits, no session); the OIDC callback is a GET.
        Middleware(CsrfGuard, exempt=("/party",)),
    ])
    app.state.settings, app.state.backend = settings, backend
    app.state.oidc = signin.oidc_client(settings)
    return app
