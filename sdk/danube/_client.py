"""The JobService client: one channel to the master, authenticated, with retries."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

import grpc

from danube._config import ClientConfig
from danube._proto.v1 import job_service_pb2 as pb
from danube._proto.v1.job_service_pb2_grpc import JobServiceStub
from danube._retry import Clock, RetryBudget, SystemClock
from danube._status import describe, is_transient, master_error, secret_error
from danube._stepstream import StepRequest, StepStream
from danube.errors import ArtifactError
from danube.results import ArtifactInfo, OutputCallback, StepResult

# A unary attempt that gets no answer in this time is abandoned and retried.
UNARY_ATTEMPT_TIMEOUT_SECONDS = 10.0
MAX_RECEIVE_MESSAGE_BYTES = 64 * 1024 * 1024  # captured stdout arrives in one message
MIN_REDACTED_LENGTH = 4  # as the master's masking: shorter values are not worth it

# Keepalive lets a silent RunStep (a step printing nothing for minutes) notice a dead
# connection. The master's server must allow pings this often during calls.
CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_receive_message_length", MAX_RECEIVE_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
    # Reconnect quickly once the master is back, instead of grpc's default backoff up to 120 s.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1_000),
)

_Response = TypeVar("_Response")
ChunkSource = Callable[[], Iterator[bytes]]


class JobClient:
    """Calls the master's JobService for one job.

    Every call carries `authorization: Bearer <token>` and `x-danube-job-id`. Transient
    failures are retried within the configured budget (see `danube._retry`); other
    failures are raised as `MasterError` subclasses. Thread-safe.
    """

    def __init__(self, config: ClientConfig, clock: Clock | None = None) -> None:
        self._config = config
        self._clock: Clock = clock or SystemClock()
        self._channel = _open_channel(config)
        self._stub = JobServiceStub(self._channel)
        self._metadata = (
            ("authorization", f"Bearer {config.token}"),
            ("x-danube-job-id", config.job_id),
        )
        self._numbers = itertools.count(1)
        self._numbers_lock = threading.Lock()
        self._fetched: set[str] = set()  # secret values this job read

    def __repr__(self) -> str:
        return f"JobClient(address={self._config.address!r}, job_id={self._config.job_id!r})"

    def close(self) -> None:
        """Close the channel; in-flight calls are cancelled."""
        self._channel.close()

    def next_step_number(self) -> int:
        """The next 1-based step number of this job."""
        with self._numbers_lock:
            return next(self._numbers)

    def run_step(self, request: StepRequest, on_output: OutputCallback | None = None) -> StepResult:
        """Run a step on the master, resuming its stream after transport failures."""
        stream = StepStream(self._stub, self._metadata, self._budget(), request, on_output)
        try:
            return stream.run()
        except grpc.RpcError as exc:
            raise master_error(exc, f"step {request.name!r}") from None

    def get_secret(self, key: str) -> str:
        """The secret's value. Raises `MasterError` subclasses for missing/denied keys."""
        try:
            response = self._unary("GetSecret", self._stub.GetSecret, pb.GetSecretRequest(key=key))
        except grpc.RpcError as exc:
            raise secret_error(exc, key) from None
        if len(response.value.strip()) >= MIN_REDACTED_LENGTH:
            self._fetched.add(response.value)
        return response.value

    def redact(self, text: str) -> str:
        """`text` with the secret values this job read replaced by `***` (the master masks
        what it records; this is for text the SDK derives before it gets there)."""
        for value in sorted(self._fetched, key=len, reverse=True):
            text = text.replace(value, "***")
        return text

    def report_status(
        self,
        succeeded: bool,
        message: str = "",
        traceback: str | None = None,
        failed_step_number: int = 0,
        retry: bool = True,
    ) -> None:
        """Report the job's outcome; with `retry=False` a single quick attempt is made."""
        request = pb.ReportStatusRequest(
            outcome=pb.JOB_OUTCOME_SUCCESS if succeeded else pb.JOB_OUTCOME_FAILURE,
            message=message,
            failed_step_number=failed_step_number,
        )
        if traceback is not None:
            request.traceback = traceback
        budget = None if retry else self._budget(0.0)
        try:
            self._unary("ReportStatus", self._stub.ReportStatus, request, budget)
        except grpc.RpcError as exc:
            raise master_error(exc, "the job status report") from None

    def upload_artifact(self, name: str, directory: bool, chunks: ChunkSource) -> ArtifactInfo:
        """Stream an artifact; a transient failure restarts the upload from byte 0.

        `chunks` is called once per attempt and must yield the content afresh. The
        master's SHA-256 must match what was sent, else `ArtifactError`.
        """
        kind = pb.ARTIFACT_KIND_DIRECTORY if directory else pb.ARTIFACT_KIND_FILE
        header = pb.UploadArtifactRequest(header=pb.ArtifactHeader(name=name, kind=kind))
        budget = self._budget()
        while True:
            upload = _Upload(header, chunks())
            try:
                response = self._stub.UploadArtifact(upload.requests(), metadata=self._metadata)
            except grpc.RpcError as exc:
                upload.raise_local_error()
                if not is_transient(exc):
                    raise master_error(exc, f"artifact {name!r}") from None
                cause = describe(exc)
            else:
                return _verified(name, response, upload)
            finally:
                upload.close()
            budget.failed("UploadArtifact", cause)

    def _budget(self, seconds: float | None = None) -> RetryBudget:
        budget_seconds = self._config.retry_budget_seconds if seconds is None else seconds
        return RetryBudget(budget_seconds, self._config.address, self._clock)

    def _unary(
        self,
        name: str,
        method: Callable[..., _Response],
        request: object,
        budget: RetryBudget | None = None,
    ) -> _Response:
        budget = budget or self._budget()
        budget.start()
        while True:
            timeout = min(UNARY_ATTEMPT_TIMEOUT_SECONDS, max(budget.remaining(), 1.0))
            try:
                return method(request, timeout=timeout, metadata=self._metadata)
            except grpc.RpcError as exc:
                if not is_transient(exc):
                    raise
                cause = describe(exc)
            budget.failed(name, cause)


