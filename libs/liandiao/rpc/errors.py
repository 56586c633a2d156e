"""Domain errors to gRPC statuses with google.rpc rich details (DESIGN.md "Errors").

Whatever the error carries, the status stays small: gRPC sends the message and the
details as trailing metadata, which clients refuse above 8 KiB (by default) with
RESOURCE_EXHAUSTED. The message is percent-encoded on the wire (a Chinese
character takes 9 bytes there) and the details base64-encoded, hence the budgets."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from liandiao.errors import (
    DomainError,
    Exhausted,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
    Unavailable,
)

MAX_MESSAGE_BYTES = 480       # UTF-8 bytes of the status message
MAX_DETAILS_BYTES = 2400      # serialized google.rpc details
MAX_FIELD_BYTES = 160
MAX_REASON_BYTES = 400


def clip(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, on a character boundary, marked when cut."""
    raw = text.encode()
    if len(raw) <= max_bytes:
        return text
    return raw[:max_bytes - 3].decode(errors="ignore") + "..."


def _bad_request(err: InvalidInput) -> error_details_pb2.BadRequest:
    """The violations that fit the budget; the last one says how many were left out."""
    out = error_details_pb2.BadRequest()
    for n, v in enumerate(err.violations):
        item = error_details_pb2.BadRequest.FieldViolation(field=clip(v.field, MAX_FIELD_BYTES),
                                                           description=clip(v.reason, MAX_REASON_BYTES))
        if out.ByteSize() + item.ByteSize() + 64 > MAX_DETAILS_BYTES:
            out.field_violations.add(field=item.field,
                                     description=f"{clip(item.description, 100)} (and {len(err.violations) - n - 1} "
                                                 "more violation(s) not shown)")
            break
        out.field_violations.append(item)
    return out


def to_status(err: DomainError) -> grpc.Status:
    detail = any_pb2.Any()
    message = clip(str(err), MAX_MESSAGE_BYTES)
    if isinstance(err, InvalidInput):
        detail.Pack(_bad_request(err))
        st = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message, details=[detail])
    elif isinstance(err, RuleViolation):
        detail.Pack(error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(type="RULE", subject=clip(err.rule, MAX_FIELD_BYTES),
                                                            description=message)
        ]))
        st = status_pb2.Status(code=code_pb2.FAILED_PRECONDITION, message=message, details=[detail])
    elif isinstance(err, NotFound):
        st = status_pb2.Status(code=code_pb2.NOT_FOUND, message=message)
    elif isinstance(err, PermissionDenied):
        st = status_pb2.Status(code=code_pb2.PERMISSION_DENIED, message=message)
    elif isinstance(err, Unavailable):
        st = status_pb2.Status(code=code_pb2.UNAVAILABLE, message=message)
    elif isinstance(err, Exhausted):
        detail.Pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=err.retry_after_seconds)))
        st = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=message, details=[detail])
    else:
        st = status_pb2.Status(code=code_pb2.INTERNAL, message="internal error")
    return rpc_status.to_status(st)


def field_violations(err: grpc.aio.AioRpcError | grpc.RpcError) -> dict[str, str]:
    """Client side: the BadRequest field violations of a failed call, field -> reason."""
    st = rpc_status.from_call(err)  # type: ignore[arg-type]
    out: dict[str, str] = {}
    if st is None:
        return out
    for any_detail in st.details:
        if any_detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            br = error_details_pb2.BadRequest()
            any_detail.Unpack(br)
            out.update({v.field: v.description for v in br.field_violations})
    return out
