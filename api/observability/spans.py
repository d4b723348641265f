"""Server spans for HTTP requests (an ASGI middleware) and gRPC calls (a server
interceptor), and a span per GraphQL operation (a schema extension). The server spans
continue a caller's W3C trace context and are installed only while tracing is on, so
they cost nothing otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from uuid import UUID

import grpc
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode, get_current_span
from strawberry.extensions import SchemaExtension

from api.observability.tracing import TRACEPARENT, Tracing, extract
from domain.ids import RunId

if TYPE_CHECKING:
    from domain.runs.application import RunsService
    from projections.runs_view import RunsView

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


class HttpSpans:
    """One span per HTTP request, named by method and route template (never by the ids
    in the path), with the response status."""

    def __init__(self, app: Any, tracing: Tracing) -> None:
        self.app, self.tracing = app, tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = self.tracing.tracer
        if scope["type"] != "http" or tracer is None:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope.get("method", "GET")
        status: list[int] = []

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        with tracer.start_as_current_span(
            f"{method} {scope.get('path', '')}", context=extract(headers), kind=SpanKind.SERVER
        ) as span:
            span.set_attribute("http.request.method", method)
            try:
                await self.app(scope, receive, sending)
            finally:
                template = _template(scope, status)
                span.update_name(f"{method} {template}")
                span.set_attribute("http.route", template)
                if status:
                    span.set_attribute("http.response.status_code", status[0])
                    if status[0] >= 500:
                        span.set_status(Status(StatusCode.ERROR))


def _template(scope: Scope, status: list[int]) -> str:
    """The matched route's template; a mounted app that answered (GraphQL, the web
    app's files) by its path; anything else that was not found as "unmatched"."""
    template = getattr(scope.get("route"), "path", "")
    if template:
        return str(template)
    if status and status[0] != 404:
        return str(scope.get("path", ""))
    return "unmatched"


class GrpcSpans(grpc.ServerInterceptor):
    """One span per gRPC call, named by its method, continuing the caller's context
    (``traceparent`` metadata), or else, for a coordinator's call (``x-danube-job-id``),
    the trace of the job's run."""

    def __init__(self, tracing: Tracing, runs: RunsService, views: RunsView) -> None:
        self.tracing, self._runs, self._views = tracing, runs, views

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = continuation(details)
        if handler is None or self.tracing.tracer is None:
            return handler
        method = details.method
        metadata = {key: str(value) for key, value in details.invocation_metadata or ()}
        parent = extract(metadata)
        if not get_current_span(parent).get_span_context().is_valid:
            parent = self._job_trace(metadata.get("x-danube-job-id", ""))
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, method, parent),
                handler.request_deserializer, handler.response_serializer,
            )  # fmt: skip
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(handler.unary_stream, method, parent),
                handler.request_deserializer, handler.response_serializer,
            )  # fmt: skip
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                self._unary(handler.stream_unary, method, parent),
                handler.request_deserializer, handler.response_serializer,
            )  # fmt: skip
        return grpc.stream_stream_rpc_method_handler(
            self._streaming(handler.stream_stream, method, parent),
            handler.request_deserializer, handler.response_serializer,
        )  # fmt: skip

    def _job_trace(self, job_id: str) -> Context:
        """The trace stored with the run of the calling job (unverified: the call itself
        is admitted or refused by the servicer; a wrong id only places a span)."""
        try:
            job = self._views.job(UUID(job_id)) if job_id else None
            if job is None:
                return Context()
            run = self._runs.get(RunId(UUID(job.run_id)))
        except Exception:  # a malformed id, a run not found: a trace of its own
            return Context()
        return extract({TRACEPARENT: run.trigger.get(TRACEPARENT, "")})

    def _unary(self, behaviour: Any, method: str, parent: Any) -> Any:
        def traced(request: Any, context: grpc.ServicerContext) -> Any:
            with self._span(method, parent, context):
                return behaviour(request, context)

        return traced

    def _streaming(self, behaviour: Any, method: str, parent: Any) -> Any:
        def traced(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            with self._span(method, parent, context):
                yield from behaviour(request, context)

        return traced

    def _span(self, method: str, parent: Any, context: grpc.ServicerContext) -> Any:
        tracer = self.tracing.tracer
        assert tracer is not None
        span = tracer.start_as_current_span(
            method.lstrip("/"), context=parent, kind=SpanKind.SERVER,
            attributes={"rpc.system": "grpc", "rpc.method": method},
        )  # fmt: skip
        return _GrpcSpan(span, context)


class _GrpcSpan:
    """The span, ended with the call's status code (set by the servicer or by an
    exception)."""

    def __init__(self, manager: Any, context: grpc.ServicerContext) -> None:
        self.manager, self.context = manager, context

    def __enter__(self) -> Any:
        self.span = self.manager.__enter__()
        return self.span

    def __exit__(self, *exc: Any) -> Any:
        code = self.context.code() if hasattr(self.context, "code") else None
        name = getattr(code, "name", None) or ("UNKNOWN" if exc[0] else "OK")
        self.span.set_attribute("rpc.grpc.status_code", name)
        if name != "OK":
            self.span.set_status(Status(StatusCode.ERROR))
        return self.manager.__exit__(*exc)


class GraphQLSpans(SchemaExtension):
    """One span per GraphQL operation (inside its HTTP request's span), named by its
    type and name: ``graphql query pipelines``. One dictionary lookup while tracing is
    off."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        given = context.context if isinstance(context.context, dict) else {}
        tracer = given.get("tracer")
        if tracer is None:
            yield
            return
        with tracer.start_as_current_span("graphql", kind=SpanKind.INTERNAL) as span:
            yield
            kind = getattr(context.operation_type, "value", "operation")
            name = context.operation_name or "anonymous"
            span.update_name(f"graphql {kind} {name}")
            span.set_attribute("graphql.operation.type", str(kind))
            span.set_attribute("graphql.operation.name", name)
            result = context.result
            if context.pre_execution_errors or (result is not None and result.errors):
                span.set_status(Status(StatusCode.ERROR))
