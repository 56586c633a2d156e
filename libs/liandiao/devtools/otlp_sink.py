"""A minimal OTLP/gRPC trace receiver: the services export real OTLP to it, and
a test or the demo reads back which service produced which span in which trace."""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent import futures
from dataclasses import dataclass

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


@dataclass(frozen=True)
class SpanSeen:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, str]


class _Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, sink: OtlpSink):
        self.sink = sink

    def Export(self, request, context):
        for resource_spans in request.resource_spans:
            service = next((a.value.string_value for a in resource_spans.resource.attributes
                            if a.key == "service.name"), "?")
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    attrs = {a.key: a.value.string_value for a in span.attributes}
                    self.sink.add(SpanSeen(service, span.name, span.trace_id.hex(), span.span_id.hex(),
                                           span.parent_span_id.hex(), attrs))
        return trace_service_pb2.ExportTraceServiceResponse()


class OtlpSink:
    def __init__(self, port: int = 0):
        self._lock = threading.Lock()
        self.spans: list[SpanSeen] = []
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Receiver(self), self._server)
        self.port = self._server.add_insecure_port(f"127.0.0.1:{port}")

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> OtlpSink:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=1)

    def add(self, span: SpanSeen) -> None:
        with self._lock:
            self.spans.append(span)

    def services_by_trace(self) -> dict[str, set[str]]:
        with self._lock:
            out: dict[str, set[str]] = defaultdict(set)
            for s in self.spans:
                out[s.trace_id].add(s.service)
            return dict(out)

    def traces_of_dispute(self, dispute_id: str) -> dict[str, set[str]]:
        """trace id -> services, for traces with a span naming the dispute."""
        with self._lock:
            ids = {s.trace_id for s in self.spans if s.attributes.get("liandiao.dispute_id") == dispute_id}
        return {t: svcs for t, svcs in self.services_by_trace().items() if t in ids}
