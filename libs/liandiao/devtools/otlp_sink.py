"""A minimal OTLP/gRPC trace receiver: the services export real OTLP to it, and
a test or the demo reads back which services took part in which trace, and which
traces name a dispute.

It keeps only those two indexes, filled as spans arrive, not the spans: a demo
of 20,000 disputes sends about a million spans, and each question is then a
dictionary look-up instead of a pass over all of them."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

DISPUTE_ATTRIBUTE = "liandiao.dispute_id"


class _Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, sink: OtlpSink):
        self.sink = sink

    def Export(self, request, context):
        for resource_spans in request.resource_spans:
            service = next((a.value.string_value for a in resource_spans.resource.attributes
                            if a.key == "service.name"), "?")
            seen: list[tuple[bytes, str]] = []
            timed: list[tuple[str, str, int]] = []
            milestone = self.sink.milestone
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    dispute = next((a.value.string_value for a in span.attributes if a.key == DISPUTE_ATTRIBUTE), "")
                    seen.append((span.trace_id, dispute))
                    if milestone is not None and dispute and (name := milestone(service, span.name)):
                        timed.append((dispute, name, span.end_time_unix_nano))
            self.sink.add(service, seen)
            if timed:
                self.sink.add_times(timed)
            self.sink.keep_text(service, resource_spans)
        return trace_service_pb2.ExportTraceServiceResponse()


class OtlpSink:
    def __init__(self, port: int = 0):
        self._lock = threading.Lock()
        self.span_count = 0
        self._services: dict[bytes, set[str]] = defaultdict(set)    # trace id -> services
        self._traces: dict[str, set[bytes]] = defaultdict(set)      # dispute id -> trace ids
        self._recording: list[tuple[str, str]] | None = None         # (service, spans as text), while recording
        # (service, span name) -> milestone name or None: set by a benchmark that times the flow from
        # the services' own spans; then, per dispute and milestone, the first and last span's end (ns).
        self.milestone: Callable[[str, str], str | None] | None = None
        self._times: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
        # OTLP export requests of a busy service run up to a few MiB.
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                                   options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)])
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

    def add(self, service: str, spans: list[tuple[bytes, str]]) -> None:
        """``spans``: (trace id, dispute id or "") of each span one service exported."""
        with self._lock:
            self.span_count += len(spans)
            for trace_id, dispute in spans:
                self._services[trace_id].add(service)
                if dispute:
                    self._traces[dispute].add(trace_id)

    def add_times(self, timed: list[tuple[str, str, int]]) -> None:
        with self._lock:
            for dispute, name, end in timed:
                first, last = self._times[dispute].get(name, (end, end))
                self._times[dispute][name] = (min(first, end), max(last, end))

    def times(self, dispute_id: str) -> dict[str, tuple[int, int]]:
        """milestone -> (first, last) span end in ns since the epoch, for one dispute."""
        with self._lock:
            return dict(self._times.get(dispute_id, {}))

    def record(self) -> list[tuple[str, str]]:
        """From now on, keeps every exported span whole as text (names, attributes,
        events, status), e.g. for a test that scans them for personal data; the list
        fills as spans arrive. Only while a test asks: a demo sends a million spans."""
        with self._lock:
            self._recording = []
            return self._recording

    def stop_recording(self) -> None:
        with self._lock:
            self._recording = None

    def keep_text(self, service: str, resource_spans) -> None:
        if self._recording is None:
            return
        from google.protobuf import text_format

        text = text_format.MessageToString(resource_spans, as_utf8=True)
        with self._lock:
            if self._recording is not None:
                self._recording.append((service, text))

    def services_by_trace(self) -> dict[str, set[str]]:
        with self._lock:
            return {t.hex(): set(s) for t, s in self._services.items()}

    def traces_of_dispute(self, dispute_id: str) -> dict[str, set[str]]:
        """trace id -> services, for traces with a span naming the dispute."""
        with self._lock:
            return {t.hex(): set(self._services[t]) for t in self._traces.get(dispute_id, ())}

    def whole_journeys(self, dispute_ids: list[str], services: set[str]) -> int:
        """How many of ``dispute_ids`` have one trace that every one of ``services`` took part in."""
        with self._lock:
            return sum(1 for d in dispute_ids
                       if any(services <= self._services[t] for t in self._traces.get(d, ())))
