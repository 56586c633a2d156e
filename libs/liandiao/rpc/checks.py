"""The checks every request passes before its handler runs, whatever the method:
it decodes (a string field that is not UTF-8 is named, not an UNKNOWN error from
deep inside gRPC), string sizes and characters, repeated-field counts, enum
numbers this build knows, finite floats and Timestamps inside the supported range
(liandiao.sizes holds them). One walk over the message's descriptor, so a
field or method added to a contract is bounded without anyone remembering to:
``add_servicer`` registers a service's servicer with all of it.

A refusal is InvalidInput naming the field (``parties[3].name``); the walk stops
after a few violations and never descends into a repeated field that is already
too long, so a hostile request costs little to refuse."""

from __future__ import annotations

import inspect
import math
import unicodedata
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, ServiceDescriptor
from google.protobuf.message import DecodeError, Message

from liandiao.errors import FieldViolation, InvalidInput
from liandiao.rpc.convert import timestamp_problem
from liandiao.sizes import Limits

F = FieldDescriptor
MAX_VIOLATIONS = 20
# Tab, line feed and carriage return belong in text; no other control character does.
# NUL in particular: PostgreSQL's text type cannot store it.
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def _bad_character(text: str) -> str | None:
    for ch in text:
        if ch in _ALLOWED_CONTROLS:
            continue
        if ch == "\x00":
            return "must not contain NUL characters"
        if unicodedata.category(ch) == "Cc":
            return f"must not contain control characters (U+{ord(ch):04X})"
    return None


class _Walk:
    def __init__(self, limits: Limits):
        self.limits = limits
        self.found: list[FieldViolation] = []

    def add(self, path: str, reason: str) -> None:
        self.found.append(FieldViolation(path, reason))

    @property
    def full(self) -> bool:
        return len(self.found) >= MAX_VIOLATIONS

    def message(self, msg: Message, prefix: str) -> None:
        desc: Descriptor = msg.DESCRIPTOR
        if desc.full_name == "google.protobuf.Timestamp":
            problem = timestamp_problem(msg)  # type: ignore[arg-type]
            if problem:
                self.add(prefix.rstrip("."), problem)
            return
        for fd, value in msg.ListFields():
            if self.full:
                return
            path = f"{prefix}{fd.name}"
            if fd.is_repeated:
                self.repeated(desc.name, fd, value, path)
            else:
                self.single(desc.name, fd, value, path)

    def repeated(self, owner: str, fd: FieldDescriptor, values: Any, path: str) -> None:
        most = self.limits.count(owner, fd.name)
        if len(values) > most:
            self.add(path, f"at most {most} {'entries' if _is_map(fd) else 'items'}, got {len(values)}")
            return
        if _is_map(fd):
            value_fd = fd.message_type.fields_by_name["value"]
            key_fd = fd.message_type.fields_by_name["key"]
            for key, value in values.items():
                if self.full:
                    return
                # A map entry is named by its field: the key itself may be what is wrong.
                self.single(owner, key_fd, key, path, limit_name=fd.name)
                if value_fd.type == F.TYPE_MESSAGE:
                    self.message(value, f"{path}.")
                else:
                    self.single(owner, value_fd, value, path, limit_name=fd.name)
            return
        for i, value in enumerate(values):
            if self.full:
                return
            self.single(owner, fd, value, f"{path}[{i}]")

    def single(self, owner: str, fd: FieldDescriptor, value: Any, path: str, limit_name: str | None = None) -> None:
        t = fd.type
        if t == F.TYPE_MESSAGE:
            self.message(value, f"{path}.")
        elif t == F.TYPE_STRING:
            most = self.limits.chars(owner, limit_name or fd.name)
            if len(value) > most:
                self.add(path, f"at most {most} characters, got {len(value)}")
            else:
                problem = _bad_character(value)
                if problem:
                    self.add(path, problem)
        elif t == F.TYPE_BYTES:
            most = self.limits.chars(owner, limit_name or fd.name)
            if len(value) > most:
                self.add(path, f"at most {most} bytes, got {len(value)}")
        elif t == F.TYPE_ENUM:
            if fd.enum_type.values_by_number.get(value) is None:
                self.add(path, f"{value} is not a value of {fd.enum_type.name}")
        elif t in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
            if not math.isfinite(value):
                self.add(path, "must be a finite number")


