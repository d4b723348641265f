"""``RunStep``: record the step (once per number), then stream its stored output from the
caller's offset until the step has ended, then its result.

A repeated call for a step number that already started never runs it again: it reattaches
to the stored output from ``resume_offset``, which is how a coordinator survives a broken
connection without losing or repeating output.

What the job says of the step is recorded and shown as its log would show it (masked by
the job's secrets, its token and token patterns); the command as given, when masking
changed it, and the step's environment are recorded only sealed (``api.execution.material``).
This module writes nothing into the job's log: the process that runs the step (the
reconciler's) writes its opening line and records where its output begins.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

import grpc

from api.grpc.ports import JobCalls
from danube._proto.v1 import job_service_pb2 as pb
from danube.step import default_name
from domain.execution.relay import StepEnd
from domain.ids import JobId, RunId
from domain.runs.errors import IllegalTransitionError, RunsError, StepConflictError
from domain.runs.states import JobState
from projections.runs_view import JobView

OUTCOMES = {
    "success": pb.STEP_OUTCOME_SUCCESS,
    "failure": pb.STEP_OUTCOME_FAILURE,
    "timeout": pb.STEP_OUTCOME_TIMEOUT,
    "cancelled": pb.STEP_OUTCOME_CANCELLED,
}
STREAMS = {"stdout": pb.OUTPUT_STREAM_STDOUT, "stderr": pb.OUTPUT_STREAM_STDERR}
POLL_SECONDS = 0.05
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,255}")
MAX_IMAGE_LENGTH = 1024


@dataclass(frozen=True)
class ShownStep:
    """A step as the log, the events and the read models show it."""

    name: str
    command: str
    image: str


@dataclass(frozen=True)
class StartedStep:
    """A step as its start was recorded: what the reconciler needs to run it."""

    number: int
    name: str
    command: str
    image: str
    timeout_seconds: float
    env_sealed: dict[str, str] | None
    command_sealed: dict[str, str] | None
    log_start: int | None = None  # its runner writes its opening line and records this


class StepStreams:
    def __init__(self, jobs: JobCalls) -> None:
        self._jobs = jobs
        self._material = jobs.material

    def run(
        self, job: JobView, request: pb.RunStepRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.RunStepResponse]:
        if request.number < 1:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "step numbers start at 1")
        if not request.command.strip():
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a step needs a command")
        problem = self._problem(request)
        if problem is not None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        shown = self._shown(job, request)
        step = self._jobs.views.step(job.id, request.number)
        if step is None:
            self._start(job, request, shown, context)
        elif step.command != shown.command:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"step {request.number} of job {job.id} was started with another command",
            )
        yield from self._follow(job, request, context)

    def _problem(self, request: pb.RunStepRequest) -> str | None:
        """What the server refuses to record or run: over-long text, environment
        variable names a process environment cannot hold."""
        most = self._jobs.settings.max_step_command_bytes
        for what, text in (("command", request.command), ("name", request.name)):
            size = len(text.encode("utf-8", "surrogatepass"))
            if size > most:
                limit = f"DANUBE_MAX_STEP_COMMAND_BYTES allows {most}"
                return f"the step's {what} is {size} bytes; {limit}"
        if len(request.image) > MAX_IMAGE_LENGTH:
            return f"the step's image is over {MAX_IMAGE_LENGTH} characters"
        for key, value in request.env.items():
            if not ENV_NAME.fullmatch(key):
                return (
                    f"invalid environment variable name {key!r}: letters, digits and "
                    "'_', not starting with a digit"
                )
            if "\0" in value:
                return f"the value of environment variable {key!r} contains a NUL character"
        return None

    def _shown(self, job: JobView, request: pb.RunStepRequest) -> ShownStep:
        logs = self._jobs.logs
        job_id = JobId(UUID(job.id))
        logs.mask_secrets(job_id, job.pipeline, job.secrets_read or [])  # after a restart
        command = logs.mask_text(job_id, request.command)
        name = request.name
        if not name or name in {default_name(request.command), request.command[:40]}:
            name = default_name(command)  # a cut-off command may hold part of a secret
        return ShownStep(
            name=logs.mask_text(job_id, name),
            command=command,
            image=logs.mask_text(job_id, request.image),
        )

    def _start(
        self,
        job: JobView,
        request: pb.RunStepRequest,
        shown: ShownStep,
        context: grpc.ServicerContext,
    ) -> None:
        jobs = self._jobs
        job_id = JobId(UUID(job.id))
        if jobs.stopping.is_set():  # nothing new starts here: the coordinator retries
            context.abort(grpc.StatusCode.UNAVAILABLE, "the server is stopping; retry")
        raw = request.command if shown.command != request.command else None
        sealed = self._material.seal(job_id, raw, dict(request.env))
        try:
            jobs.runs.start_step(
                RunId(UUID(job.run_id)),
                job_id,
                request.number,
                name=shown.name,
                command=shown.command,
                image=shown.image,
                timeout_seconds=float(request.timeout_seconds),
                env_sealed=sealed.env,
                command_sealed=sealed.command,
            )
        except StepConflictError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
            raise
        except IllegalTransitionError as error:
            if JobState(error.current).is_terminal:
                # It ended meanwhile, perhaps after its material was destroyed: this
                # step's keys must not outlive it either.
                self._material.destroy(job_id)
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
            raise
        except RunsError as error:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
            raise
        started = StartedStep(
            number=request.number,
            name=shown.name,
            command=shown.command,
            image=shown.image,
            timeout_seconds=float(request.timeout_seconds),
            env_sealed=sealed.env,
            command_sealed=sealed.command,
        )
        # It runs at once if this process runs steps, else once the runner sees it. The
        # reply needs no read model: the step's end comes from the relay or, from
        # another process, the read model (``_end``), and a repeated call for this
        # number before the read model shows it is the same step, recorded once.
        jobs.relay.started(job, started)

    def _follow(
        self, job: JobView, request: pb.RunStepRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.RunStepResponse]:
        job_id = JobId(UUID(job.id))
        # Output shows in the log, the step's end in the read model next (or first in the
        # relay, when it ran in this process): wake on any (cleared before looking, so
        # nothing announced meanwhile is missed).
        moved = threading.Event()
        wakeups = (self._jobs.logs.progress(job_id), self._jobs.runs_moved)
        for wakeup in wakeups:
            wakeup.subscribe(moved)
        relay = self._jobs.relay
        relay.watch(job.id, request.number, moved.set)
        try:
            yield from self._stream(job, request, context, moved)
        finally:
            relay.unwatch(job.id, request.number, moved.set)
            for wakeup in wakeups:
                wakeup.unsubscribe(moved)

    def _stream(
        self,
        job: JobView,
        request: pb.RunStepRequest,
        context: grpc.ServicerContext,
        moved: threading.Event,
    ) -> Iterator[pb.RunStepResponse]:
        logs = self._jobs.logs
        job_id = JobId(UUID(job.id))
        offset = request.resume_offset
        while context.is_active():
            moved.clear()
            end = self._end(job.id, request.number)
            for chunk in logs.step_chunks(job_id, request.number, offset):
                yield pb.RunStepResponse(
                    output=pb.StepOutput(
                        data=chunk.data,
                        offset=chunk.offset,
                        stream=STREAMS.get(chunk.stream, pb.OUTPUT_STREAM_UNSPECIFIED),
                    )
                )
                offset = chunk.offset + len(chunk.data)
            if end is not None:
                yield pb.RunStepResponse(result=self._result(job_id, end, request, offset))
                return
            moved.wait(POLL_SECONDS)

    def _end(self, job_id: str, number: int) -> StepEnd | None:
        """How the step ended, from the relay (recorded in this process) or the read
        model; None while it runs."""
        told = self._jobs.relay.end_of(job_id, number)
        if told is not None:
            return told
        step = self._jobs.views.step(job_id, number)
        if step is None or step.state == "running":
            return None
        return StepEnd(step.state, step.exit_code, step.reason)

    def _result(
        self, job_id: JobId, end: StepEnd, request: pb.RunStepRequest, size: int
    ) -> pb.StepResult:
        result = pb.StepResult(
            exit_code=-1 if end.exit_code is None else end.exit_code,
            outcome=OUTCOMES.get(end.state, pb.STEP_OUTCOME_FAILURE),
            reason=end.reason,
            output_size=size,
        )
        if request.capture:
            result.captured_stdout = self._jobs.logs.step_bytes(job_id, request.number, "stdout")
        return result
