"""Sends requests to the six services running as processes and judges each answer
as a client would see it, with what the service's own schema shows before and
after (nothing stored or published on a rejection; no event near Kafka's limit)."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import grpc
from google.protobuf import message_factory, text_format
from google.protobuf.descriptor import Descriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from liandiao.auth import SERVICE_METHODS, Role
from liandiao.devtools.clients import token
from liandiao.devtools.localrun import SERVICES, LocalServices
from tests.fuzz.protostrategies import field_paths

# What an answer may be. Anything else (INTERNAL, UNKNOWN, DEADLINE_EXCEEDED, a
# RESOURCE_EXHAUSTED caused by a huge error message, UNAVAILABLE from a crashed
# process) is a defect.
ALLOWED = frozenset({grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION,
                     grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.PERMISSION_DENIED})
# The server refuses a request above this itself (gRPC's receive limit) with RESOURCE_EXHAUSTED.
SERVER_RECEIVE_LIMIT = 4 * 1024 * 1024
MAX_MESSAGE_CHARS = 1024       # an error message never grows with the input
MAX_DETAILS_BYTES = 4096       # the google.rpc.Status trailer, well inside the 8 KiB metadata limit
MAX_REASON_CHARS = 512
MAX_EVENT_BYTES = 256 * 1024   # far from Kafka's 1 MB default message limit
KAFKA_MESSAGE_LIMIT = 1_000_000
CALL_TIMEOUT = 15.0
# Outcomes of the whole run by method and status, for the table at the end.
TALLY: dict[str, Counter] = defaultdict(Counter)
REPORT_DIR = Path(__file__).resolve().parents[2] / ".state" / "fuzz"
_INDEX = re.compile(r"\[[^\]]*\]")

# Who calls: the most privileged human role a method's policy allows first, so the
# call reaches the handler; SERVICE only when nothing else may.
ROLE_PREFERENCE = (Role.OPERATOR, Role.CLERK, Role.COURT, Role.JUDGE, Role.MEDIATOR, Role.POLICE, Role.LIAISON,
                   Role.LAWYER, Role.SUPERVISOR, Role.SERVICE)


def service_descriptors() -> dict[str, ServiceDescriptor]:
    """Every service of the platform, from the generated stubs."""
    out = {}
    for svc in SERVICES:
        module = importlib.import_module(f"liandiao.{svc}.v1.{svc}_pb2")
        (descriptor,) = module.DESCRIPTOR.services_by_name.values()
        out[svc] = descriptor
    return out


def all_methods() -> list[tuple[str, MethodDescriptor]]:
    return [(svc, m) for svc, d in service_descriptors().items() for m in d.methods]


def policy(svc: str) -> dict[str, frozenset[Role]]:
    return importlib.import_module(f"services.{svc}.main").app.policy


def roles_for(svc: str, method: str) -> list[Role]:
    allowed = policy(svc).get(method, frozenset())
    return [r for r in ROLE_PREFERENCE if r in allowed] or [Role.SERVICE]


def service_callers(svc: str, method: str) -> list[str]:
    """The service identities whose list (liandiao.auth.SERVICE_METHODS) holds the method."""
    full = f"{service_descriptors()[svc].full_name}/{method}"
    return sorted(name for name, methods in SERVICE_METHODS.items() if full in methods)


# Refusals that record something on purpose: a failed case-code look-up is audited and
# counted towards the lock against guessing (issue 11); that is its point.
REFUSAL_WRITES = {"intake.GetCaseStatus": frozenset({"audit_log", "lookup_failures"})}


def not_built(svc: str, method: str) -> bool:
    """True for a method the service's servicer leaves to the generated base class,
    which answers UNIMPLEMENTED. Today none: every method of the six services is built and fuzzed.
    Only these may answer UNIMPLEMENTED; a built method never may."""
    grpc_module = importlib.import_module(f"liandiao.{svc}.v1.{svc}_pb2_grpc")
    base = getattr(grpc_module, f"{service_descriptors()[svc].name}Servicer")
    try:
        api = importlib.import_module(f"services.{svc}.api")
    except ModuleNotFoundError:
        return True   # no servicer of its own: the base class is registered (confirmation)
    servicer = next((c for c in vars(api).values() if isinstance(c, type) and issubclass(c, base) and c is not base),
                    base)
    return inspect.unwrap(getattr(servicer, method)) is getattr(base, method)


def request_class(desc: Descriptor) -> type[Message]:
    return message_factory.GetMessageClass(desc)


def brief(request: Message, limit: int = 300) -> str:
    text = text_format.MessageToString(request, as_one_line=True, as_utf8=True)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


@dataclass
class Outcome:
    code: grpc.StatusCode
    message: str = ""
    violations: tuple[tuple[str, str], ...] = ()
    details_bytes: int = 0
    response_bytes: int = 0
    seconds: float = 0.0
    retry_info: bool = False   # a google.rpc.RetryInfo came with the refusal: a rate limit


@dataclass(frozen=True)
class Caller:
    role: Role
    subject: str = "fuzz"
    organization_id: str = "fuzz-org"
    region_scope: tuple[str, ...] = ("15",)

    def metadata(self):
        return token(self.role, subject=self.subject, organization_id=self.organization_id,
                     region_scope=self.region_scope)


class Harness:
    def __init__(self, services: LocalServices, dsn: str):
        self.services = services
        self.loop = asyncio.new_event_loop()
        self.db: asyncpg.Connection = self.loop.run_until_complete(asyncpg.connect(dsn))
        options = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1),
                   # measured by the test itself instead of being cut off by the client
                   ("grpc.max_metadata_size", 1 << 20), ("grpc.absolute_max_metadata_size", 1 << 20)]
        self._options = options
        # (service, identity) -> channel: a person's token goes over the gateway's certificate, a
        # service identity's over its own (a service token must match its certificate).
        self._channels: dict[tuple[str, str], grpc.Channel] = {}
        self.descriptors = service_descriptors()
        self.tally = TALLY
        self.bad: Counter = Counter()
        self.slowest: dict[str, float] = defaultdict(float)
        self.largest_event: dict[str, int] = defaultdict(int)
        self._count_sql: dict[str, str] = {}
        self.dirty = False   # something was accepted since the platform last settled

    def channel(self, svc: str, identity: str = "gateway") -> grpc.Channel:
        if (svc, identity) not in self._channels:
            tls = self.services.client_tls(identity)
            address = self.services.address(svc)
            self._channels[(svc, identity)] = (
                grpc.secure_channel(address, tls.channel_credentials(), options=self._options) if tls
                else grpc.insecure_channel(address, options=self._options))
        return self._channels[(svc, identity)]

    def close(self) -> None:
        for ch in self._channels.values():
            ch.close()
        self.loop.run_until_complete(self.db.close())
        self.loop.close()

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    # ---- calling --------------------------------------------------------------------
    def call(self, svc: str, method: str, request: Message, caller: Caller) -> Outcome:
        path = f"/{self.descriptors[svc].full_name}/{method}"
        identity = caller.subject if caller.role is Role.SERVICE and self.services.tls is not None \
            and (self.services.tls / f"{caller.subject}.crt").exists() else "gateway"
        stub = self.channel(svc, identity).unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                              response_deserializer=lambda b: b)
        started = time.perf_counter()
        try:
            raw = stub(request, metadata=caller.metadata(), timeout=CALL_TIMEOUT)
        except grpc.RpcError as err:
            return _failed(err, time.perf_counter() - started)
        return Outcome(grpc.StatusCode.OK, response_bytes=len(raw), seconds=time.perf_counter() - started)

    # ---- the service's own data -------------------------------------------------------
    def counts(self, schema: str) -> dict[str, int]:
        if schema not in self._count_sql:
            tables = self.run(self.db.fetch(
                "select table_name from information_schema.tables where table_schema = $1 "
                "and table_type = 'BASE TABLE' order by table_name", schema))
            # Audit entries written by a service identity are another service's reads caused by
            # earlier accepted requests (notification reading a dispute's contacts when its
            # events arrive), not by the request under test.
            parts = [f"select '{t['table_name']}' as t, count(*) as n from {schema}.{t['table_name']}"
                     + (" where role <> 'service'" if t["table_name"] == "audit_log" else "") for t in tables]
            self._count_sql[schema] = " union all ".join(parts)
        rows = self.run(self.db.fetch(self._count_sql[schema]))
        return {r["t"]: r["n"] for r in rows}

    def last_outbox_id(self, schema: str) -> int:
        return self.run(self.db.fetchval(f"select coalesce(max(id), 0) from {schema}.outbox"))

    def largest_event_since(self, schema: str, after_id: int) -> int:
        return self.run(self.db.fetchval(
            f"select coalesce(max(octet_length(payload)), 0) from {schema}.outbox where id > $1", after_id))

    def settle(self, timeout: float = 30.0) -> None:
        """Waits until every outbox is published, no delivery is pending and no table
        count moves: events caused by earlier accepted requests have been handled, so
        a count that changes afterwards was changed by the request under test."""
        if not self.dirty:
            return
        deadline = time.monotonic() + timeout
        previous = None
        while time.monotonic() < deadline:
            backlog = sum(self._backlog(s) for s in SERVICES)
            pending = self.run(self.db.fetchval(
                "select count(*) from notification.deliveries where status = 'pending'"))
            snapshot = {s: self.counts(s) for s in SERVICES}
            if backlog == 0 and pending == 0 and snapshot == previous:
                self.dirty = False
                return
            moving = {s: {t: (previous[s].get(t), n) for t, n in snapshot[s].items() if previous[s].get(t) != n}
                      for s in SERVICES if previous and snapshot[s] != previous[s]}
            previous = snapshot
            time.sleep(0.3)
        due = self.run(self.db.fetch(
            "select channel, template, attempts, left(last_error, 80) as error, next_attempt_at <= now() as due, count(*) as n "
            "from notification.deliveries where status = 'pending' group by 1, 2, 3, 4, 5 order by 6 desc limit 10"))
        raise AssertionError(
            f"the platform did not settle within {timeout}s: unpublished events "
            f"{ {s: self._backlog(s) for s in SERVICES} }, pending deliveries {[dict(r) for r in due]}, "
            f"tables still changing {moving}")

    def _backlog(self, schema: str) -> int:
        """Unpublished events; 0 for an outbox stuck behind an event Kafka can never take
        (the fuzz reported it already, as the event that was too large)."""
        head = self.run(self.db.fetchval(
            f"select octet_length(payload) from {schema}.outbox where published_at is null order by id limit 1"))
        if head is None or head > KAFKA_MESSAGE_LIMIT:
            return 0
        return self.run(self.db.fetchval(f"select count(*) from {schema}.outbox where published_at is null"))

    def alive(self, svc: str) -> bool:
        return self.services.procs[svc].poll() is None

    # ---- judging ----------------------------------------------------------------------
    def exercise(self, svc: str, method: MethodDescriptor, request: Message,
                 caller: Caller) -> tuple[Outcome, list[str]]:
        """Sends one request; returns the answer and what is wrong with it (empty: all fine)."""
        before = self.counts(svc)
        outbox_before = self.last_outbox_id(svc)
        out = self.call(svc, method.name, request, caller)
        key = f"{svc}.{method.name}"
        self.tally[key][out.code.name] += 1
        self.slowest[key] = max(self.slowest[key], out.seconds)
        problems = judge(svc, method, request, out)
        if out.code == grpc.StatusCode.OK:
            self.dirty = True
            size = self.largest_event_since(svc, outbox_before)
            self.largest_event[key] = max(self.largest_event[key], size)
            if size > MAX_EVENT_BYTES:
                problems.append(f"accepted, and published an event of {size} bytes")
        else:
            after = self.counts(svc)
            changed = {t: after[t] - before.get(t, 0) for t in after if after[t] != before.get(t, 0)
                       and t not in REFUSAL_WRITES.get(key, ())}
            if changed:
                problems.append(f"refused with {out.code.name}, yet rows changed in {svc}: {changed}")
        if not self.alive(svc):
            problems.append(f"the {svc} process died")
        if not problems:
            return out, []
        self.bad[key] += 1
        # Formatting a request of megabytes takes long: only the first few are spelled out.
        shown = brief(request) if self.bad[key] <= 10 else f"({request.ByteSize()} bytes)"
        return out, [f"{key} as {caller.role}: {p}; request {shown}; answer {out.code.name} "
                     f"{out.message[:200]!r}" for p in problems]


def judge(svc: str, method: MethodDescriptor, request: Message, out: Outcome) -> list[str]:
    problems = []
    code = out.code
    if code == grpc.StatusCode.UNIMPLEMENTED:
        if not not_built(svc, method.name):
            problems.append("UNIMPLEMENTED from a method the service implements")
    elif code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        if request.ByteSize() <= SERVER_RECEIVE_LIMIT and not out.retry_info:
            problems.append(f"RESOURCE_EXHAUSTED for a request of {request.ByteSize()} bytes")
    elif code not in ALLOWED:
        problems.append(f"status {code.name}")
    if len(out.message) > MAX_MESSAGE_CHARS:
        problems.append(f"an error message of {len(out.message)} characters")
    if out.details_bytes > MAX_DETAILS_BYTES:
        problems.append(f"error details of {out.details_bytes} bytes")
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        if not out.violations:
            problems.append("INVALID_ARGUMENT without a google.rpc.BadRequest field violation")
        known = field_paths(method.input_type)
        for path, reason in out.violations:
            if _INDEX.sub("", path) not in known:
                problems.append(f"a violation names {path[:80]!r}, not a field of {method.input_type.name}")
            if len(reason) > MAX_REASON_CHARS:
                problems.append(f"a violation reason of {len(reason)} characters")
    return problems


def _failed(err: grpc.RpcError, seconds: float) -> Outcome:
    code = err.code()
    details = dict(err.trailing_metadata() or ()).get("grpc-status-details-bin", b"")
    violations: list[tuple[str, str]] = []
    retry = False
    try:
        status = rpc_status.from_call(err)
    except ValueError:
        status = None
    for detail in status.details if status else ():
        retry = retry or detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR)
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            br = error_details_pb2.BadRequest()
            detail.Unpack(br)
            violations += [(v.field, v.description) for v in br.field_violations]
    return Outcome(code, err.details() or "", tuple(violations), len(details), 0, seconds, retry)
