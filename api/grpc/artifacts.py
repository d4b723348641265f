"""``UploadArtifact``: a job's file or directory, checked before it is recorded.

Refused with RESOURCE_EXHAUSTED, naming the setting: an artifact over
``DANUBE_MAX_ARTIFACT_BYTES``, a job's artifacts together over
``DANUBE_MAX_JOB_ARTIFACT_BYTES``, an upload that would leave less than
``DANUBE_MIN_FREE_DISK_BYTES`` free on the data directory (artifacts share it with the
SQLite event store). Refused with INVALID_ARGUMENT: a bad name, and a ``directory`` that
is not a tar.gz whose members stay inside it. A refused upload leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NoReturn
from uuid import UUID

import grpc

from adapters.artifacts.archive import check_directory_archive
from adapters.artifacts.filesystem import Upload
from adapters.artifacts.names import ArtifactError
from adapters.artifacts.space import free_space_problem
from api.grpc.ports import JobCalls
from danube._proto.v1 import job_service_pb2 as pb
from domain.ids import JobId, RunId
from domain.runs.entities import Artifact
from domain.runs.errors import RunsError
from projections.runs_view import JobView

KINDS = {pb.ARTIFACT_KIND_FILE: "file", pb.ARTIFACT_KIND_DIRECTORY: "directory"}
SPACE_CHECK_EVERY = 8 * 1024 * 1024  # bytes between free-space checks during an upload


def abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    context.abort(code, message)
    raise AssertionError("unreachable")  # abort raises


class ArtifactUploads:
    def __init__(self, jobs: JobCalls) -> None:
        self._jobs = jobs

    def upload(
        self,
        job: JobView,
        requests: Iterator[pb.UploadArtifactRequest],
        context: grpc.ServicerContext,
    ) -> pb.UploadArtifactResponse:
        first = next(requests, None)
        if first is None or not first.HasField("header"):
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, "the first message must be a header")
        name, kind = first.header.name, KINDS.get(first.header.kind)
        if kind is None:
            abort(
                context, grpc.StatusCode.INVALID_ARGUMENT, "artifact kind must be file or directory"
            )
        limit = self._limit(job, name, context)
        store = self._jobs.artifacts
        try:
            upload = store.begin(job.id, name)
        except ArtifactError as error:  # a bad name, or one that collides with another
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(error))
        try:
            self._receive(upload, requests, limit, context)
            if kind == "directory":
                check_directory_archive(upload.written(), name)
            size, sha256 = upload.commit()
        except ArtifactError as error:
            upload.abort()
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except BaseException:
            upload.abort()  # an interrupted upload leaves no partial artifact
            raise
        artifact = Artifact(name=name, kind=kind, size=size, sha256=sha256)
        try:
            self._jobs.runs.record_artifact(RunId(UUID(job.run_id)), JobId(UUID(job.id)), artifact)
        except RunsError as error:  # e.g. the job ended during the upload
            store.discard(job.id, name)  # no file without its event
            abort(context, grpc.StatusCode.FAILED_PRECONDITION, str(error))
        return pb.UploadArtifactResponse(name=name, size=size, sha256=sha256)

    def _limit(self, job: JobView, name: str, context: grpc.ServicerContext) -> tuple[int, str]:
        """The most bytes this upload may have, and the setting that says so."""
        settings = self._jobs.settings
        stored = self._jobs.artifacts.list(job.id)  # the files: no read-model lag
        others = sum(a.size for a in stored if a.name != name)
        left = settings.max_job_artifact_bytes - others
        if left <= 0:
            abort(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"the job's artifacts already take {others} bytes; "
                f"DANUBE_MAX_JOB_ARTIFACT_BYTES allows {settings.max_job_artifact_bytes}",
            )
        self._check_space(context, 0)
        if left < settings.max_artifact_bytes:
            return left, (
                f"DANUBE_MAX_JOB_ARTIFACT_BYTES allows {settings.max_job_artifact_bytes} "
                f"bytes of artifacts per job; {others} are taken"
            )
        return settings.max_artifact_bytes, (
            f"DANUBE_MAX_ARTIFACT_BYTES allows {settings.max_artifact_bytes} bytes per artifact"
        )

    def _receive(
        self,
        upload: Upload,
        requests: Iterator[pb.UploadArtifactRequest],
        limit: tuple[int, str],
        context: grpc.ServicerContext,
    ) -> None:
        most, why = limit
        checked = 0
        for message in requests:
            if message.HasField("header"):
                abort(context, grpc.StatusCode.INVALID_ARGUMENT, "only one header per upload")
            if upload.size + len(message.chunk) > most:
                abort(
                    context,
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"artifact {upload.name!r} is over {most} bytes: {why}",
                )
            if upload.size + len(message.chunk) - checked >= SPACE_CHECK_EVERY:
                checked = upload.size
                self._check_space(context, len(message.chunk))
            upload.write(message.chunk)

    def _check_space(self, context: grpc.ServicerContext, coming: int) -> None:
        settings = self._jobs.settings
        problem = free_space_problem(settings.data_dir, settings.min_free_disk_bytes, coming)
        if problem is not None:
            abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, f"no room for artifacts: {problem}")
