"""What a person sees when a service says no. NOT_FOUND is also what a service answers for
a record the caller may not see (liandiao.access): the page says so without telling the two
apart. Field violations of INVALID_ARGUMENT go back to the form, next to their field."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from liandiao.rpc.errors import field_violations
from services.console.present import N_


@dataclass(frozen=True)
class Refusal:
    status: int          # HTTP status of the page
    title: str           # msgid (translated by the template)
    detail: str          # the service's own words (English, technical) for the curious


PAGES = {
    grpc.StatusCode.NOT_FOUND: (404, N_("没有找到，或您无权查看")),
    grpc.StatusCode.PERMISSION_DENIED: (403, N_("您可以查看，但无权进行此项操作")),
    grpc.StatusCode.UNAUTHENTICATED: (401, N_("登录已过期，请重新登录")),
    grpc.StatusCode.FAILED_PRECONDITION: (409, N_("当前状态下不能进行此项操作")),
    grpc.StatusCode.UNAVAILABLE: (503, N_("服务暂时不可用，请稍后再试")),
    grpc.StatusCode.DEADLINE_EXCEEDED: (503, N_("服务暂时不可用，请稍后再试")),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (503, N_("服务暂时不可用，请稍后再试")),
}


def refusal(exc: grpc.aio.AioRpcError) -> Refusal:
    status, title = PAGES.get(exc.code(), (500, N_("出现了错误")))
    return Refusal(status, title, exc.details() or "")


def form_errors(exc: grpc.aio.AioRpcError) -> dict[str, str] | None:
    """field path -> the service's reason, for an INVALID_ARGUMENT; None for any other refusal."""
    if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
        return None
    found = field_violations(exc)
    return found or {"": exc.details() or ""}
