"""secrets.get and artifacts.upload against a master on a real gRPC server."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

from danube import (
    AccessDeniedError,
    ArtifactError,
    SecretNotFoundError,
    artifacts,
    secrets,
    step,
)
from danube._proto.v1 import job_service_pb2 as pb

from .conftest import Master


def test_a_secret_is_read_from_the_master(sdk: Master) -> None:
    sdk.fake.secrets["PYPI_TOKEN"] = "pypi-AgEIcHlwaS5vcmc"

    assert secrets.get("PYPI_TOKEN") == "pypi-AgEIcHlwaS5vcmc"


def test_a_missing_secret_raises_secret_not_found(sdk: Master) -> None:
    with pytest.raises(SecretNotFoundError, match="secret 'NOPE' is not set"):
        secrets.get("NOPE")
    assert sdk.fake.calls() == 1  # not retried


def test_a_denied_secret_raises_access_denied(sdk: Master) -> None:
    sdk.fake.secrets["PROD_KEY"] = "x"
    sdk.fake.denied_secrets.add("PROD_KEY")

    with pytest.raises(AccessDeniedError, match="may not read secret 'PROD_KEY'") as raised:
        secrets.get("PROD_KEY")
    assert raised.value.code == "PERMISSION_DENIED"


def test_a_file_is_uploaded_under_its_name_with_size_and_sha256(sdk: Master) -> None:
    content = os.urandom(200_000)  # several chunks
    (sdk.fake.workspace / "report.xml").write_bytes(content)

    info = artifacts.upload("report.xml")
    renamed = artifacts.upload(sdk.fake.workspace / "report.xml", name="reports/junit.xml")

    digest = hashlib.sha256(content).hexdigest()
    assert (info.name, info.size, info.sha256) == ("report.xml", len(content), digest)
    assert renamed.name == "reports/junit.xml"
    stored = sdk.fake.artifacts["reports/junit.xml"]
    assert stored.kind == pb.ARTIFACT_KIND_FILE
    assert stored.path.read_bytes() == content


def test_a_directory_is_uploaded_as_a_tar_gz_of_its_contents(sdk: Master) -> None:
    dist = sdk.fake.workspace / "dist"
    (dist / "wheels").mkdir(parents=True)
    (dist / "pkg-1.0.tar.gz").write_bytes(b"sdist")
    big = os.urandom(300_000)
    (dist / "wheels" / "pkg-1.0-py3-none-any.whl").write_bytes(big)
    (dist / "empty").mkdir()
    (dist / "latest").symlink_to("pkg-1.0.tar.gz")

    info = artifacts.upload("dist/")

    stored = sdk.fake.artifacts["dist.tar.gz"]
    blob = stored.path.read_bytes()
    assert info.name == "dist.tar.gz"
    assert stored.kind == pb.ARTIFACT_KIND_DIRECTORY
    assert (info.size, info.sha256) == (len(blob), hashlib.sha256(blob).hexdigest())
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as archive:
        assert archive.getnames() == [
            "empty",
            "latest",
            "pkg-1.0.tar.gz",
            "wheels",
            "wheels/pkg-1.0-py3-none-any.whl",
        ]
        assert archive.getmember("latest").issym()
        assert archive.getmember("latest").linkname == "pkg-1.0.tar.gz"
        wheel = archive.extractfile("wheels/pkg-1.0-py3-none-any.whl")
        assert wheel is not None
        assert wheel.read() == big


def test_uploading_the_same_directory_twice_gives_the_same_bytes(sdk: Master) -> None:
    (sdk.fake.workspace / "out").mkdir()
    (sdk.fake.workspace / "out" / "a.txt").write_text("a")

    first = artifacts.upload("out", name="one.tar.gz")
    second = artifacts.upload("out", name="two.tar.gz")

    assert first.sha256 == second.sha256


def test_a_broken_upload_is_retried_from_the_start(sdk: Master) -> None:
    content = os.urandom(400_000)
    (sdk.fake.workspace / "blob.bin").write_bytes(content)
    sdk.fake.break_upload_after_chunks = 2

    info = artifacts.upload("blob.bin")

    assert sdk.fake.upload_attempts == 2
    assert info.sha256 == hashlib.sha256(content).hexdigest()
    assert sdk.fake.artifacts["blob.bin"].path.read_bytes() == content


@pytest.mark.parametrize(
    ("path", "name", "message"),
    [
        ("missing.txt", None, "does not exist"),
        ("{outside}", None, "outside the workspace"),
        ("escape", None, "outside the workspace"),
        ("ok.txt", "../up.txt", "invalid artifact name"),
        ("ok.txt", "/abs.txt", "invalid artifact name"),
    ],
)
def test_bad_paths_and_names_are_refused_locally(
    sdk: Master, tmp_path: Path, path: str, name: str | None, message: str
) -> None:
    (sdk.fake.workspace / "ok.txt").write_text("ok")
    (tmp_path / "outside.txt").write_text("secret")
    (sdk.fake.workspace / "escape").symlink_to(tmp_path / "outside.txt")

    with pytest.raises(ArtifactError, match=message):
        artifacts.upload(path.format(outside=tmp_path / "outside.txt"), name=name)
    assert sdk.fake.upload_attempts == 0


def test_a_default_step_name_never_holds_part_of_a_secret_the_job_read(sdk: Master) -> None:
    sdk.fake.secrets["DEPLOY_TOKEN"] = "s3cr3t-Value-42"
    token = secrets.get("DEPLOY_TOKEN")

    step.run(f"echo {'x' * 25} {token}")  # the first 40 characters cut the value

    [request] = sdk.fake.step_requests
    assert request.name == f"echo {'x' * 25} ***"
    assert request.command == f"echo {'x' * 25} {token}"  # run as given
