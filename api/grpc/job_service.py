"""The master's side of ``JobService``: what a job's coordinator calls.

Every call is authenticated by the job's token and refused unless the job is running.
Servicers translate messages to domain values at the edge and call one application
method; the rules live in the domain. What a job says in words (its outcome message) is
masked like its log before it is recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import NoReturn
from uuid import UUID

import grpc

from api.grpc.admission import CallLimit, admit
from api.grpc.artifacts import ArtifactUploads
from api.grpc.ports import JobCalls
from api.grpc.steps import StepStreams
from danube._proto.v1 import job_service_pb2 as pb
from danube._proto.v1 import job_service_pb2_grpc as pb_grpc
from domain.ids import JobId, RunId
from domain.runs.errors import RunsError
from domain.secrets.errors import (
    InvalidSecretKeyError,
    SecretNotFoundError,
    SecretUnreadableError,
)
from projections.runs_view import JobView

log = logging.getLogger(__name__)


def abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    context.abort(code, message)
    raise AssertionError("unreachable")  # abort raises


class JobServicer(pb_grpc.JobServiceServicer):
    def __init__(self, jobs: JobCalls) -> None:
        self._jobs = jobs
        self._steps = StepStreams(jobs)
        self._artifacts = ArtifactUploads(jobs)
        self._calls = CallLimit(jobs.settings.max_streams_per_job)

    def RunStep(
        self, request: pb.RunStepRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.RunStepResponse]:
        job = admit(self._jobs, context, calls=self._calls)
        yield from self._steps.run(job, request, context)

    def GetSecret(
        self, request: pb.GetSecretRequest, context: grpc.ServicerContext
    ) -> pb.GetSecretResponse:
        job = admit(self._jobs, context, calls=self._calls)
        jobs = self._jobs
        try:
            scope, value = jobs.secrets.find(job.pipeline, request.key)
        except InvalidSecretKeyError as error:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except SecretNotFoundError as error:
            abort(context, grpc.StatusCode.NOT_FOUND, str(error))
        except SecretUnreadableError as error:
            abort(context, grpc.StatusCode.FAILED_PRECONDITION, str(error))
        job_id = JobId(UUID(job.id))
        jobs.logs.add_secret(job_id, value, request.key)  # masked before anything prints it
        try:
            jobs.runs.record_secret_read(RunId(UUID(job.run_id)), job_id, request.key, scope)
        except RunsError as error:
            abort(context, grpc.StatusCode.FAILED_PRECONDITION, str(error))
        return pb.GetSecretResponse(value=value)

    def UploadArtifact(
        self, request_iterator: Iterator[pb.UploadArtifactRequest], context: grpc.ServicerContext
    ) -> pb.UploadArtifactResponse:
        job = admit(self._jobs, context, calls=self._calls)
        return self._artifacts.upload(job, request_iterator, context)

    def ReportStatus(
        self, request: pb.ReportStatusRequest, context: grpc.ServicerContext
    ) -> pb.ReportStatusResponse:
        job = admit(self._jobs, context, calls=self._calls)
        succeeded = request.outcome == pb.JOB_OUTCOME_SUCCESS
        message = "" if succeeded else self._bounded(self._masked(job, request.message))
        try:  # the run decides what the report means (domain.runs.outcome)
            self._jobs.runs.record_report(
                RunId(UUID(job.run_id)),
                JobId(UUID(job.id)),
                succeeded,
                message,
                request.failed_step_number,
            )
        except RunsError as error:
            abort(context, grpc.StatusCode.FAILED_PRECONDITION, str(error))
        return pb.ReportStatusResponse()

    def _bounded(self, message: str) -> str:
        """A (masked) report message over ``DANUBE_MAX_REPORT_MESSAGE_BYTES``, cut there
        and marked (the job still ends; its log holds the whole traceback)."""
        most = self._jobs.settings.max_report_message_bytes
        data = message.encode("utf-8", "surrogatepass")
        if len(data) <= most:
            return message
        kept = data[:most].decode("utf-8", "ignore")
        return f"{kept}… (cut at {most} bytes: DANUBE_MAX_REPORT_MESSAGE_BYTES)"

    def _masked(self, job: JobView, text: str) -> str:
        logs, job_id = self._jobs.logs, JobId(UUID(job.id))
        logs.mask_secrets(job_id, job.pipeline, job.secrets_read or [])  # after a restart
        return logs.mask_text(job_id, text)
