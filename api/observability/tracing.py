"""Traces with the OpenTelemetry SDK (README "Traces").

Off by default. ``observability.traces_enabled: true`` with an ``otel_endpoint`` in
``config.yaml`` exports spans over OTLP/gRPC to that endpoint; until then nothing of the
SDK is even imported, and every hook is one attribute check (``tracer is None``).

The provider is Danube's own (never the process-global one), so one process can hold
several (the tests do) and a library's global setup cannot redirect our spans."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from api.observability.options import Observability

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

log = logging.getLogger(__name__)
PROPAGATOR = TraceContextTextMapPropagator()
TRACEPARENT = "traceparent"


class Tracing:
    """Danube's tracer, or None while tracing is off."""

    def __init__(self) -> None:
        self.tracer: Tracer | None = None
        self._provider: Any = None

    @classmethod
    def from_options(cls, options: Observability) -> Tracing:
        tracing = cls()
        if options.tracing:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            endpoint = options.otel_endpoint
            insecure = not endpoint.startswith("https://")
            # a short timeout: a collector that is away must not hold up a stopping process
            tracing.enable(OTLPSpanExporter(endpoint=endpoint, insecure=insecure, timeout=5))
            log.info("traces are exported", extra={"otel_endpoint": endpoint})
        return tracing

    def enable(self, exporter: SpanExporter, *, batch: bool = True) -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": "danube"}))
        processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
        provider.add_span_processor(processor)
        self._provider = provider
        self.tracer = provider.get_tracer("danube")

    def flush(self, timeout_millis: int = 5000) -> None:
        if self._provider is not None:
            self._provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        if self._provider is not None:
            self._provider.shutdown()
            self._provider, self.tracer = None, None


def extract(carrier: Mapping[str, str]) -> Context:
    """The trace context a caller sent (W3C ``traceparent``), or an empty one."""
    return PROPAGATOR.extract(dict(carrier))


def inject(context: Context | None = None) -> dict[str, str]:
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier, context=context)
    return carrier


def nanos(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1_000_000_000)
