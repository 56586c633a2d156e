"""The gRPC server every service runs: grpc.aio, standard health that tells the
truth, reflection, OpenTelemetry, and one interceptor for identity, metrics and
domain errors. Servicers only translate protobuf <-> domain."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.instrumentation.grpc import aio_server_interceptor

from liandiao import audit, auth, config, redact, telemetry, transport
from liandiao.db import transient
from liandiao.errors import DomainError
from liandiao.rpc.errors import to_status
from liandiao.rpc.limits import MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES
from liandiao.rpc.peer import service_identity

log = logging.getLogger(__name__)

# Open to anyone: probes and tooling.
_PUBLIC_SERVICES = ("grpc.health.v1.Health", "grpc.reflection.")

# method name (last path segment) -> roles allowed; a method missing from the
# policy is refused, so a new RPC is closed until someone decides who may call it.
Policy = Mapping[str, frozenset[auth.Role]]


class EdgeInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, service: str, verifier: auth.TokenVerifier, policy: Policy):
        self.service, self.verifier, self.policy = service, verifier, policy

    async def intercept_service(self, continuation, details: grpc.HandlerCallDetails):
        handler = await continuation(details)
        if handler is None or details.method.lstrip("/").startswith(_PUBLIC_SERVICES):
            return handler
        if handler.unary_unary is None:
            return handler  # no streaming RPCs in the platform yet
        full_method = details.method.lstrip("/")
        method = full_method.rsplit("/", 1)[-1]
        metadata = dict(details.invocation_metadata or ())
        behaviour = handler.unary_unary

        async def guarded(request, context: grpc.aio.ServicerContext):
            started = time.perf_counter()
            redact.remember_message(request)   # names and addresses masked in whatever this call logs
            code = grpc.StatusCode.OK
            try:
                claims = self._authorize(full_method, metadata.get("authorization", ""), service_identity(context))
                token, serving = auth.CURRENT.set(claims), audit.METHOD.set(full_method)
                try:
                    return await behaviour(request, context)
                finally:
                    audit.METHOD.reset(serving)
                    auth.CURRENT.reset(token)
            except _Refused as refusal:
                code = refusal.code
                await context.abort(refusal.code, refusal.message)
            except DomainError as err:
                status = to_status(err)
                code = status.code
                await context.abort_with_status(status)
            except NotImplementedError:
                code = grpc.StatusCode.UNIMPLEMENTED
                await context.abort(code, f"{method} is declared in the contract but not built yet")
            except grpc.aio.AbortError:
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            except Exception as exc:
                if transient(exc):
                    # The database is restarting or the transaction lost a race: the
                    # caller retries (the platform's retry policy), nothing was stored.
                    code = grpc.StatusCode.UNAVAILABLE
                    log.warning("dependency unavailable in %s: %s", method, f"{type(exc).__name__}: {exc}"[:300])
                    await context.abort(code, "a dependency (database) is unavailable; retry")
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error in %s", method)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")
            finally:
                telemetry.GRPC_HANDLED.labels(self.service, method, code.name).inc()
                telemetry.GRPC_LATENCY.labels(self.service, method).observe(time.perf_counter() - started)

        return grpc.unary_unary_rpc_method_handler(
            guarded, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _authorize(self, full_method: str, header: str, certified: str | None = None) -> auth.Claims:
        """``certified``: the service name of the client certificate under mutual TLS
        (None without one). A service token must be the certificate's own: a token
        copied from one service is no use from another's connection."""
        method = full_method.rsplit("/", 1)[-1]
        if not header.startswith("Bearer "):
            raise _Refused(grpc.StatusCode.UNAUTHENTICATED, "missing 'authorization: Bearer <token>'")
        try:
            claims = self.verifier.verify(header.removeprefix("Bearer "))
        except auth.InvalidToken as exc:
            raise _Refused(grpc.StatusCode.UNAUTHENTICATED, str(exc)) from None
        if claims.role is auth.Role.SERVICE and certified is not None and certified != claims.subject:
            raise _Refused(grpc.StatusCode.UNAUTHENTICATED,
                           f"service token of {claims.subject[:40]!r} presented on a connection certified as "
                           f"{certified[:40]!r}")
        # No wildcard: a service identity may call only the methods of its own list.
        if not auth.may_call(claims, full_method, self.policy.get(method)):
            who = f"service {claims.subject}" if claims.role is auth.Role.SERVICE else f"role {claims.role}"
            raise _Refused(grpc.StatusCode.PERMISSION_DENIED, f"{who} may not call {method}")
        return claims


