"""REST read surfaces for jobs (list, queue, one job, its log bytes), over the
application layer: the same checks and answers as GraphQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.app.results import ArtifactResult, JobResult, StepResult
from api.http.caller import App, Asking
from api.http.errors import UUID_PATTERN, guarded
from domain.runs.states import JobState

router = APIRouter(prefix="/api/v1")

# "" (any state) or a job state: an enum in the OpenAPI document, from the domain's states
if TYPE_CHECKING:
    State = str
else:
    State = Literal[("", *(state.value for state in JobState))]
LOG_BYTES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Log bytes"}
}
JobIdPath = Annotated[str, Path(pattern=UUID_PATTERN, description="the job's UUID")]
MAX_LOG_READ = 4 * 1024 * 1024
MAX_LOG_OFFSET = 2**53  # far past any log; offset + limit stays a 64-bit integer in SQL


def _summary(job: JobResult) -> dict[str, Any]:
    return {
        "id": job.id,
        "run_id": job.run_id,
        "name": job.name,
        "pipeline": job.pipeline,
        "state": job.state.value,
        "reason": job.reason,
        "trigger": {"type": job.trigger_type, "ref": job.trigger_ref},
        "repository": job.repository,
        "ref": job.ref,
        "commit": job.commit_sha,
        "requested_at": job.requested_at,
        "scheduled_at": job.scheduled_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def _step(step: StepResult) -> dict[str, Any]:
    return {
        "id": f"{step.job_id}:{step.number:06d}",
        "number": step.number,
        "name": step.name,
        "command": step.command,
        "image": step.image,
        "state": step.state.value,
        "exit_code": step.exit_code,
        "log_start": step.log_start,
        "log_end": step.log_end,
        "reason": step.reason,
        "started_at": step.started_at,
        "finished_at": step.finished_at,
        "timeout_seconds": step.timeout_seconds,
    }


def _artifact(artifact: ArtifactResult) -> dict[str, Any]:
    return {
        "name": artifact.name,
        "kind": artifact.kind,
        "size": artifact.size,
        "sha256": artifact.sha256,
        "uploaded_at": artifact.uploaded_at,
    }


@router.get("/jobs", responses=guarded(400))
async def list_jobs(
    app: App,
    principal: Asking,
    pipeline: str = "",
    state: State = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Jobs of the pipelines the caller may read, newest first; filter by ``pipeline``
    and ``state``."""
    jobs = await run_in_threadpool(app.queries.jobs_list, principal, pipeline, state, limit)
    return {"jobs": [_summary(job) for job in jobs]}


@router.get("/queue", responses=guarded())
async def queue(app: App, principal: Asking) -> dict[str, Any]:
    """Jobs waiting to start (of pipelines the caller may read), first come first
    served, each with its place in the whole queue and why it waits."""
    entries = await run_in_threadpool(app.queries.queue, principal)
    status = await run_in_threadpool(app.queries.status, principal)
    waiting = [
        {**_summary(entry.job), "position": entry.position, "reason": entry.reason}
        for entry in entries
    ]
    return {"draining": status.draining, "queue": waiting}


@router.get("/jobs/{job_id}", responses=guarded(400, 404))
async def get_job(app: App, principal: Asking, job_id: JobIdPath) -> dict[str, Any]:
    """One job with its steps and artifacts."""

    def read() -> dict[str, Any]:
        job = app.queries.job(principal, job_id)
        return {
            **_summary(job),
            "log_reaped": job.log_reaped,
            "artifacts_reaped": job.artifacts_reaped,
            "log_size": app.queries.log_size(principal, job.id),
            "steps": [_step(step) for step in app.queries.steps(principal, job.id)],
            "artifacts": [_artifact(a) for a in app.queries.artifacts(principal, job.id)],
        }

    return await run_in_threadpool(read)


@router.get("/jobs/{job_id}/logs", responses=guarded(400, 404, 410) | LOG_BYTES)
async def get_logs(
    app: App,
    principal: Asking,
    job_id: JobIdPath,
    offset: Annotated[int, Query(ge=0, le=MAX_LOG_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LOG_READ)] = MAX_LOG_READ,
) -> Response:
    """The job log from a byte offset, as stored (bytes are not re-encoded). The
    ``X-Log-Next-Offset`` header says where to continue; ``X-Log-Complete`` whether the
    job has ended and nothing more will come."""
    data, next_offset, complete = await run_in_threadpool(
        app.queries.log_bytes, principal, job_id, offset, limit
    )
    return Response(
        content=data,
        media_type="text/plain; charset=utf-8",
        headers={"X-Log-Next-Offset": str(next_offset), "X-Log-Complete": str(complete).lower()},
    )
