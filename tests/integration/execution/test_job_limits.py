"""What one job may send the master is bounded, each limit a setting named in the
refusal, and nothing refused is stored: artifact sizes (per artifact, per job, a
free-space floor on the data directory), artifact names, directory archives, step
commands, report messages and environment names; and a job's own concurrent calls."""

from __future__ import annotations

import io
import json
import os
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from adapters.sql.store import StoreConfig
from api.bootstrap import build
from api.execution.embedded import start_execution
from api.processes import Supervisor
from danube._proto.v1 import job_service_pb2 as pb
from danube._proto.v1 import job_service_pb2_grpc as pb_grpc
from tests.integration.execution.conftest import Embedded, settings_for
from tests.integration.execution.records import Rest
from tests.support import http_get, wait_until

KIB = 1024
HOLD_FOREVER = """
    import os, time
    from danube import pipeline

    @pipeline(name="demo")
    def build() -> None:
        while not os.path.exists({marker!r}):
            time.sleep(0.05)
"""


def embedded_with(store_config: StoreConfig, tmp: Path, **overrides: Any) -> Iterator[Embedded]:
    danube = build(settings_for(store_config, tmp / "data", **overrides))
    supervisor = Supervisor()
    execution = start_execution(danube, supervisor, "127.0.0.1:0")
    yield Embedded(danube, execution, supervisor, tmp)
    supervisor.stop()
    execution.stop()
    danube.close()


@pytest.fixture
def limited(store_config: StoreConfig, tmp_path: Path) -> Iterator[Embedded]:
    yield from embedded_with(
        store_config,
        tmp_path,
        max_artifact_bytes=64 * KIB,
        max_job_artifact_bytes=100 * KIB,
        max_step_command_bytes=4 * KIB,
        max_report_message_bytes=4 * KIB,
    )


class Job:
    """A running job (its pipeline waits) and JobService calls with its token."""

    def __init__(self, embedded: Embedded, marker: Path) -> None:
        self.embedded = embedded
        _, self.id = embedded.request(HOLD_FOREVER.format(marker=str(marker)))
        wait_until(lambda: embedded.state(self.id) == "running", what="the job to run")
        channel = grpc.insecure_channel(embedded.execution.grpc.address)
        self.service = pb_grpc.JobServiceStub(channel)
        token = embedded.danube.tokens.issue(self.id)
        self.md = [("authorization", f"Bearer {token}"), ("x-danube-job-id", str(self.id))]

    def upload(self, name: str, data: bytes, directory: bool = False) -> grpc.RpcError | None:
        kind = pb.ARTIFACT_KIND_DIRECTORY if directory else pb.ARTIFACT_KIND_FILE
        parts = [pb.UploadArtifactRequest(header=pb.ArtifactHeader(name=name, kind=kind))]
        parts += [
            pb.UploadArtifactRequest(chunk=data[at : at + 16 * KIB])
            for at in range(0, len(data), 16 * KIB)
        ]
        try:
            self.service.UploadArtifact(iter(parts), metadata=self.md)
        except grpc.RpcError as error:
            return error
        return None

    def stored(self) -> list[str]:
        return sorted(a.name for a in self.embedded.danube.artifacts.list(self.id.hex))


@pytest.fixture
def job(limited: Embedded, tmp_path: Path) -> Iterator[Job]:
    marker = tmp_path / "release"
    yield Job(limited, marker)
    marker.touch()


def refused(error: grpc.RpcError | None, code: grpc.StatusCode, named: str) -> bool:
    assert error is not None, "accepted"
    assert error.code() == code, error
    assert named in (error.details() or ""), error.details()
    return True


