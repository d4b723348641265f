"""``RunStep``: record the step (once per number), then stream its stored output from the
caller's offset until the step has ended, then its result.

A repeated call for a step number that already started never runs it again: it reattaches
to the stored output from ``resume_offset``, which is how a coordinator survives a broken
connection without losing or repeating output.
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import grpc

from api.bootstrap import Danube
from danube._proto.v1 import job_service_pb2 as pb
from domain.ids import JobId, RunId
from domain.runs.errors import IllegalTransitionError, RunsError, StepConflictError
from projections.runs_view import JobView, StepView

OUTCOMES = {
    "success": pb.STEP_OUTCOME_SUCCESS,
    "failure": pb.STEP_OUTCOME_FAILURE,
    "timeout": pb.STEP_OUTCOME_TIMEOUT,
    "cancelled": pb.STEP_OUTCOME_CANCELLED,
}
STREAMS = {"stdout": pb.OUTPUT_STREAM_STDOUT, "stderr": pb.OUTPUT_STREAM_STDERR}
POLL_SECONDS = 0.05


class StepStreams:
    def __init__(self, danube: Danube) -> None:
        self._danube = danube

    def run(
        self, job: JobView, request: pb.RunStepRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.RunStepResponse]:
        if request.number < 1:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "step numbers start at 1")
        if not request.command.strip():
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a step needs a command")
        step = self._danube.views.step(job.id, request.number)
        if step is None:
            step = self._start(job, request, context)
        elif step.command != request.command:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"step {request.number} of job {job.id} was started with another command",
            )
        yield from self._follow(job, request, context)

    def _start(
        self, job: JobView, request: pb.RunStepRequest, context: grpc.ServicerContext
    ) -> StepView:
        danube = self._danube
        job_id = JobId(UUID(job.id))
        name = request.name or request.command[:40]
        danube.logs.system_line(job_id, f"── step {request.number}: {name}")
        env = dict(request.env)
        try:
            position = danube.runs.start_step(
                RunId(UUID(job.run_id)),
                job_id,
                request.number,
                name=name,
                command=request.command,
                image=request.image,
                timeout_seconds=float(request.timeout_seconds),
                log_offset=danube.logs.size(job_id),
                env_sealed=danube.seal_env(env) if env else None,
            )
        except StepConflictError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
            raise
        except (IllegalTransitionError, RunsError) as error:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
            raise
        danube.wait_for_views(position)
        step = danube.views.step(job.id, request.number)
        assert step is not None
        return step

    def _follow(
        self, job: JobView, request: pb.RunStepRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.RunStepResponse]:
        logs, views = self._danube.logs, self._danube.views
        job_id = JobId(UUID(job.id))
        offset = request.resume_offset
        progress = logs.progress(job_id)
        while context.is_active():
            generation = progress.generation()
            step = views.step(job.id, request.number)
            ended = step is not None and step.state != "running"
            for chunk in logs.step_chunks(job_id, request.number, offset):
                yield pb.RunStepResponse(
                    output=pb.StepOutput(
                        data=chunk.data,
                        offset=chunk.offset,
                        stream=STREAMS.get(chunk.stream, pb.OUTPUT_STREAM_UNSPECIFIED),
                    )
                )
                offset = chunk.offset + len(chunk.data)
            if ended and step is not None:
                yield pb.RunStepResponse(result=self._result(job_id, step, request, offset))
                return
            progress.wait(generation, POLL_SECONDS)

    def _result(
        self, job_id: JobId, step: StepView, request: pb.RunStepRequest, size: int
    ) -> pb.StepResult:
        result = pb.StepResult(
            exit_code=-1 if step.exit_code is None else step.exit_code,
            outcome=OUTCOMES.get(step.state, pb.STEP_OUTCOME_FAILURE),
            reason=step.reason,
            output_size=size,
        )
        if request.capture:
            result.captured_stdout = self._danube.logs.step_bytes(job_id, step.number, "stdout")
        return result
