"""Who may call: the job's token, and a job that is running; and how many calls of one
job may be open at once (``CallLimit``), so one job cannot take every worker thread."""

from __future__ import annotations

import threading
import time
from uuid import UUID

import grpc

from api.grpc.ports import JobCalls
from domain.ids import JobId
from projections.runs_view import JobView

STARTING = {"pending", "scheduling"}
# A coordinator can call before the executor's "job started" reaches the read model.
START_WAIT_SECONDS = 30.0


class CallLimit:
    """At most ``most`` open calls per job token (``DANUBE_MAX_STREAMS_PER_JOB``): the
    one over it is refused at once with RESOURCE_EXHAUSTED, so a job flooding the
    JobService with streams holds a bounded share of its worker threads and every other
    job's calls go on without waiting for it. A call counts from admission until it
    ends (its stream included)."""

    def __init__(self, most: int) -> None:
        self.most = most
        self._open: dict[JobId, int] = {}
        self._lock = threading.Lock()

    def enter(self, job_id: JobId, context: grpc.ServicerContext) -> None:
        with self._lock:
            count = self._open.get(job_id, 0)
            if count < self.most:
                self._open[job_id] = count + 1
        if count >= self.most:
            context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"job {job_id} has {count} calls open; DANUBE_MAX_STREAMS_PER_JOB allows "
                f"{self.most} at a time",
            )
        if not context.add_callback(lambda: self._leave(job_id)):
            self._leave(job_id)  # the call already ended

    def _leave(self, job_id: JobId) -> None:
        with self._lock:
            count = self._open.pop(job_id, 1) - 1
            if count > 0:
                self._open[job_id] = count

    def open_calls(self, job_id: JobId) -> int:
        with self._lock:
            return self._open.get(job_id, 0)


def admit(
    jobs: JobCalls,
    context: grpc.ServicerContext,
    *,
    allow_finished: bool = False,
    calls: CallLimit | None = None,
) -> JobView:
    """The calling job, or the call is aborted: UNAUTHENTICATED for a missing, malformed
    or wrong token; RESOURCE_EXHAUSTED when the job has too many calls open (``calls``);
    FAILED_PRECONDITION when the job is not running."""
    metadata = {key: value for key, value in context.invocation_metadata()}
    raw_id = str(metadata.get("x-danube-job-id", ""))
    authorization = str(metadata.get("authorization", ""))
    try:
        job_id = JobId(UUID(raw_id))
    except ValueError:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or malformed x-danube-job-id")
        raise
    token = authorization.removeprefix("Bearer ").strip()
    if not authorization.startswith("Bearer ") or not jobs.tokens.verify(job_id, token):
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid job token")
    if calls is not None:
        calls.enter(job_id, context)
    jobs.logs.mask_token(job_id, token)  # before this process masks anything of the job
    job = _wait_until_started(jobs, job_id, context)
    if job is None:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid job token")
        raise AssertionError("unreachable")
    if job.state != "running" and not allow_finished:
        context.abort(
            grpc.StatusCode.FAILED_PRECONDITION, f"job {job.id} is not running ({job.state})"
        )
    return job


def _wait_until_started(
    jobs: JobCalls, job_id: JobId, context: grpc.ServicerContext
) -> JobView | None:
    progress = jobs.runs_moved
    deadline = time.monotonic() + START_WAIT_SECONDS
    while True:
        generation = progress.generation()
        job = jobs.views.job(job_id)
        remaining = deadline - time.monotonic()
        stop = jobs.stopping.is_set() or not context.is_active()
        if job is None or job.state not in STARTING or remaining <= 0 or stop:
            return job
        progress.wait(generation, min(remaining, 0.5))