def test_artifacts_over_the_size_limits_are_refused_naming_the_setting(job: Job) -> None:
    error = job.upload("big.bin", b"x" * (64 * KIB + 1))
    assert refused(error, grpc.StatusCode.RESOURCE_EXHAUSTED, "DANUBE_MAX_ARTIFACT_BYTES")
    assert job.upload("a.bin", b"x" * 64 * KIB) is None
    error = job.upload("b.bin", b"x" * 40 * KIB)
    assert refused(error, grpc.StatusCode.RESOURCE_EXHAUSTED, "DANUBE_MAX_JOB_ARTIFACT_BYTES")
    assert job.upload("a.bin", b"x" * 10 * KIB) is None  # a replacement frees its old size
    assert job.upload("b.bin", b"x" * 40 * KIB) is None
    assert job.stored() == ["a.bin", "b.bin"]


def test_uploads_stop_at_the_free_space_floor(store_config: StoreConfig, tmp_path: Path) -> None:
    for embedded in embedded_with(store_config, tmp_path, min_free_disk_bytes=2**62):
        marker = tmp_path / "release"
        job = Job(embedded, marker)
        error = job.upload("a.bin", b"x")
        assert refused(error, grpc.StatusCode.RESOURCE_EXHAUSTED, "DANUBE_MIN_FREE_DISK_BYTES")
        assert job.stored() == []
        marker.touch()


@pytest.mark.parametrize(
    ("name", "named"),
    [("line\nbreak.txt", "U+000A"), ("evil\u202etxt.exe", "U+202E"), ("z\u200bw", "U+200B")],
)
def test_artifact_names_with_control_or_direction_characters_are_refused(
    job: Job, name: str, named: str
) -> None:
    assert refused(job.upload(name, b"data"), grpc.StatusCode.INVALID_ARGUMENT, named)
    assert job.stored() == []


def tar_gz(*members: tarfile.TarInfo, data: bytes = b"hello") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member in members:
            archive.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return buffer.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, 5 if kind == tarfile.REGTYPE else 0
    return info


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (os.urandom(4096), "not a gzip-compressed tar"),
        (tar_gz(member("/etc/cron.d/x")), "outside"),
        (tar_gz(member("a/../../x")), "outside"),
        (tar_gz(member("link", tarfile.SYMTYPE, "../../etc")), "outside"),
        (tar_gz(member("link", tarfile.SYMTYPE, "/etc/passwd")), "outside"),
        (tar_gz(member("hard", tarfile.LNKTYPE, "../x")), "outside"),
        (tar_gz(member("dev", tarfile.CHRTYPE)), "device"),
    ],
    ids=["not-gzip", "absolute", "dotdot", "symlink-up", "symlink-absolute", "hardlink", "device"],
)
def test_a_directory_must_be_a_tar_gz_whose_members_stay_inside(
    job: Job, data: bytes, named: str
) -> None:
    error = job.upload("dist.tar.gz", data, directory=True)
    assert refused(error, grpc.StatusCode.INVALID_ARGUMENT, named)
    assert job.stored() == []
    fine = tar_gz(member("dist/a.txt"), member("dist/link", tarfile.SYMTYPE, "a.txt"))
    assert job.upload("dist.tar.gz", fine, directory=True) is None
    assert job.stored() == ["dist.tar.gz"]


def test_an_over_long_step_command_or_name_is_refused_naming_the_setting(job: Job) -> None:
    for request in (
        pb.RunStepRequest(number=1, command="echo " + "x" * 5 * KIB),
        pb.RunStepRequest(number=1, command="true", name="n" * 5 * KIB),
    ):
        with pytest.raises(grpc.RpcError) as error:
            list(job.service.RunStep(request, metadata=job.md))
        assert refused(
            error.value, grpc.StatusCode.INVALID_ARGUMENT, "DANUBE_MAX_STEP_COMMAND_BYTES"
        )
    assert job.embedded.danube.views.steps(job.id) == []


