"""REST over the application layer: a pipeline, cancelling a job, downloading an
artifact (streamed, ``Range``, its sha256 in ``X-Checksum-Sha256``), and a job's log
as Server-Sent Events (each event's id is the byte offset after it: ``Last-Event-ID``
resumes there with no gap or duplicate; after the job ended and every byte was sent, an
``end`` event, and the stream closes)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.app.errors import InvalidInputError
from api.app.principal import ANONYMOUS
from api.app.wiring import Application, of_app
from api.http.errors import UUID_PATTERN, errors

router = APIRouter(prefix="/api/v1")
MAX_OFFSET = 2**53  # as the log route
JobIdPath = Annotated[str, Path(pattern=UUID_PATTERN, description="the job's UUID")]


def _app(request: Request) -> Application:
    return of_app(request.app.state)


@router.get("/pipelines/{name}", responses=errors(404))
async def get_pipeline(request: Request, name: str) -> dict[str, Any]:
    """One pipeline (configured, or seen in runs) with its last run."""
    pipeline = await run_in_threadpool(_app(request).queries.pipeline, name)
    return {
        "name": pipeline.name,
        "repository": pipeline.repository,
        "configured": pipeline.configured,
        "run_count": pipeline.run_count,
        "last_run": None
        if pipeline.last_run_id is None
        else {
            "id": pipeline.last_run_id,
            "state": pipeline.last_state.value if pipeline.last_state else None,
            "requested_at": pipeline.last_requested_at,
        },
    }


@router.post("/jobs/{job_id}/cancel", status_code=202, responses=errors(404, 409))
async def cancel_job(request: Request, job_id: JobIdPath) -> dict[str, Any]:
    """Cancel the job's run: jobs that have not started end at once, running ones when
    their processes are gone. A job that has already ended answers 409."""
    cancelled = await run_in_threadpool(_app(request).commands.cancel_job, ANONYMOUS, job_id)
    return {"run_id": cancelled.run_id, "cancel_requested": True}


@router.get(
    "/artifacts/{job_id}/{name:path}",
    response_class=FileResponse,
    responses=errors(404, 410)
    | {200: {"content": {"application/octet-stream": {}}, "description": "the bytes"}},
)
async def download_artifact(request: Request, job_id: JobIdPath, name: str) -> FileResponse:
    """The artifact's bytes as stored (a directory as its tar.gz); ``Range`` requests
    are answered with 206."""
    artifact, stored = await run_in_threadpool(_app(request).queries.artifact, job_id, name)
    stored.close()  # served by path below; it was opened to prove it is there
    return FileResponse(
        stored.name,
        media_type="application/gzip"
        if artifact.kind == "directory"
        else "application/octet-stream",
        filename=os.path.basename(name),
        headers={"X-Checksum-Sha256": artifact.sha256},
    )


@router.get(
    "/jobs/{job_id}/logs/stream",
    response_class=StreamingResponse,
    responses=errors(400, 404)
    | {200: {"content": {"text/event-stream": {}}, "description": "log events"}},
)
async def stream_log(
    request: Request,
    job_id: JobIdPath,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="first byte to send")] = 0,
    last_event_id: Annotated[
        str, Header(pattern=r"^[0-9]{0,16}$", description="resume after this byte offset")
    ] = "",
) -> StreamingResponse:
    """The job's log live, from ``offset`` (or after ``Last-Event-ID``)."""
    app = _app(request)
    start = _resume_at(last_event_id, offset)
    job = await run_in_threadpool(app.queries.job, job_id)  # 404 before the stream starts
    return StreamingResponse(
        _events(app, job.id, start, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _resume_at(last_event_id: str, offset: int) -> int:
    raw = last_event_id or str(offset)
    if not raw.isdigit():
        raise InvalidInputError(f"a log offset is a non-negative whole number, got {raw!r}")
    return int(raw)


async def _events(
    app: Application, job_id: str, start: int, request: Request
) -> AsyncIterator[str]:
    async for chunk in app.live.log(job_id, start):
        if await request.is_disconnected():
            return
        if chunk.text:
            payload = json.dumps({"offset": chunk.offset, "text": chunk.text})
            yield f"id: {chunk.next_offset}\nevent: log\ndata: {payload}\n\n"
        if chunk.complete:
            yield f"id: {chunk.next_offset}\nevent: end\ndata: {{}}\n\n"
            return
