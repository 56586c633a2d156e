"""The HTTP surface the court and police systems call (docs/api/external-systems.yaml).

Every request goes through the same steps, in an order that does no work for a stranger:
the system is known and its signature holds (401 otherwise), the signature is new (401
for a replay, recorded in PostgreSQL so every replica agrees), the endpoint fits the
system's kind (403), the body is JSON (400) that matches the OpenAPI schema (422 with
a JSON pointer for every problem), the organization and region named are the system's
(403); then intake registers it, with all of its own validation (its INVALID_ARGUMENT
violations come back as 422, each with the pointer, intake's field path and reason)."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import yaml
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from jsonschema import Draft202012Validator, FormatChecker
from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Histogram
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route as Path_

from liandiao import hmacsig, telemetry
from liandiao.intake.v1 import intake_pb2
from services.intake.external import mapping
from services.intake.external.mapping import Route
from services.intake.external.replay import ReplayStore
from services.intake.external.systems import Kind, System

log = logging.getLogger("liandiao.external")
DISPUTE_ATTRIBUTE = "liandiao.dispute_id"    # the attribute a dispute's spans carry (as the services')
SPEC_FILE = Path(__file__).resolve().parents[3] / "docs" / "api" / "external-systems.yaml"
MAX_BODY_BYTES = 1 << 20
REQUESTS = Counter("liandiao_external_requests_total", "Requests of court and police systems, by outcome",
                   ["system", "route", "outcome"])
LATENCY = Histogram("liandiao_external_request_seconds", "Time to answer a court or police system", ["route"])
_KINDS = {Route.POLICE_REFERRAL: Kind.POLICE, Route.COURT_DELEGATION: Kind.COURT, Route.COURT_COMMISSION: Kind.COURT}
_STATUS = {intake_pb2.DISPUTE_STATUS_REGISTERED: "registered", intake_pb2.DISPUTE_STATUS_REFUSED: "refused"}
_NOT_NOW = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.DEADLINE_EXCEEDED,
            grpc.StatusCode.CANCELLED}

Register = Callable[[intake_pb2.RegisterDisputeRequest], Awaitable[intake_pb2.RegisterDisputeResponse]]


def load_spec(path: Path = SPEC_FILE) -> dict[str, Any]:
    return yaml.safe_load(path.read_text("utf-8"))


_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """RFC 3339 with an offset: a consent's disclosure is an instant, not a local time."""
    if not isinstance(value, str):
        return True
    if datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is None:
        raise ValueError("needs a UTC offset")
    return True


def validators(spec: Mapping[str, Any]) -> dict[Route, Draft202012Validator]:
    """One validator per endpoint over the schemas of the OpenAPI file itself, so the
    file is the contract the adapter enforces, not a description beside it."""
    resource = Resource.from_contents(dict(spec), default_specification=DRAFT202012)
    registry: Registry = Registry().with_resource("urn:liandiao:external-systems", resource)
    out = {}
    for route, name in mapping.SCHEMA_OF.items():
        schema = {"$ref": f"urn:liandiao:external-systems#/components/schemas/{name}"}
        out[route] = Draft202012Validator(schema, registry=registry, format_checker=_FORMATS)
    return out


@dataclass
class Adapter:
    systems: Mapping[str, System]
    replay: ReplayStore
    register: Register
    intake_ready: Callable[[], Awaitable[bool]]
    window_seconds: float = hmacsig.DEFAULT_WINDOW_SECONDS
    clock: Callable[[], float] = time.time
    spec: Mapping[str, Any] = field(default_factory=load_spec)

    def __post_init__(self) -> None:
        self.validators = validators(self.spec)


class Refusal(Exception):
    def __init__(self, status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None):
        super().__init__(detail)
        self.status, self.title, self.detail, self.errors = status, title, detail, errors or []

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"type": "about:blank", "title": self.title, "status": self.status,
                                "detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        return JSONResponse(body, status_code=self.status, media_type="application/problem+json")


_REQUIRED = re.compile(r"^'([A-Za-z_][A-Za-z0-9_]*)' is a required property$")


def _schema_errors(validator: Draft202012Validator, body: Any) -> list[dict[str, str]]:
    found = []
    for e in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        path = list(e.absolute_path)
        if e.validator == "required" and (missing := _REQUIRED.match(e.message)):
            path.append(missing.group(1))   # point at the field that is missing, not its parent
        where = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)
        dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        found.append({"pointer": where, "field": dotted, "reason": e.message[:300]})
    return found[:50]


def _violations(err: grpc.aio.AioRpcError) -> list[dict[str, str]]:
    st = rpc_status.from_call(err)  # type: ignore[arg-type]
    out = []
    for detail in st.details if st else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            br = error_details_pb2.BadRequest()
            detail.Unpack(br)
            out += [{"pointer": mapping.pointer(v.field), "field": v.field, "reason": v.description}
                    for v in br.field_violations]
    return out


async def _authenticate(adapter: Adapter, request: Request, body: bytes) -> System:
    system = adapter.systems.get(request.headers.get(hmacsig.SYSTEM, ""))
    if system is None:
        raise Refusal(401, "unknown system", f"{hmacsig.SYSTEM} does not name a configured system")
    wrong = hmacsig.problem(system.secret, request.headers, body, adapter.clock(), adapter.window_seconds)
    if wrong is not None:
        raise Refusal(401, "signature refused", wrong)
    signed_at = datetime.fromtimestamp(int(request.headers[hmacsig.TIMESTAMP]), UTC)
    if not await adapter.replay.first_use(system.system_id, request.headers[hmacsig.SIGNATURE], signed_at):
        raise Refusal(401, "replayed request", "this signature was used before: sign every attempt afresh")
    return system