class _Upload:
    """One attempt's request stream: header, then chunks, hashing what is sent.

    gRPC consumes the iterator on its own thread and turns an exception raised there into
    a generic call failure; the local error is kept so it can be raised instead.
    """

    def __init__(self, header: pb.UploadArtifactRequest, chunks: Iterator[bytes]) -> None:
        self._header = header
        self._chunks = chunks
        self._digest = hashlib.sha256()
        self.size = 0
        self.local_error: BaseException | None = None

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def requests(self) -> Iterator[pb.UploadArtifactRequest]:
        yield self._header
        try:
            for chunk in self._chunks:
                self._digest.update(chunk)
                self.size += len(chunk)
                yield pb.UploadArtifactRequest(chunk=chunk)
        except Exception as exc:
            self.local_error = exc
            raise

    def raise_local_error(self) -> None:
        if self.local_error is not None:
            if isinstance(self.local_error, ArtifactError):
                raise self.local_error
            raise ArtifactError(
                f"cannot read the artifact: {self.local_error}"
            ) from self.local_error

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if callable(close):
            # ValueError: still executing on gRPC's thread; it ends with the call.
            with contextlib.suppress(ValueError):
                close()


def _verified(name: str, response: pb.UploadArtifactResponse, upload: _Upload) -> ArtifactInfo:
    if response.sha256 != upload.sha256 or response.size != upload.size:
        raise ArtifactError(
            f"artifact {name!r}: the master stored {response.size} bytes with sha256 "
            f"{response.sha256}, but {upload.size} bytes with sha256 {upload.sha256} were sent"
        )
    return ArtifactInfo(name=response.name, size=response.size, sha256=response.sha256)


def _open_channel(config: ClientConfig) -> grpc.Channel:
    if config.root_certificates is not None:
        credentials = grpc.ssl_channel_credentials(root_certificates=config.root_certificates)
        return grpc.secure_channel(config.address, credentials, options=CHANNEL_OPTIONS)
    return grpc.insecure_channel(config.address, options=CHANNEL_OPTIONS)