def _is_map(fd: FieldDescriptor) -> bool:
    return fd.type == F.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry


def violations(request: Message, limits: Limits) -> list[FieldViolation]:
    """What is wrong with ``request`` before any rule looks at it (at most MAX_VIOLATIONS)."""
    walk = _Walk(limits)
    walk.message(request, "")
    return walk.found


def check(request: Message, limits: Limits) -> None:
    found = violations(request, limits)
    if found:
        raise InvalidInput(found)


# ---- decoding ------------------------------------------------------------------

class Undecodable:
    """What the deserializer hands on for bytes that are no message of the request's
    type; the handler wrapper refuses it with the field at fault."""

    def __init__(self, violation: FieldViolation):
        self.violation = violation


def _varint(raw: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(raw) or shift > 63:
            raise DecodeError("truncated varint")
        byte = raw[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _bad_utf8(desc: Descriptor, raw: bytes, prefix: str = "", depth: int = 0) -> str | None:
    """The path of the first string field in ``raw`` that is not UTF-8, if any."""
    seen: dict[int, int] = {}
    pos = 0
    while pos < len(raw):
        tag, pos = _varint(raw, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            _, pos = _varint(raw, pos)
            continue
        if wire in (1, 5):
            pos += 8 if wire == 1 else 4
            continue
        if wire != 2:
            raise DecodeError(f"wire type {wire}")
        size, pos = _varint(raw, pos)
        chunk, pos = raw[pos:pos + size], pos + size
        fd = desc.fields_by_number.get(number)
        if fd is None:
            continue
        index = seen.get(number, 0)
        seen[number] = index + 1
        path = f"{prefix}{fd.name}" + (f"[{index}]" if fd.is_repeated and not _is_map(fd) else "")
        if fd.type == F.TYPE_STRING:
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError:
                return path
        elif fd.type == F.TYPE_MESSAGE and depth < 32:
            inner = _bad_utf8(fd.message_type, chunk, f"{path}.", depth + 1)
            if inner is not None:
                return f"{prefix}{fd.name}" if _is_map(fd) else inner
    return None


def _decoder(desc: Descriptor) -> Callable[[bytes], Message | Undecodable]:
    cls = message_factory.GetMessageClass(desc)

    def decode(raw: bytes) -> Message | Undecodable:
        try:
            return cls.FromString(raw)
        except DecodeError:
            try:
                path = _bad_utf8(desc, raw)
            except DecodeError:
                path = None
            if path is not None:
                return Undecodable(FieldViolation(path, "is not valid UTF-8"))
            return Undecodable(FieldViolation("", f"is not a {desc.name} in protobuf encoding"))

    return decode


# ---- registration ----------------------------------------------------------------

def method_handlers(service: ServiceDescriptor, servicer: object, limits: Limits) -> dict[str, grpc.RpcMethodHandler]:
    """What the generated ``add_<Service>Servicer_to_server`` builds, with every request
    decoded leniently and checked against ``limits`` before the servicer's method runs.
    A method the servicer leaves to the generated base class still answers
    UNIMPLEMENTED, for a request that passes."""
    return {m.name: grpc.unary_unary_rpc_method_handler(
        _checked(getattr(servicer, m.name), limits), request_deserializer=_decoder(m.input_type),
        response_serializer=lambda msg: msg.SerializeToString()) for m in service.methods}


def add_servicer(server: grpc.aio.Server, service: ServiceDescriptor, servicer: object, limits: Limits) -> str:
    """Registers ``servicer`` for ``service``; returns the service's full name (for health and reflection)."""
    handlers = method_handlers(service, servicer, limits)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))
    server.add_registered_method_handlers(service.full_name, handlers)
    return service.full_name


def _checked(method: Callable[..., Any], limits: Limits) -> Callable[..., Any]:
    async def checked(request, context):
        if isinstance(request, Undecodable):
            raise InvalidInput(request.violation)
        check(request, limits)
        result = method(request, context)
        return await result if inspect.isawaitable(result) else result

    checked.__wrapped__ = method  # type: ignore[attr-defined]
    return checked