def _checked_body(adapter: Adapter, route: Route, system: System, raw: bytes) -> dict[str, Any]:
    if system.kind is not _KINDS[route]:
        raise Refusal(403, "not this system's endpoint", f"a {system.kind} system cannot send a {route.value}")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Refusal(400, "not JSON", f"the body is not JSON: {str(exc)[:200]}") from None
    if not isinstance(body, dict):
        raise Refusal(400, "not a JSON object", "the body must be a JSON object")
    errors = _schema_errors(adapter.validators[route], body)
    if errors:
        raise Refusal(422, "invalid referral", f"{len(errors)} problem(s) in the body", errors)
    org = mapping.organization_of(route, body)
    org_pointer = "/station_org_id" if route is Route.POLICE_REFERRAL else "/court_org_id"
    if not system.speaks_for(org):
        # The referring organization grants sight of the dispute (intake's access policy).
        raise Refusal(403, "organization not allowed", f"system {system.system_id} does not speak for this "
                      "organization", [{"pointer": org_pointer, "field": org_pointer[1:],
                                        "reason": "not among the organizations this system may speak for"}])
    if not system.covers(body["region_code"]):
        raise Refusal(403, "region not allowed", f"system {system.system_id} registers disputes in "
                      f"{', '.join(system.regions)} only", [{"pointer": "/region_code", "field": "region_code",
                                                             "reason": "outside this system's regions"}])
    return body


async def _register(adapter: Adapter, route: Route, system: System, body: dict[str, Any]) -> JSONResponse:
    try:
        reply = await adapter.register(mapping.to_request(route, body, system.system_id))
    except grpc.aio.AioRpcError as err:
        code = err.code()
        if code is grpc.StatusCode.INVALID_ARGUMENT:
            found = _violations(err)
            raise Refusal(422, "invalid referral", (err.details() or "")[:300], found) from None
        if code is grpc.StatusCode.PERMISSION_DENIED:
            raise Refusal(403, "not allowed", (err.details() or "")[:300]) from None
        if code in _NOT_NOW:
            raise Refusal(503, "intake unavailable", "retry later, signed afresh (the reference keeps a retry "
                          "from making a second dispute)") from None
        log.error("intake refused the adapter", extra={"code": code.name, "detail": (err.details() or "")[:200]})
        raise Refusal(502, "registration failed", f"intake answered {code.name}") from None
    d = reply.dispute
    return JSONResponse({
        "dispute_id": d.dispute_id, "status": _STATUS.get(d.status, "registered"), "reference": body["reference"],
        "organization_id": mapping.organization_of(route, body), "linked_to_existing": reply.linked_to_existing,
        "warnings": list(reply.warnings), "registered_at": d.registered_at.ToDatetime(UTC).isoformat(),
    })


def _endpoint(adapter: Adapter, route: Route):
    async def handle(request: Request) -> JSONResponse:
        # One server span per request, continuing the calling system's W3C traceparent when it
        # sends a well-formed one; intake's span joins it through the call's metadata (main.py).
        parent = request.headers.get("traceparent", "")
        with telemetry.continued_span(f"POST {request.url.path}", parent if telemetry.valid_traceparent(parent)
                                      else "", kind=SpanKind.SERVER,
                                      attributes={"http.route": request.url.path}) as span:
            answer = await _handle(request)
            span.set_attribute("http.status_code", answer.status_code)
            if answer.status_code == 200:
                span.set_attribute(DISPUTE_ATTRIBUTE, json.loads(answer.body)["dispute_id"])
            return answer

    async def _handle(request: Request) -> JSONResponse:
        started = time.perf_counter()
        claimed = request.headers.get(hmacsig.SYSTEM, "")
        who = claimed if claimed in adapter.systems else "-"   # known ids only: a bounded label set
        try:
            declared = request.headers.get("content-length", "0")
            if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
                raise Refusal(413, "too large", f"at most {MAX_BODY_BYTES} bytes, with a Content-Length")
            raw = await request.body()
            if len(raw) > MAX_BODY_BYTES:
                raise Refusal(413, "too large", f"at most {MAX_BODY_BYTES} bytes")
            system = await _authenticate(adapter, request, raw)
            answer = await _register(adapter, route, system, _checked_body(adapter, route, system, raw))
            REQUESTS.labels(who, route.value, "registered").inc()
            log.info("referral registered", extra={"system": who, "route": route.value,
                                                    "dispute_id": json.loads(answer.body)["dispute_id"]})
            return answer
        except Refusal as refusal:
            REQUESTS.labels(who, route.value, str(refusal.status)).inc()
            log.info("referral refused", extra={"system": who, "route": route.value, "status": refusal.status,
                                                "title": refusal.title})
            return refusal.response()
        finally:
            LATENCY.labels(route.value).observe(time.perf_counter() - started)
    return handle


def build_app(adapter: Adapter) -> Starlette:
    async def health(request: Request) -> JSONResponse:
        if await adapter.replay.ready() and await adapter.intake_ready():
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable", "detail": "intake or the replay store is unreachable"},
                            status_code=503)

    return Starlette(routes=[
        Path_("/v1/police/referrals", _endpoint(adapter, Route.POLICE_REFERRAL), methods=["POST"]),
        Path_("/v1/court/delegations", _endpoint(adapter, Route.COURT_DELEGATION), methods=["POST"]),
        Path_("/v1/court/commissions", _endpoint(adapter, Route.COURT_COMMISSION), methods=["POST"]),
        Path_("/healthz", health, methods=["GET"]),
    ])


def health_app(app: Starlette) -> Starlette:
    """Only the health route of ``app``, for a listener of its own."""
    return Starlette(routes=[r for r in app.routes if getattr(r, "path", "") == "/healthz"])
