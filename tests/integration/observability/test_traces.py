"""Traces: a job's life is one trace across processes (its context is stored with the
run's request), HTTP and gRPC calls are server spans continuing the caller's trace, off
by default; and the spans reach a real OTLP receiver over gRPC when config.yaml says so."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from adapters.sql.store import StoreConfig
from api.bootstrap import Danube, build
from api.execution.lifetimes import grpc_server as serve_job_calls
from tests.integration.observability.conftest import (
    accept_observability,
    request,
    run_a_job,
    serve,
    settings_for,
)
from tests.support import auth_headers, wait_until

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


def traced(danube: Danube) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    danube.tracing.enable(exporter, batch=False)
    return exporter


def test_tracing_is_off_by_default(danube: Danube) -> None:
    assert danube.tracing.tracer is None
    run_id, _ = request(danube)
    assert "traceparent" not in danube.runs.get(run_id).trigger


def test_a_jobs_life_is_one_trace_across_processes(
    store_config: StoreConfig, tmp_path: Path
) -> None:
    """The server requests the run; another process (the executor's) records the rest
    and continues the trace from the context stored with the request."""
    server = build(settings_for(store_config, tmp_path))
    worker = build(settings_for(store_config, tmp_path))  # the same stores
    try:
        at_server, at_worker = traced(server), traced(worker)
        run_id, job_id = _requested_by(server)
        _lived_at(worker, run_id, job_id)
        (requested,) = at_server.get_finished_spans()
        assert requested.name == "run requested"
        names = [span.name for span in at_worker.get_finished_spans()]
        assert names == ["job scheduled", "job started", "step 1 build", "job main"]
        for span in at_worker.get_finished_spans():
            assert span.context.trace_id == requested.context.trace_id
            assert span.parent is not None and span.parent.span_id == requested.context.span_id
            assert span.attributes["danube.pipeline"] == "web"
        step, job = at_worker.get_finished_spans()[2:]
        assert step.start_time < step.end_time <= job.end_time
        assert job.start_time <= requested.end_time
        assert job.attributes["danube.job.state"] == "success"
        stored = server.runs.get(run_id).trigger["traceparent"]
        assert f"{requested.context.trace_id:032x}" in stored
    finally:
        server.close()
        worker.close()


def _requested_by(danube: Danube) -> tuple[object, object]:
    return request(danube)


def _lived_at(danube: Danube, run_id: object, job_id: object) -> None:
    from domain.cause import Cause
    from domain.runs.states import JobState, StepState

    runs, cause = danube.runs, Cause(actor="executor:local")
    runs.schedule_job(run_id, job_id, Cause(actor="system:dispatcher"))  # type: ignore[arg-type]
    runs.start_job(run_id, job_id, cause)  # type: ignore[arg-type]
    runs.start_step(run_id, job_id, 1, name="build", command="make")  # type: ignore[arg-type]
    runs.finish_step(
        run_id,
        job_id,
        1,
        state=StepState.SUCCESS,
        exit_code=0,
        log_offset=0,  # type: ignore[arg-type]
    )
    runs.finish_job(run_id, job_id, JobState.SUCCESS, "", cause)  # type: ignore[arg-type]


def test_http_requests_are_server_spans_that_continue_the_callers_trace(
    danube: Danube,
) -> None:
    import urllib.error
    import urllib.request

    exporter = traced(danube)
    url, supervisor = serve(danube)
    try:
        exporter.clear()
        asking = urllib.request.Request(
            f"{url}/api/v1/jobs/{'0' * 32}",
            headers={"traceparent": TRACEPARENT, **auth_headers(url)},
        )
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(asking, timeout=5)
    finally:
        supervisor.stop()
    spans = [s for s in exporter.get_finished_spans() if s.name.startswith("GET /api/v1/jobs")]
    assert len(spans) == 1
    (span,) = spans
    assert span.name == "GET /api/v1/jobs/{job_id}"  # the route, never the id
    assert f"{span.context.trace_id:032x}" == TRACE
    assert span.attributes["http.response.status_code"] == 404


def test_grpc_calls_are_server_spans_that_continue_the_callers_trace(danube: Danube) -> None:
    exporter = traced(danube)
    server = serve_job_calls(danube, "127.0.0.1:0")
    try:
        with grpc.insecure_channel(server.address) as channel:
            health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""),
                metadata=(("traceparent", TRACEPARENT),),
                timeout=10,
            )
    finally:
        server.stop(grace=0.5)
    (span,) = [s for s in exporter.get_finished_spans() if "Health/Check" in s.name]
    assert f"{span.context.trace_id:032x}" == TRACE
    assert span.attributes["rpc.grpc.status_code"] == "OK"


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP/gRPC trace receiver, as a collector runs one."""

    def __init__(self) -> None:
        self.spans: list[str] = []
        self.traces: dict[str, set[str]] = {}  # span name: the trace ids it was seen in
        self.got = threading.Event()

    def Export(self, request: object, context: object) -> object:
        for resource in request.resource_spans:  # type: ignore[attr-defined]
            for scope in resource.scope_spans:
                for span in scope.spans:
                    self.spans.append(span.name)
                    self.traces.setdefault(span.name, set()).add(span.trace_id.hex())
        self.got.set()
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, int]]:
    servicer = Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, port
    server.stop(0).wait(5)