@pytest.mark.parametrize("name", ["A=B", "A\0B", "", "1X", "WITH SPACE", "ÜML"])
def test_environment_names_a_process_cannot_hold_are_refused(job: Job, name: str) -> None:
    request = pb.RunStepRequest(number=1, command="true", env={name: "v"})
    with pytest.raises(grpc.RpcError) as error:
        list(job.service.RunStep(request, metadata=job.md))
    assert refused(error.value, grpc.StatusCode.INVALID_ARGUMENT, "environment variable name")
    assert job.embedded.danube.views.steps(job.id) == []


def test_the_sdk_refuses_such_names_before_calling(job: Job) -> None:
    from danube import step

    for name in ("A=B", "A\0B", "1X"):
        with pytest.raises(ValueError, match="invalid environment variable name"):
            step.run("true", env={name: "v"})


def test_an_over_long_report_message_is_cut_at_the_limit_and_says_so(job: Job) -> None:
    message = "boom " + "y" * 1024 * KIB
    job.service.ReportStatus(
        pb.ReportStatusRequest(outcome=pb.JOB_OUTCOME_FAILURE, message=message), metadata=job.md
    )

    def reported() -> str | None:
        view = job.embedded.danube.views.job(job.id)
        return None if view is None or not view.report else str(view.report["reason"])

    reason = wait_until(reported, what="the report")
    assert reason.startswith("boom yyy")
    assert len(reason.encode()) < 4 * KIB + 100
    assert "DANUBE_MAX_REPORT_MESSAGE_BYTES" in reason


@pytest.fixture
def few_streams(store_config: StoreConfig, tmp_path: Path) -> Iterator[Embedded]:
    yield from embedded_with(store_config, tmp_path, max_streams_per_job=8)


def test_a_job_flooding_the_job_service_is_refused_and_other_jobs_never_wait(
    few_streams: Embedded, tmp_path: Path
) -> None:
    embedded = few_streams
    flooding, calm = (
        Job(embedded, tmp_path / "release-a"),
        Job(embedded, tmp_path / "release-b"),
    )
    first = flooding.service.RunStep(
        pb.RunStepRequest(number=1, command="sleep 60"), metadata=flooding.md
    )
    wait_until(lambda: embedded.danube.views.step(flooding.id, 1), what="the long step")
    streams = [
        flooding.service.RunStep(
            pb.RunStepRequest(number=1, command="sleep 60"), metadata=flooding.md
        )
        for _ in range(80)
    ]
    codes: list[grpc.StatusCode] = []

    def drain(stream: Iterator[pb.RunStepResponse]) -> None:
        try:
            for _ in stream:
                pass
        except grpc.RpcError as error:
            codes.append(error.code())

    threads = [threading.Thread(target=drain, args=(s,), daemon=True) for s in streams]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(codes) >= 80 - 7, what="the calls over the limit to be refused")
    assert set(codes) == {grpc.StatusCode.RESOURCE_EXHAUSTED}
    started = time.monotonic()
    calm_step = calm.service.RunStep(
        pb.RunStepRequest(number=1, command="echo calm"), metadata=calm.md
    )
    threading.Thread(target=drain, args=(calm_step,), daemon=True).start()
    wait_until(lambda: embedded.danube.views.step(calm.id, 1), what="the calm job's step")
    assert time.monotonic() - started < 1.0
    with pytest.raises(grpc.RpcError) as error:
        calm.service.GetSecret(pb.GetSecretRequest(key="NOPE"), metadata=calm.md, timeout=2)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND  # answered, not timed out
    first.cancel()


def test_readiness_reports_the_free_space_floor(store_config: StoreConfig, tmp_path: Path) -> None:
    for floor, status in ((0, 200), (2**62, 503)):
        danube = build(settings_for(store_config, tmp_path / "data", min_free_disk_bytes=floor))
        try:
            with Rest(danube) as rest:
                code, body = http_get(f"{rest.url}/health/ready")
        finally:
            danube.close()
        check = json.loads(body)["checks"]["data_dir_free_space"]
        assert (code, check["ok"]) == (status, status == 200), check
        if status == 503:
            assert "DANUBE_MIN_FREE_DISK_BYTES" in check["error"]
