"""``GET /api/v1/jobs/{job_id}/artifacts/{name}``: an artifact's bytes as stored (a
directory artifact is its tar.gz); 410 Gone once the reaper removed it."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse

from adapters.artifacts.names import ArtifactError
from api.bootstrap import Danube
from api.http.reaped import gone_if_reaped

router = APIRouter(prefix="/api/v1")
CHUNK = 1 << 20


@router.get("/jobs/{job_id}/artifacts/{name:path}")
def download(request: Request, job_id: str, name: str) -> StreamingResponse:
    danube: Danube = request.app.state.danube
    try:
        job_hex = UUID(job_id).hex
    except ValueError:
        raise HTTPException(400, f"invalid job id {job_id!r}: expected a UUID") from None
    job = danube.views.job(job_hex)
    if job is None:
        raise HTTPException(404, f"no job {job_id}")
    artifact = danube.views.artifact(job_hex, name)
    if artifact is None:
        raise HTTPException(404, f"job {job_hex} has no artifact {name!r}")
    gone_if_reaped(job.artifacts_reaped, f"artifact {name!r} of job {job_hex}")
    try:
        file = danube.artifacts.open(job_hex, name)
    except ArtifactError as error:
        raise HTTPException(404, str(error)) from None

    def chunks() -> Iterator[bytes]:
        with file:
            yield from iter(lambda: file.read(CHUNK), b"")

    return StreamingResponse(
        chunks(),
        media_type="application/octet-stream",
        headers={"X-Artifact-Sha256": artifact.sha256},
    )