def test_spans_are_exported_to_the_otlp_endpoint_config_yaml_names(
    danube: Danube, receiver: tuple[Receiver, int]
) -> None:
    servicer, port = receiver
    accept_observability(danube, traces_enabled="true", otel_endpoint=f"http://127.0.0.1:{port}")
    again = build(danube.settings)  # read at start, like every process
    try:
        assert again.tracing.tracer is not None
        run_a_job(again)
    finally:
        again.close()  # flushes what is buffered
    wait_until(lambda: servicer.got.is_set(), timeout=30, what="spans at the receiver")
    assert "run requested" in servicer.spans and "job main" in servicer.spans


def test_graphql_operations_are_spans_inside_their_http_request(danube: Danube) -> None:
    import urllib.request

    exporter = traced(danube)
    url, supervisor = serve(danube)
    try:
        asking = urllib.request.Request(
            f"{url}/graphql",
            data=b'{"query": "query Probe { __typename }"}',
            headers={
                "Content-Type": "application/json",
                "traceparent": TRACEPARENT,
                **auth_headers(url),
            },
            method="POST",
        )
        with urllib.request.urlopen(asking, timeout=10) as response:
            assert response.status == 200
    finally:
        supervisor.stop()
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert set(spans) >= {"graphql query Probe", "POST /graphql"}, set(spans)
    operation, http = spans["graphql query Probe"], spans["POST /graphql"]
    assert operation.parent is not None and operation.parent.span_id == http.context.span_id
    assert f"{operation.context.trace_id:032x}" == TRACE


def test_a_coordinators_grpc_calls_join_the_trace_of_its_jobs_run(danube: Danube) -> None:
    from danube._proto.v1 import job_service_pb2 as pb
    from danube._proto.v1 import job_service_pb2_grpc as pb_grpc
    from tests.integration.observability.conftest import catch_up

    exporter = traced(danube)
    _, job_id = request(danube)
    catch_up(danube)
    (requested,) = [s for s in exporter.get_finished_spans() if s.name == "run requested"]
    server = serve_job_calls(danube, "127.0.0.1:0")
    try:
        with grpc.insecure_channel(server.address) as channel:
            metadata = (("x-danube-job-id", str(job_id)), ("authorization", "Bearer wrong"))
            with pytest.raises(grpc.RpcError) as refused:
                pb_grpc.JobServiceStub(channel).GetSecret(
                    pb.GetSecretRequest(key="k"), metadata=metadata, timeout=10
                )
            assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    finally:
        server.stop(grace=0.5)
    (span,) = [s for s in exporter.get_finished_spans() if s.name.endswith("/GetSecret")]
    assert span.context.trace_id == requested.context.trace_id
    assert span.attributes["rpc.grpc.status_code"] == "UNAUTHENTICATED"


def test_danube_run_sends_one_trace_of_the_job_with_its_coordinators_calls(
    store_config: StoreConfig, tmp_path: Path, receiver: tuple[Receiver, int]
) -> None:
    """``danube run`` (the local executor) and its coordinator, a process of its own,
    export to the receiver config.yaml names; steps and the coordinator's RunStep calls
    are in the run's trace."""
    from tests.integration.execution.cli_support import cli_for
    from tests.integration.execution.conftest import make_repo

    servicer, port = receiver
    cli = cli_for(store_config, tmp_path)
    with cli.danube() as danube:
        accept_observability(
            danube, traces_enabled="true", otel_endpoint=f"http://127.0.0.1:{port}"
        )
    repo, _ = make_repo(
        tmp_path / "repo",
        """
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("echo compiling", name="compile")
            step.run("echo testing", name="test")
    """,
    )
    result = cli("run", str(repo))
    assert result.returncode == 0, result.stdout + result.stderr
    expected = {"run requested", "job started", "step 1 compile", "step 2 test", "job main"}
    wait_until(
        lambda: expected <= set(servicer.spans), timeout=30, what=f"{expected} at the receiver"
    )
    (trace,) = servicer.traces["run requested"]
    for name in expected:
        assert servicer.traces[name] == {trace}, name
    calls = [name for name in servicer.traces if name.endswith("JobService/RunStep")]
    assert calls and servicer.traces[calls[0]] == {trace}