class AdmissionLimit(grpc.aio.ServerInterceptor):
    """At most ``limit`` calls of the platform's own methods run at once; the next
    one is answered RESOURCE_EXHAUSTED at once (its handler never runs, so any
    client may retry it) instead of queueing for a database connection until its
    deadline passes. Health and reflection are not counted: a busy server is
    still alive, and its probes must say so."""

    def __init__(self, service: str, limit: int):
        self.service, self.limit = service, limit
        self.in_flight = 0

    async def intercept_service(self, continuation, details: grpc.HandlerCallDetails):
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None or details.method.lstrip("/").startswith(_PUBLIC_SERVICES):
            return handler
        method = details.method.rsplit("/", 1)[-1]
        behaviour = handler.unary_unary

        # Counted in the handler itself, not here: a call that is cancelled before
        # its request arrives never runs the handler and must not hold a place.
        async def admitted(request, context: grpc.aio.ServicerContext):
            if self.in_flight >= self.limit:
                telemetry.GRPC_HANDLED.labels(self.service, method, grpc.StatusCode.RESOURCE_EXHAUSTED.name).inc()
                await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                    f"{self.service} is at its limit of {self.limit} concurrent calls; retry with backoff")
            self.in_flight += 1
            try:
                return await behaviour(request, context)
            finally:
                self.in_flight -= 1

        return grpc.unary_unary_rpc_method_handler(
            admitted, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class _Refused(Exception):
    def __init__(self, code: grpc.StatusCode, message: str):
        self.code, self.message = code, message


def caller() -> auth.Claims:
    """The authenticated caller of the current RPC."""
    return auth.CURRENT.get()


Register = Callable[[grpc.aio.Server], Iterable[str]]


# Room above the admission limit for what it does not count (health probes,
# reflection) and for calls being turned away, before gRPC's own limit answers
# RESOURCE_EXHAUSTED to everything, probes included.
_CORE_HEADROOM = 32
# Calls the transport accepted that the server's event loop has not picked up yet.
# Past the soft limit gRPC drops them at random, past the hard one all of them,
# with CANCELLED, which no client retries. Its defaults (1000, 3000) are reached
# by one client sending 2,000 calls at once (measured: 197 of 2,000 cancelled);
# taken up, the loop picks every call and the limits above answer the excess with
# RESOURCE_EXHAUSTED. A pending call holds at most its flow-control window (64 KiB).
_PENDING_SOFT, _PENDING_HARD = 5000, 10000


def build_server(
    service: str, port: int, verifier: auth.TokenVerifier, policy: Policy, register: Register, *,
    max_concurrent_rpcs: int | None = None, host: str = "127.0.0.1", tls: transport.GrpcTls | None = None,
) -> tuple[grpc.aio.Server, health.aio.HealthServicer, int, list[str]]:
    """``register`` adds the servicers and returns their full service names.
    ``max_concurrent_rpcs`` defaults to LIANDIAO_GRPC_MAX_CONCURRENT_RPCS. The port
    is bound on ``host`` only (loopback unless told), over TLS when ``tls`` is given
    (mutual TLS when it names a client CA): health and reflection on the same port."""
    limit = max_concurrent_rpcs or config.grpc_max_concurrent_rpcs()
    server = grpc.aio.server(
        interceptors=[AdmissionLimit(service, limit), aio_server_interceptor(),
                      EdgeInterceptor(service, verifier, policy)],
        options=[("grpc.so_reuseport", 0),
                 ("grpc.max_receive_message_length", MAX_REQUEST_BYTES),
                 ("grpc.max_send_message_length", MAX_RESPONSE_BYTES),
                 ("grpc.server.max_pending_requests", _PENDING_SOFT),
                 ("grpc.server.max_pending_requests_hard_limit", _PENDING_HARD)],
        maximum_concurrent_rpcs=limit + _CORE_HEADROOM,
    )
    names = list(register(server))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    address = _address(host, port)
    bound = server.add_secure_port(address, tls.server_credentials()) if tls else server.add_insecure_port(address)
    if not bound:
        raise OSError(f"cannot bind gRPC to {address}")
    return server, health_servicer, bound, names


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def build_health_server(servicer: health.aio.HealthServicer, host: str, port: int) -> tuple[grpc.aio.Server, int]:
    """Health alone, in plain text, on a port of its own: the kubelet's gRPC probes
    cannot speak TLS. It answers health and nothing else (no data, no reflection)."""
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    bound = server.add_insecure_port(_address(host, port))
    if not bound:
        raise OSError(f"cannot bind the health port to {_address(host, port)}")
    return server, bound


# Liveness (the chart's liveness and startup probes ask for this name): SERVING as long
# as the process answers at all, even while PostgreSQL or Kafka is away, so an outage
# of a dependency takes pods out of the Service (readiness, the overall "" status)
# without restarting them all. A process whose event loop is stuck cannot answer.
LIVENESS = "liandiao.liveness"


async def set_liveness(servicer: health.aio.HealthServicer) -> None:
    await servicer.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)


async def set_health(servicer: health.aio.HealthServicer, names: Iterable[str], serving: bool) -> None:
    """Readiness: the overall status ("") and each gRPC service's."""
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in ["", *names]:
        await servicer.set(name, status)
