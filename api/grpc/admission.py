"""Who may call: the job's token, and a job that is running."""

from __future__ import annotations

import time
from uuid import UUID

import grpc

from api.bootstrap import Danube
from domain.ids import JobId
from projections.runs_view import JobView

STARTING = {"pending", "scheduling"}
# A coordinator can call before the executor's "job started" reaches the read model.
START_WAIT_SECONDS = 30.0


def admit(
    danube: Danube, context: grpc.ServicerContext, *, allow_finished: bool = False
) -> JobView:
    """The calling job, or the call is aborted: UNAUTHENTICATED for a missing, malformed
    or wrong token; FAILED_PRECONDITION when the job is not running."""
    metadata = {key: value for key, value in context.invocation_metadata()}
    raw_id = str(metadata.get("x-danube-job-id", ""))
    authorization = str(metadata.get("authorization", ""))
    try:
        job_id = JobId(UUID(raw_id))
    except ValueError:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or malformed x-danube-job-id")
        raise
    token = authorization.removeprefix("Bearer ").strip()
    if not authorization.startswith("Bearer ") or not danube.tokens.verify(job_id, token):
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid job token")
    danube.logs.mask_token(job_id, token)  # before this process masks anything of the job
    job = _wait_until_started(danube, job_id, context)
    if job is None:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid job token")
        raise AssertionError("unreachable")
    if job.state != "running" and not allow_finished:
        context.abort(
            grpc.StatusCode.FAILED_PRECONDITION, f"job {job.id} is not running ({job.state})"
        )
    return job


def _wait_until_started(
    danube: Danube, job_id: JobId, context: grpc.ServicerContext
) -> JobView | None:
    progress = danube.store.views.progress("runs")
    deadline = time.monotonic() + START_WAIT_SECONDS
    while True:
        generation = progress.generation()
        job = danube.views.job(job_id)
        remaining = deadline - time.monotonic()
        stop = danube.stopping.is_set() or not context.is_active()
        if job is None or job.state not in STARTING or remaining <= 0 or stop:
            return job
        progress.wait(generation, min(remaining, 0.5))
