"""Domain errors to gRPC statuses with google.rpc rich details (DESIGN.md "Errors")."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from liandiao.errors import DomainError, InvalidInput, NotFound, PermissionDenied, RuleViolation, Unavailable


def to_status(err: DomainError) -> grpc.Status:
    detail = any_pb2.Any()
    if isinstance(err, InvalidInput):
        detail.Pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.reason)
            for v in err.violations
        ]))
        st = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=str(err), details=[detail])
    elif isinstance(err, RuleViolation):
        detail.Pack(error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(type="RULE", subject=err.rule, description=str(err))
        ]))
        st = status_pb2.Status(code=code_pb2.FAILED_PRECONDITION, message=str(err), details=[detail])
    elif isinstance(err, NotFound):
        st = status_pb2.Status(code=code_pb2.NOT_FOUND, message=str(err))
    elif isinstance(err, PermissionDenied):
        st = status_pb2.Status(code=code_pb2.PERMISSION_DENIED, message=str(err))
    elif isinstance(err, Unavailable):
        st = status_pb2.Status(code=code_pb2.UNAVAILABLE, message=str(err))
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
