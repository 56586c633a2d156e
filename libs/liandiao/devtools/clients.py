"""gRPC stubs with a caller token, for the demo, tests and benchmarks."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc

from liandiao import auth, transport
from liandiao.devtools.issuer import dev_issuer
from liandiao.rpc import channel as rpc_channel

T = TypeVar("T")


# Tokens made here are call metadata that tests and the development tools keep in module
# constants for a whole run: a suite on a loaded machine ran 42 minutes, and the services
# refused the tokens made at its start ("token expired"). The local issuer is for
# development only; the provider's tokens and the services' own (auth.ServiceToken, renewed
# before they expire) keep their short lives.
DEV_TOKEN_TTL_SECONDS = 12 * 3600


def token(role: auth.Role, subject: str = "demo", organization_id: str = "demo-org",
          region_scope: tuple[str, ...] = ("15",)) -> tuple[tuple[str, str]]:
    """Call metadata carrying a token of the local development issuer."""
    claims = auth.Claims(subject=subject, organization_id=organization_id, role=role, region_scope=region_scope)
    return (("authorization", "Bearer " + dev_issuer().issue(claims, ttl_seconds=DEV_TOKEN_TTL_SECONDS)),)


def service_token(service: str, region_scope: tuple[str, ...] = ("15",)) -> tuple[tuple[str, str]]:
    """Call metadata carrying ``service``'s own identity (liandiao.auth.SERVICE_METHODS)."""
    return (("authorization", "Bearer " + dev_issuer().issue(auth.service_claims(service, region_scope),
                                                              ttl_seconds=DEV_TOKEN_TTL_SECONDS)),)


# Local services started over TLS by this process (liandiao.devtools.localrun): address -> what
# a client presents to them. Keyed by address, so that plain-text services beside them still work.
LOCAL_TLS: dict[str, transport.GrpcTls] = {}


def channel(address: str, *, retry: bool = True) -> grpc.aio.Channel:
    """A channel with the platform's size limits and retry policy (liandiao.rpc.channel),
    over TLS when this process's LIANDIAO_TLS_* variables say so (liandiao.transport), or
    when ``address`` is a local service started over TLS."""
    tls = transport.grpc_tls(os.environ, production=False) or LOCAL_TLS.get(address)
    return rpc_channel.open_channel(address, tls, retry=retry)


# "Not now" answers: the server was busy or away, or the call ran out of time.
# Asking again is safe only for a call that a repeat cannot do twice (see
# liandiao.rpc.channel.REPEATABLE): a registration keeps its request_id.
NOT_NOW = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED,
                     grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED})


async def until_answered(call: Callable[[], Awaitable[T]], *, give_up_after: float = 120.0,
                         first_wait: float = 0.5, longest_wait: float = 5.0) -> T:
    """What a real client does once the channel's own retries are spent: ask again,
    with the same request, after a growing pause, until it gets an answer (or an
    error that asking again cannot change, which is raised)."""
    deadline = time.monotonic() + give_up_after
    wait = first_wait
    while True:
        try:
            return await call()
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in NOT_NOW or time.monotonic() + wait > deadline:
                raise
        await asyncio.sleep(random.uniform(wait / 2, wait))
        wait = min(wait * 2, longest_wait)
