"""Tracing, metrics and logs: the one place a service gets a tracer, a metric or
a logger. One dispute's whole journey is one trace (DESIGN.md "Observability"):
gRPC calls carry the context through the OpenTelemetry interceptors, Kafka
messages through a W3C ``traceparent`` header, and services that resume a
dispute after a human step (a mediator accepting an offer) continue the
dispute's stored trace context, linking the request that resumed it."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Link, SpanKind, Status
from prometheus_client import Counter, Gauge, Histogram

from liandiao.ids.masking import mask_name
from liandiao.redact import PERSONAL_FIELDS, mask_free_text

# ---- metrics (one registry per process; names shared by every service) ----
GRPC_HANDLED = Counter(
    "liandiao_grpc_server_handled_total", "gRPC calls handled", ["service", "method", "code"]
)
GRPC_LATENCY = Histogram(
    "liandiao_grpc_server_handling_seconds", "gRPC handling latency", ["service", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
HANDLER_LATENCY = Histogram(
    "liandiao_event_handler_seconds", "Kafka event handling latency", ["service", "consumer"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_CONSUMED = Counter(
    "liandiao_events_consumed_total", "Events consumed, by outcome",
    ["service", "consumer", "outcome"],  # processed | duplicate | dead_lettered | retried
)
CONSUMER_LAG = Gauge(
    "liandiao_consumer_lag", "Messages behind the partition end", ["service", "consumer", "topic", "partition"]
)
OUTBOX_BACKLOG = Gauge("liandiao_outbox_backlog", "Unpublished outbox rows", ["service"])
OUTBOX_PARKED = Gauge(
    "liandiao_outbox_parked", "Outbox rows set aside because they can never be published (see outbox.park_reason)",
    ["service"])
OUTBOX_OLDEST_SECONDS = Gauge(
    "liandiao_outbox_oldest_unpublished_seconds", "Age of the oldest unpublished outbox row", ["service"])
TASK_UP = Gauge("liandiao_task_up", "1 while a supervised background task runs, 0 while it waits to restart",
                ["service", "task"])
TASK_RESTARTS = Counter("liandiao_task_restarts_total", "Restarts of a supervised background task after a failure",
                        ["service", "task"])
RETENTION_PURGED = Counter("liandiao_retention_purged_total", "Rows purged by retention", ["service", "table"])
EVENTS_PUBLISHED = Counter("liandiao_events_published_total", "Events relayed to Kafka", ["service", "event_type"])
BUSINESS = Counter(
    "liandiao_business_events_total", "Business facts by region and type",
    ["service", "fact", "prefecture", "kind"],
)


def setup_tracing(service: str, otlp_endpoint: str = "", exporter: SpanExporter | None = None) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": f"liandiao-{service}"}))
    if exporter is None and otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=otlp_endpoint, insecure=True)
    if exporter is not None:
        provider.add_span_processor(RedactingProcessor(BatchSpanProcessor(exporter, schedule_delay_millis=500)))
    trace.set_tracer_provider(provider)
    return provider


class RedactingProcessor(SpanProcessor):
    """Masks personal data in every string of a finished span (attributes, events
    such as a recorded exception, the status text) before it is exported. It runs
    in the task that ended the span, so the names that task remembered are masked too."""

    def __init__(self, inner: SpanProcessor):
        self.inner = inner

    def on_start(self, span, parent_context=None) -> None:
        self.inner.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        status = span.status
        if status.description:
            status = Status(status.status_code, mask_free_text(status.description))
        self.inner.on_end(ReadableSpan(
            name=mask_free_text(span.name), context=span.context, parent=span.parent, resource=span.resource,
            attributes=_masked(span.attributes), kind=span.kind, links=span.links, status=status,
            events=[Event(e.name, _masked(e.attributes), e.timestamp) for e in span.events],
            start_time=span.start_time, end_time=span.end_time, instrumentation_scope=span.instrumentation_scope))

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def _masked(attributes):
    if not attributes:
        return attributes
    return {k: mask_free_text(v) if isinstance(v, str) else
            tuple(mask_free_text(i) if isinstance(i, str) else i for i in v) if isinstance(v, tuple | list) else v
            for k, v in attributes.items()}


def tracer() -> trace.Tracer:
    return trace.get_tracer("liandiao")


def current_traceparent() -> str:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent", "")


def current_trace_id() -> str:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""


@contextmanager
def continued_span(
    name: str, traceparent: str, *, kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, str] | None = None, link_current: bool = False,
) -> Iterator[trace.Span]:
    """A span that continues the trace in ``traceparent`` (from a Kafka header or a
    stored journey context). With ``link_current`` the span active now (e.g. the
    gRPC request that resumed the dispute) is kept as a link, not lost."""
    links = []
    if link_current:
        here = trace.get_current_span().get_span_context()
        if here.is_valid:
            links.append(Link(here))
    # Without a stored context the span simply continues whatever is current.
    parent = propagate.extract({"traceparent": traceparent}) if traceparent else None
    with tracer().start_as_current_span(name, context=parent, kind=kind, links=links, attributes=attributes) as span:
        yield span


# ---- logs -------------------------------------------------------------------
class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the trace and span ids of the active span,
    and personal data (ID numbers, phones) masked whatever the message holds."""

    _skip = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        span = trace.get_current_span().get_span_context()
        out: dict[str, object] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": mask_free_text(record.getMessage()),
        }
        if span.is_valid:
            out["trace_id"] = format(span.trace_id, "032x")
            out["span_id"] = format(span.span_id, "016x")
        for key, value in record.__dict__.items():
            if key not in self._skip and not key.startswith("_"):
                if key in PERSONAL_FIELDS and isinstance(value, str):
                    out[key] = mask_name(value)
                else:
                    out[key] = mask_free_text(str(value)) if isinstance(value, str) else value
        if record.exc_info:
            out["exc"] = mask_free_text(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def setup_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel("WARNING")


_TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def valid_traceparent(value: str) -> bool:
    return bool(_TRACEPARENT.match(value))
