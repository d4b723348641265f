"""JobService at the gRPC level, with the job's real token: authentication, refusals,
artifact names, interrupted uploads and step reattachment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import grpc
import pytest

from danube._proto.v1 import job_service_pb2 as pb
from danube._proto.v1 import job_service_pb2_grpc as pb_grpc
from domain.ids import JobId, RunId
from domain.runs.states import JobState
from tests.integration.execution.conftest import USER, Embedded
from tests.support import wait_until

HOLD = """
    import os, time
    from danube import pipeline

    @pipeline(name="demo")
    def build() -> None:
        while not os.path.exists({marker!r}):
            time.sleep(0.05)
"""


@pytest.fixture
def held(embedded: Embedded, tmp_path: Path) -> Iterator[tuple[JobId, Path]]:
    """A running job whose pipeline waits until ``marker`` exists."""
    marker = tmp_path / "release"
    _, job_id = embedded.request(HOLD.format(marker=str(marker)))
    wait_until(lambda: embedded.state(job_id) == "running", what="the job to run")
    yield job_id, marker
    marker.touch()


def stub(embedded: Embedded) -> pb_grpc.JobServiceStub:
    channel = grpc.insecure_channel(embedded.execution.grpc.address)
    return pb_grpc.JobServiceStub(channel)


def metadata(job_id: JobId, token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}"), ("x-danube-job-id", str(job_id))]


def code_of(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as error:
        call()  # type: ignore[operator]
    return error.value.code()  # type: ignore[no-any-return]


def test_a_wrong_or_missing_token_is_refused(embedded: Embedded, held: tuple[JobId, Path]) -> None:
    job_id, _ = held
    service = stub(embedded)
    request = pb.GetSecretRequest(key="X")
    wrong = metadata(job_id, embedded.danube.tokens.issue(JobId(job_id.__class__(int=1))))
    assert (
        code_of(lambda: service.GetSecret(request, metadata=wrong))
        == grpc.StatusCode.UNAUTHENTICATED
    )
    assert code_of(lambda: service.GetSecret(request)) == grpc.StatusCode.UNAUTHENTICATED
    garbage = [("authorization", "Bearer x"), ("x-danube-job-id", "not-a-uuid")]
    assert (
        code_of(lambda: service.GetSecret(request, metadata=garbage))
        == grpc.StatusCode.UNAUTHENTICATED
    )


def test_a_token_expires_with_its_job(embedded: Embedded, held: tuple[JobId, Path]) -> None:
    job_id, marker = held
    token = embedded.danube.tokens.issue(job_id)
    service = stub(embedded)
    assert (
        code_of(
            lambda: service.GetSecret(
                pb.GetSecretRequest(key="NOPE"), metadata=metadata(job_id, token)
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )
    marker.touch()
    assert embedded.finished(job_id).state == "success"

    def late() -> object:
        return service.GetSecret(pb.GetSecretRequest(key="NOPE"), metadata=metadata(job_id, token))

    assert code_of(late) == grpc.StatusCode.FAILED_PRECONDITION


def test_the_server_refuses_artifact_names_that_escape(
    embedded: Embedded, held: tuple[JobId, Path]
) -> None:
    job_id, _ = held
    service = stub(embedded)
    md = metadata(job_id, embedded.danube.tokens.issue(job_id))
    for name in ("../x", "/etc/passwd", "a/../../b", "", "a\\b"):
        parts = iter(
            [
                pb.UploadArtifactRequest(
                    header=pb.ArtifactHeader(name=name, kind=pb.ARTIFACT_KIND_FILE)
                ),
                pb.UploadArtifactRequest(chunk=b"data"),
            ]
        )
        assert (
            code_of(lambda parts=parts: service.UploadArtifact(parts, metadata=md))
            == grpc.StatusCode.INVALID_ARGUMENT
        )
    assert embedded.danube.artifacts.list(job_id.hex) == []


def test_an_interrupted_upload_leaves_no_partial_artifact(
    embedded: Embedded, held: tuple[JobId, Path]
) -> None:
    job_id, _ = held
    service = stub(embedded)
    md = metadata(job_id, embedded.danube.tokens.issue(job_id))

    def broken() -> Iterator[pb.UploadArtifactRequest]:
        yield pb.UploadArtifactRequest(
            header=pb.ArtifactHeader(name="big.bin", kind=pb.ARTIFACT_KIND_FILE)
        )
        yield pb.UploadArtifactRequest(chunk=b"x" * 65536)
        raise RuntimeError("the client died mid-upload")

    with pytest.raises(grpc.RpcError):
        service.UploadArtifact(broken(), metadata=md)
    assert embedded.danube.artifacts.list(job_id.hex) == []
    assert embedded.danube.views.artifacts(job_id) == []


def test_a_repeated_step_number_reattaches_instead_of_running_again(
    embedded: Embedded, held: tuple[JobId, Path]
) -> None:
    job_id, _ = held
    service = stub(embedded)
    md = metadata(job_id, embedded.danube.tokens.issue(job_id))
    request = pb.RunStepRequest(
        number=90, name="count", command="echo run >> counter; printf abcdef"
    )
    first = list(service.RunStep(request, metadata=md))
    assert b"".join(r.output.data for r in first if r.HasField("output")) == b"abcdef"
    request.resume_offset = 4
    again = list(service.RunStep(request, metadata=md))
    assert b"".join(r.output.data for r in again if r.HasField("output")) == b"ef"
    assert again[-1].result.exit_code == 0
    workspace = embedded.tmp / "data" / "workspaces" / job_id.hex
    assert (workspace / "counter").read_text() == "run\n"
    request.command = "something else"
    assert (
        code_of(lambda: list(service.RunStep(request, metadata=md)))
        == grpc.StatusCode.INVALID_ARGUMENT
    )


def test_an_artifact_whose_job_ended_during_the_upload_is_not_kept(
    embedded: Embedded, held: tuple[JobId, Path]
) -> None:
    job_id, _ = held
    service = stub(embedded)
    md = metadata(job_id, embedded.danube.tokens.issue(job_id))
    job = embedded.danube.views.job(job_id)
    assert job is not None

    def ending() -> Iterator[pb.UploadArtifactRequest]:
        yield pb.UploadArtifactRequest(
            header=pb.ArtifactHeader(name="dist/late.bin", kind=pb.ARTIFACT_KIND_FILE)
        )
        yield pb.UploadArtifactRequest(chunk=b"x" * 65536)
        embedded.danube.runs.finish_job(
            RunId(UUID(job.run_id)), job_id, JobState.CANCELLED, "cancelled", USER
        )

    assert (
        code_of(lambda: service.UploadArtifact(ending(), metadata=md))
        == grpc.StatusCode.FAILED_PRECONDITION
    )
    assert embedded.danube.artifacts.list(job_id.hex) == []
    assert not (embedded.danube.artifacts.root / job_id.hex / "dist").exists()
    assert embedded.danube.views.artifacts(job_id) == []
