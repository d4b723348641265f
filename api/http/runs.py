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

from api.app.errors import AppError, InvalidInputError
from api.app.live import Asker
from api.app.wiring import Application
from api.http.caller import App, Asking, AskingLive
from api.http.errors import UUID_PATTERN, guarded
from api.http.pipelines import pipeline_body

router = APIRouter(prefix="/api/v1")
MAX_OFFSET = 2**53  # as the log route
JobIdPath = Annotated[str, Path(pattern=UUID_PATTERN, description="the job's UUID")]


@router.get("/pipelines/{name}", responses=guarded(404))
async def get_pipeline(app: App, principal: Asking, name: str) -> dict[str, Any]:
    """One pipeline (configured, or seen in runs) with its last run."""
    return pipeline_body(await run_in_threadpool(app.queries.pipeline, principal, name))


@router.post("/jobs/{job_id}/cancel", status_code=202, responses=guarded(404, 409))
async def cancel_job(app: App, principal: Asking, job_id: JobIdPath) -> dict[str, Any]:
    """Cancel the job's run: jobs that have not started end at once, running ones when
    their processes are gone. A job that has already ended answers 409. Needs write."""
    cancelled = await run_in_threadpool(app.commands.cancel_job, principal, job_id)
    return {"run_id": cancelled.run_id, "cancel_requested": True}


@router.get(
    "/artifacts/{job_id}/{name:path}",
    response_class=FileResponse,
    responses=guarded(404, 410)
    | {200: {"content": {"application/octet-stream": {}}, "description": "the bytes"}},
)
async def download_artifact(
    app: App, principal: Asking, job_id: JobIdPath, name: str
) -> FileResponse:
    """The artifact's bytes as stored (a directory as its tar.gz); ``Range`` requests
    are answered with 206."""
    artifact, stored = await run_in_threadpool(app.queries.artifact, principal, job_id, name)
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
    responses=guarded(400, 404)
    | {200: {"content": {"text/event-stream": {}}, "description": "log events"}},
)
async def stream_log(
    request: Request,
    app: App,
    caller: AskingLive,
    job_id: JobIdPath,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="first byte to send")] = 0,
    last_event_id: Annotated[
        str, Header(pattern=r"^[0-9]{0,16}$", description="resume after this byte offset")
    ] = "",
) -> StreamingResponse:
    """The job's log live, from ``offset`` (or after ``Last-Event-ID``). When the
    caller's access to the pipeline goes away (a config change), an ``error`` event
    says so and the stream closes."""
    start = _resume_at(last_event_id, offset)
    # 401/403/404 before the stream starts
    job = await run_in_threadpool(app.queries.job, caller.principal, job_id)
    return StreamingResponse(
        _events(app, caller.again, job.id, start, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _resume_at(last_event_id: str, offset: int) -> int:
    raw = last_event_id or str(offset)
    if not raw.isdigit():
        raise InvalidInputError(f"a log offset is a non-negative whole number, got {raw!r}")
    return int(raw)


async def _events(
    app: Application, asker: Asker, job_id: str, start: int, request: Request
) -> AsyncIterator[str]:
    try:
        async for chunk in app.live.log(asker, job_id, start):
            if await request.is_disconnected():
                return
            if chunk.text:
                payload = json.dumps({"offset": chunk.offset, "text": chunk.text})
                yield f"id: {chunk.next_offset}\nevent: log\ndata: {payload}\n\n"
            if chunk.complete:
                yield f"id: {chunk.next_offset}\nevent: end\ndata: {{}}\n\n"
                return
    except AppError as error:  # the caller's access went away (or the job did)
        body = json.dumps({"detail": error.message, "code": error.code})
        yield f"event: error\ndata: {body}\n\n"
