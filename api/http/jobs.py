"""REST read surfaces for jobs, served from the read models (until GraphQL arrives)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response

from api.bootstrap import Danube
from api.http.errors import UUID_PATTERN, errors
from api.http.reaped import gone_if_reaped
from projections.runs_view import JobView

router = APIRouter(prefix="/api/v1")

STATES = {"pending", "scheduling", "running", "success", "failure", "timeout", "cancelled"}
State = Literal[
    "", "pending", "scheduling", "running", "success", "failure", "timeout", "cancelled"
]
LOG_BYTES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Log bytes"}
}
JobIdPath = Annotated[str, Path(pattern=UUID_PATTERN, description="the job's UUID")]
MAX_LOG_READ = 4 * 1024 * 1024
MAX_LOG_OFFSET = 2**53  # far past any log; offset + limit stays a 64-bit integer in SQL
HIDDEN_STEP_FIELDS = {"env_sealed", "command_sealed", "job_id", "run_id"}


def _danube(request: Request) -> Danube:
    danube: Danube = request.app.state.danube
    return danube


def _job_id(raw: str) -> str:
    try:
        return UUID(raw).hex
    except ValueError:
        raise HTTPException(400, f"invalid job id {raw!r}: expected a UUID") from None


def _summary(job: JobView) -> dict[str, Any]:
    return {
        "id": job.id,
        "run_id": job.run_id,
        "name": job.name,
        "pipeline": job.pipeline,
        "state": job.state,
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


@router.get("/jobs", responses=errors(400))
def list_jobs(
    request: Request,
    pipeline: str = "",
    state: State = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Jobs, newest first; filter by ``pipeline`` and ``state``."""
    if state and state not in STATES:
        raise HTTPException(400, f"invalid state {state!r}: one of {', '.join(sorted(STATES))}")
    page = _danube(request).views.jobs(pipeline=pipeline, state=state, limit=limit)
    return {"jobs": [_summary(job) for job in page.items]}


@router.get("/queue")
def queue(request: Request) -> dict[str, Any]:
    """Jobs waiting to start, first come first served, each with why it waits."""
    danube = _danube(request)
    waiting = []
    for position, job in enumerate(danube.views.queued_jobs(), start=1):
        run = danube.views.run(job.run_id)
        waiting.append(
            {
                **_summary(job),
                "position": position,
                "reason": run.waiting_reason if run is not None else "",
            }
        )
    return {"draining": danube.system.is_draining(), "queue": waiting}


@router.get("/jobs/{job_id}", responses=errors(400, 404))
def get_job(request: Request, job_id: JobIdPath) -> dict[str, Any]:
    """One job with its steps and artifacts."""
    danube = _danube(request)
    job = danube.views.job(_job_id(job_id))
    if job is None:
        raise HTTPException(404, f"no job {job_id}")
    steps = [
        {k: v for k, v in asdict(step).items() if k not in HIDDEN_STEP_FIELDS}
        for step in danube.views.steps(job.id)
    ]
    artifacts = [
        {
            "name": a.name,
            "kind": a.kind,
            "size": a.size,
            "sha256": a.sha256,
            "uploaded_at": a.uploaded_at,
        }
        for a in danube.views.artifacts(job.id)
    ]
    return {
        **_summary(job),
        "log_reaped": job.log_reaped,
        "artifacts_reaped": job.artifacts_reaped,
        "log_size": danube.logs.stored_size(job.id),
        "steps": steps,
        "artifacts": artifacts,
    }


@router.get(
    "/jobs/{job_id}/logs",
    responses=errors(400, 404) | LOG_BYTES,
)
def get_logs(
    request: Request,
    job_id: JobIdPath,
    offset: Annotated[int, Query(ge=0, le=MAX_LOG_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LOG_READ)] = MAX_LOG_READ,
) -> Response:
    """The job log from a byte offset, as stored (bytes are not re-encoded). The
    ``X-Log-Next-Offset`` header says where to continue; ``X-Log-Complete`` whether the
    job has ended and nothing more will come."""
    danube = _danube(request)
    job = danube.views.job(_job_id(job_id))
    if job is None:
        raise HTTPException(404, f"no job {job_id}")
    gone_if_reaped(job.log_reaped, f"the log of job {job.id}")
    data = danube.logs.read_bytes(job.id, offset, limit)
    finished = job.state in {"success", "failure", "timeout", "cancelled"}
    next_offset = offset + len(data)
    complete = finished and next_offset >= danube.logs.stored_size(job.id)
    return Response(
        content=data,
        media_type="text/plain; charset=utf-8",
        headers={"X-Log-Next-Offset": str(next_offset), "X-Log-Complete": str(complete).lower()},
    )
