"""A test-only JobService that behaves like the Danube master.

It checks the job token, runs each step with `/bin/sh -c` in the workspace (decoupled
from the RPC, so a broken stream does not stop the step), keeps output by byte offset
and reattaches a repeated step number from `resume_offset`, keeps secrets in a dict and
stores uploads in a directory. Faults can be injected per step or upload.
"""

from __future__ import annotations

import collections
import hashlib
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from danube._proto.v1 import job_service_pb2 as pb
from danube._proto.v1 import job_service_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["JobService"].full_name
# The server must accept the SDK's keepalive pings during long silent steps.
SERVER_OPTIONS = [
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_ping_strikes", 0),
]


class StepRun:
    """One execution of a step: its output by offset, and its result when done."""

    def __init__(self, request: pb.RunStepRequest, workspace: Path) -> None:
        self.request = request
        self.chunks: list[tuple[int, pb.OutputStream, bytes]] = []  # (offset, stream, data)
        self.size = 0
        self.stdout = bytearray()
        self.result: pb.StepResult | None = None
        self._changed = threading.Condition()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workspace)}
        self.process = subprocess.Popen(
            ["/bin/sh", "-c", request.command],
            cwd=workspace,
            env={**env, **request.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        readers = [
            threading.Thread(
                target=self._read, args=(self.process.stdout, pb.OUTPUT_STREAM_STDOUT)
            ),
            threading.Thread(
                target=self._read, args=(self.process.stderr, pb.OUTPUT_STREAM_STDERR)
            ),
        ]
        for reader in readers:
            reader.start()
        threading.Thread(target=self._wait, args=(readers,), daemon=True).start()

    def _read(self, pipe: object, stream: pb.OutputStream) -> None:
        fd = pipe.fileno()  # type: ignore[attr-defined]
        while data := os.read(fd, 4096):
            with self._changed:
                self.chunks.append((self.size, stream, data))
                self.size += len(data)
                if stream == pb.OUTPUT_STREAM_STDOUT:
                    self.stdout += data
                self._changed.notify_all()

    def _wait(self, readers: list[threading.Thread]) -> None:
        timeout = self.request.timeout_seconds or None
        outcome, reason = pb.STEP_OUTCOME_SUCCESS, ""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.process.wait()
            outcome, reason = pb.STEP_OUTCOME_TIMEOUT, f"timed out after {timeout}s"
        for reader in readers:
            reader.join()
        exit_code = 128 - code if code < 0 else code
        if outcome == pb.STEP_OUTCOME_SUCCESS and exit_code != 0:
            outcome = pb.STEP_OUTCOME_FAILURE
        with self._changed:
            self.result = pb.StepResult(
                exit_code=exit_code, outcome=outcome, reason=reason, output_size=self.size
            )
            self._changed.notify_all()

    def kill(self) -> None:
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def follow(self, offset: int, context: grpc.ServicerContext) -> Iterator[pb.RunStepResponse]:
        """Output from `offset` on (stored, then live), then the result."""
        index = 0
        while context.is_active():
            with self._changed:
                pending = self.chunks[index:]
                index = len(self.chunks)
                result = self.result
                if not pending and result is None:
                    self._changed.wait(timeout=0.2)
                    continue
            for chunk_offset, stream, data in pending:
                if chunk_offset + len(data) <= offset:
                    continue
                skip = max(0, offset - chunk_offset)
                yield pb.RunStepResponse(
                    output=pb.StepOutput(
                        data=data[skip:], offset=chunk_offset + skip, stream=stream
                    )
                )
            if result is not None and not pending:
                final = pb.StepResult()
                final.CopyFrom(result)
                if self.request.capture:
                    final.captured_stdout = bytes(self.stdout)
                yield pb.RunStepResponse(result=final)
                return


@dataclass
class StoredArtifact:
    kind: int
    path: Path
    sha256: str


@dataclass
class FakeMaster(pb_grpc.JobServiceServicer):
    """The master's JobService for one job, with knobs for tests."""

    workspace: Path
    token: str = "tok-3f9a1c2e-secret-value"
    job_id: str = "job-1"
    running: bool = True
    secrets: dict[str, str] = field(default_factory=dict)
    denied_secrets: set[str] = field(default_factory=set)
    steps: dict[int, StepRun] = field(default_factory=dict)
    step_requests: list[pb.RunStepRequest] = field(default_factory=list)
    executions: collections.Counter[int] = field(default_factory=collections.Counter)
    reports: list[pb.ReportStatusRequest] = field(default_factory=list)
    metadata_seen: list[dict[str, str]] = field(default_factory=list)
    artifacts: dict[str, StoredArtifact] = field(default_factory=dict)
    upload_attempts: int = 0
    # number -> abort the first RunStep of that step with UNAVAILABLE after N output chunks
    break_step_after_chunks: dict[int, int] = field(default_factory=dict)
    # number -> end the first RunStep of that step (status OK, no result) after N chunks
    end_step_after_chunks: dict[int, int] = field(default_factory=dict)
    # replay output from offset 0 on every RunStep, as a sloppy master might
    ignore_resume_offset: bool = False
    # abort the next upload with UNAVAILABLE after N content chunks
    break_upload_after_chunks: int | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._artifact_dir = Path(tempfile.mkdtemp(prefix="fake-master-artifacts-"))

    def calls(self) -> int:
        return len(self.metadata_seen)

    def _admit(self, context: grpc.ServicerContext) -> None:
        metadata = {key: str(value) for key, value in context.invocation_metadata()}
        with self._lock:
            self.metadata_seen.append(metadata)
        if metadata.get("authorization") != f"Bearer {self.token}" or (
            metadata.get("x-danube-job-id") != self.job_id
        ):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid job token")
        if not self.running:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"job {self.job_id} is not running")

    def RunStep(
        self, request: pb.RunStepRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.RunStepResponse]:
        self._admit(context)
        if request.number < 1:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "step numbers start at 1")
        with self._lock:
            self.step_requests.append(request)
            run = self.steps.get(request.number)
            if run is None:
                run = self.steps[request.number] = StepRun(request, self.workspace)
                self.executions[request.number] += 1
            break_after = self.break_step_after_chunks.pop(request.number, None)
            end_after = self.end_step_after_chunks.pop(request.number, None)
        sent = 0
        offset = 0 if self.ignore_resume_offset else request.resume_offset
        for response in run.follow(offset, context):
            yield response
            sent += response.HasField("output")
            if break_after is not None and sent >= break_after:
                context.abort(grpc.StatusCode.UNAVAILABLE, "injected: stream broken")
            if end_after is not None and sent >= end_after:
                return

    def GetSecret(
        self, request: pb.GetSecretRequest, context: grpc.ServicerContext
    ) -> pb.GetSecretResponse:
        self._admit(context)
        if request.key in self.denied_secrets:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "not readable by this pipeline")
        if request.key not in self.secrets:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no secret {request.key}")
        return pb.GetSecretResponse(value=self.secrets[request.key])

    def UploadArtifact(
        self, request_iterator: Iterator[pb.UploadArtifactRequest], context: grpc.ServicerContext
    ) -> pb.UploadArtifactResponse:
        self._admit(context)
        with self._lock:
            self.upload_attempts += 1
            break_after, self.break_upload_after_chunks = self.break_upload_after_chunks, None
        first = next(request_iterator, None)
        if first is None or not first.HasField("header"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message must be a header")
        name = first.header.name
        if not name or name.startswith("/") or ".." in name.split("/"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"bad artifact name {name!r}")
        digest, size, chunks = hashlib.sha256(), 0, 0
        partial = self._artifact_dir / f".partial-{threading.get_ident()}"
        with open(partial, "wb") as file:
            for message in request_iterator:
                file.write(message.chunk)
                digest.update(message.chunk)
                size += len(message.chunk)
                chunks += 1
                if break_after is not None and chunks >= break_after:
                    context.abort(grpc.StatusCode.UNAVAILABLE, "injected: upload broken")
        target = self._artifact_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.replace(target)
        self.artifacts[name] = StoredArtifact(first.header.kind, target, digest.hexdigest())
        return pb.UploadArtifactResponse(name=name, size=size, sha256=digest.hexdigest())

    def ReportStatus(
        self, request: pb.ReportStatusRequest, context: grpc.ServicerContext
    ) -> pb.ReportStatusResponse:
        self._admit(context)
        self.reports.append(request)
        return pb.ReportStatusResponse()

    def stop_steps(self) -> None:
        for run in list(self.steps.values()):
            run.kill()


@contextmanager
def serving(master: FakeMaster, tls: tuple[bytes, bytes] | None = None) -> Iterator[str]:
    """Serve `master` (plus health and reflection) on 127.0.0.1; yields `host:port`.
    With `tls` = (PEM key, PEM certificate) the port speaks TLS."""
    server = grpc.server(ThreadPoolExecutor(max_workers=32), options=SERVER_OPTIONS)
    pb_grpc.add_JobServiceServicer_to_server(master, server)
    health_servicer = health.HealthServicer()
    health_servicer.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection([SERVICE_NAME, reflection.SERVICE_NAME], server)
    if tls is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([tls]))
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        master.stop_steps()
        server.stop(grace=None)
