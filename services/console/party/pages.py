"""The party page's routes: the form (GET, the code pre-filled from the QR link) and
the status (POST, so the phone digits never sit in an address or a server log).

Every answer is ``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer``: a
status is for the person holding the phone, not for a shared browser's history or the
next site's logs. A wrong code and wrong digits read the same, as intake answers them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route, Router
from starlette.templating import Jinja2Templates

from liandiao.legaltime import CHINA_TZ
from liandiao.reference import dispute_types
from services.console.party.source import Refused, StatusSource

PREFIX = "/party"   # intake's status links (LIANDIAO_CONSOLE_BASE_URL + "/party/?code=...") point here
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
           "X-Frame-Options": "DENY", "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                                                 "img-src 'self'; form-action 'self'"}

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "lang": "zh-CN", "title": "纠纷调解进度查询", "intro": "请输入回执上的查询码和您登记的手机号码后四位。",
        "code": "查询码", "code_hint": "10位，字母不分大小写，例如 7KQ4M-2XH9P", "digits": "手机号码后四位",
        "digits_hint": "登记时留的手机号码的最后四位数字", "submit": "查询", "other_language": "English",
        "no_match": "查询码或手机号码后四位不正确，请对照回执再试一次。",
        "invalid.case_code": "查询码有误：请对照回执检查（共10位）。",
        "invalid.phone_last4": "请输入4位数字。", "invalid": "输入有误，请检查后再试。",
        "locked": "尝试次数过多，为保护您的信息，请{minutes}分钟后再试。",
        "unavailable": "系统暂时无法查询，请稍后再试。如有急事，请联系受理您纠纷的司法所。",
        "your_name": "当事人", "mediator": "调解员", "office": "所在单位", "next_session": "下次调解",
        "to_do": "您需要做的事", "deadlines": "与您有关的期限", "last_day": "最后一天", "for_you": "需要您办理",
        "case_number": "法院案号", "registered_on": "登记日期", "dispute_type": "纠纷类型", "updated_at": "更新于",
        "again": "查询其他纠纷", "privacy": "本页不显示其他当事人的个人信息。查询记录会被保存。",
        "video": "视频调解", "place": "地点",
    },
    "en": {
        "lang": "en", "title": "Mediation progress", "intro": "Enter the case code on your receipt and the last "
        "four digits of the phone number you registered.",
        "code": "Case code", "code_hint": "10 characters, upper or lower case, e.g. 7KQ4M-2XH9P",
        "digits": "Last 4 digits of your phone", "digits_hint": "of the phone number given at registration",
        "submit": "Show progress", "other_language": "中文",
        "no_match": "The case code or the phone digits are not right. Please check your receipt and try again.",
        "invalid.case_code": "This is not a case code: please check it against your receipt (10 characters).",
        "invalid.phone_last4": "Please enter 4 digits.", "invalid": "Please check what you entered.",
        "locked": "Too many attempts. To protect your information, please try again in {minutes} minutes.",
        "unavailable": "The status cannot be shown just now. Please try again later, or contact the judicial "
                       "office that registered your dispute.",
        "your_name": "Party", "mediator": "Mediator", "office": "Office", "next_session": "Next session",
        "to_do": "What you need to do", "deadlines": "Deadlines that concern you", "last_day": "Last day",
        "for_you": "for you to act", "case_number": "Court case number", "registered_on": "Registered on",
        "dispute_type": "Type of dispute", "updated_at": "Updated", "again": "Look up another dispute",
        "privacy": "This page shows nothing of the other parties. Look-ups are recorded.",
        "video": "By video", "place": "Place",
    },
}


def _language(request: Request, form: Any = None) -> str:
    chosen = (form.get("lang") if form is not None else None) or request.query_params.get("lang", "")
    return "en" if str(chosen).lower().startswith("en") else "zh"


def _client_address(request: Request, forwarded_hops: int) -> str:
    """The visitor's address: the peer, or behind ``forwarded_hops`` trusted proxies
    (the Ingress) the entry they appended to X-Forwarded-For."""
    if forwarded_hops > 0:
        hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
        if len(hops) >= forwarded_hops:
            return hops[-forwarded_hops]
    return request.client.host if request.client else ""


def _type_name(code: str, language: str) -> str:
    known = dispute_types().get(code)
    return (known.en if language == "en" else known.zh) if known else code


def router(source: StatusSource, *, forwarded_hops: int = 0) -> Router:
    """The routes under PREFIX. ``forwarded_hops``: proxies in front of the console that
    append the client's address to X-Forwarded-For (0: the peer is the client)."""

    def page(request: Request, template: str, language: str, status_code: int = 200, **context) -> HTMLResponse:
        t = TEXTS[language]
        other = "zh" if language == "en" else "en"
        response = TEMPLATES.TemplateResponse(request, template, {"t": t, "language": language, "other": other,
                                                                   **context}, status_code=status_code)
        response.headers.update(HEADERS)
        return response

    async def form(request: Request) -> HTMLResponse:
        language = _language(request)
        return page(request, "party/form.html", language, code=request.query_params.get("code", "")[:32],
                    errors={}, message="")

    async def status(request: Request) -> HTMLResponse:
        data = await request.form()
        language = _language(request, data)
        code, digits = str(data.get("code", ""))[:32], str(data.get("digits", "")).strip()[:8]
        t = TEXTS[language]
        try:
            answer = await source.case_status(code, digits, _client_address(request, forwarded_hops), language)
        except Refused as refused:
            errors: dict[str, str] = {}
            message = ""
            if refused.kind == "invalid":
                for field, name in (("case_code", "code"), ("phone_last4", "digits")):
                    if field in refused.fields:
                        errors[name] = t[f"invalid.{field}"]
                message = "" if errors else t["invalid"]
            elif refused.kind == "locked":
                message = t["locked"].format(minutes=max(1, -(-refused.retry_after_seconds // 60)))
            else:
                message = t[refused.kind]
            code_status = {"invalid": 400, "no_match": 200, "locked": 429}.get(refused.kind, 503)
            return page(request, "party/form.html", language, status_code=code_status, code=code, errors=errors,
                        message=message)
        office = await source.organization_name(answer.mediator_organization_id) \
            if answer.mediator_organization_id else ""
        nxt = None
        if answer.HasField("next_session"):
            nxt = {"when": _china(answer.next_session.scheduled_for.seconds), "place": answer.next_session.place,
                   "video": answer.next_session.video_link, "number": answer.next_session.number}
        return page(request, "party/status.html", language, s=answer, office=office, next_session=nxt,
                    dispute_type=_type_name(answer.dispute_type, language),
                    updated=_china(answer.updated_at.seconds) if answer.HasField("updated_at") else "")

    return Router(routes=[Route("/", form, methods=["GET"]), Route("/", status, methods=["POST"])])


def _china(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, CHINA_TZ).strftime("%Y-%m-%d %H:%M")
