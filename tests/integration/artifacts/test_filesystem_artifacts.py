"""The filesystem artifact store on a real filesystem."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from adapters.artifacts.filesystem import PARTIAL, STALE_AFTER, FilesystemArtifactStore
from adapters.artifacts.names import (
    ArtifactConflictError,
    ArtifactError,
    ArtifactNotFoundError,
    InvalidArtifactNameError,
)


@pytest.fixture
def store(tmp_path: Path) -> FilesystemArtifactStore:
    return FilesystemArtifactStore(tmp_path / "artifacts")


@pytest.fixture
def job() -> str:
    return str(uuid.uuid4())


def upload(store: FilesystemArtifactStore, job: str, name: str, data: bytes) -> tuple[int, str]:
    with store.begin(job, name) as up:
        for at in range(0, len(data), 65536):
            up.write(data[at : at + 65536])
        return up.commit()


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


def test_an_upload_is_stored_with_its_size_and_sha256(
    store: FilesystemArtifactStore, job: str
) -> None:
    data = os.urandom(300_000)
    assert upload(store, job, "dist/app.tar.gz", data) == (
        len(data),
        hashlib.sha256(data).hexdigest(),
    )
    with store.open(job, "dist/app.tar.gz") as stored:
        assert stored.read() == data
    assert [(a.name, a.size) for a in store.list(job)] == [("dist/app.tar.gz", len(data))]
    assert (store.root / job / "dist" / "app.tar.gz").is_file()


def test_an_empty_upload_is_an_empty_artifact(store: FilesystemArtifactStore, job: str) -> None:
    assert upload(store, job, "empty", b"") == (0, hashlib.sha256(b"").hexdigest())
    assert store.open(job, "empty").read() == b""


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("../escape", "'..'"),
        ("a/../../escape", "'..'"),
        ("./a", "'.'"),
        ("a/.", "'.'"),
        ("a//b", "empty segment"),
        ("a/", "empty segment"),
        ("a\\..\\b", "backslash"),
        ("C:\\x", "backslash"),
        ("a\x00b", "NUL"),
        ("\u00e9" * 128, "256 bytes"),
        ("bad\udcff", "Unicode"),
    ],
)
def test_a_malformed_name_is_refused_before_anything_is_written(
    store: FilesystemArtifactStore, job: str, name: str, problem: str
) -> None:
    with pytest.raises(InvalidArtifactNameError, match="invalid artifact name") as refused:
        store.begin(job, name)
    assert problem in str(refused.value)
    assert not store.root.exists()


def test_a_name_of_exactly_255_bytes_is_accepted(store: FilesystemArtifactStore, job: str) -> None:
    name = "d/" + "x" * 253
    upload(store, job, name, b"ok")
    assert store.list(job)[0].name == name


def test_a_name_through_a_symlink_out_of_the_job_is_refused(
    store: FilesystemArtifactStore, job: str, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    upload(store, job, "real", b"x")
    (store.root / job / "link").symlink_to(outside)
    (store.root / job / "file-link").symlink_to(outside / "secret.txt")
    (outside / "secret.txt").write_text("not yours")
    with pytest.raises(InvalidArtifactNameError, match="outside the job's directory"):
        store.begin(job, "link/x")
    with pytest.raises(InvalidArtifactNameError, match="outside"):
        store.open(job, "file-link")
    assert list(outside.iterdir()) == [outside / "secret.txt"]
    assert [a.name for a in store.list(job)] == ["real"]


def test_a_job_directory_that_is_a_symlink_is_refused(
    store: FilesystemArtifactStore, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere").mkdir()
    store.root.mkdir()
    (store.root / "job-1").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InvalidArtifactNameError, match="outside"):
        store.begin("job-1", "a.txt")


def test_an_invalid_job_id_is_refused(store: FilesystemArtifactStore) -> None:
    for job in ["", "..", ".partial", "a/b", "a\\b"]:
        with pytest.raises(ArtifactError, match="invalid job id"):
            store.begin(job, "a.txt")


def test_an_upload_is_invisible_until_committed(store: FilesystemArtifactStore, job: str) -> None:
    up = store.begin(job, "report.xml")
    up.write(b"<partial")
    with pytest.raises(ArtifactNotFoundError):
        store.open(job, "report.xml")
    assert store.list(job) == []
    up.write(b"/>")
    up.commit()
    assert store.open(job, "report.xml").read() == b"<partial/>"
    assert files_under(store.root) == [f"{job}/report.xml"]  # no temp file left


def test_an_aborted_upload_leaves_nothing(store: FilesystemArtifactStore, job: str) -> None:
    up = store.begin(job, "a/b/c.bin")
    up.write(b"x" * 1000)
    up.abort()
    assert store.list(job) == []
    assert files_under(store.root) == []
    assert not (store.root / job / "a").exists()


def test_an_exception_during_an_upload_leaves_nothing(
    store: FilesystemArtifactStore, job: str
) -> None:
    def broken_upload() -> None:
        with store.begin(job, "out.log") as up:
            up.write(b"half")
            raise RuntimeError("the stream broke")

    with pytest.raises(RuntimeError):
        broken_upload()
    assert files_under(store.root) == []


def test_an_upload_whose_process_was_killed_is_invisible_and_cleaned_up_later(
    store: FilesystemArtifactStore, job: str
) -> None:
    script = (
        "import os, sys; from pathlib import Path\n"
        "from adapters.artifacts.filesystem import FilesystemArtifactStore\n"
        "up = FilesystemArtifactStore(Path(sys.argv[1])).begin(sys.argv[2], 'big.bin')\n"
        "up.write(b'x' * 100000); up._file.flush()\n"
        "os.kill(os.getpid(), 9)\n"
    )
    cwd = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", script, str(store.root), job], cwd=cwd, timeout=60)
    assert done.returncode == -9
    leftovers = files_under(store.root)
    assert len(leftovers) == 1 and leftovers[0].startswith(f"{PARTIAL}/{job}/")
    assert store.list(job) == []
    with pytest.raises(ArtifactNotFoundError):
        store.open(job, "big.bin")
    upload(store, job, "next.txt", b"next")
    assert files_under(store.root) == [f"{job}/next.txt"]


def test_a_live_upload_of_another_process_is_kept_unless_idle(
    store: FilesystemArtifactStore, job: str
) -> None:
    first = store.begin(job, "one")
    partial = first._temp.parent
    live = partial / first._temp.name.replace(f"~{os.getpid()}~", f"~{os.getppid()}~")
    live.write_bytes(b"another process is writing")
    upload(store, job, "two", b"2")
    assert live.exists()
    old = time.time() - STALE_AFTER - 60
    os.utime(live, (old, old))
    upload(store, job, "three", b"3")
    assert not live.exists()
    first.write(b"1")
    first.commit()  # an open upload of this process survives the cleaning
    assert [a.name for a in store.list(job)] == ["one", "three", "two"]


def test_uploading_a_name_again_replaces_it_atomically(
    store: FilesystemArtifactStore, job: str
) -> None:
    upload(store, job, "junit.xml", b"v1" * 1000)
    reader = store.open(job, "junit.xml")
    second = store.begin(job, "junit.xml")
    second.write(b"v2")
    assert store.open(job, "junit.xml").read() == b"v1" * 1000
    second.commit()
    assert store.open(job, "junit.xml").read() == b"v2"
    assert reader.read() == b"v1" * 1000  # an open download keeps the old content
    reader.close()
    assert [(a.name, a.size) for a in store.list(job)] == [("junit.xml", 2)]


def test_a_name_colliding_with_another_artifacts_path_is_a_conflict(
    store: FilesystemArtifactStore, job: str
) -> None:
    upload(store, job, "a", b"file")
    upload(store, job, "d/x", b"nested")
    with pytest.raises(ArtifactConflictError, match="'a'"):
        store.begin(job, "a/b")
    with pytest.raises(ArtifactConflictError, match="directory"):
        store.begin(job, "d")
    assert [a.name for a in store.list(job)] == ["a", "d/x"]


def test_a_finished_upload_takes_no_more_writes(store: FilesystemArtifactStore, job: str) -> None:
    up = store.begin(job, "x")
    up.commit()
    with pytest.raises(ArtifactError, match="already finished"):
        up.write(b"late")
    with pytest.raises(ArtifactError, match="already finished"):
        up.commit()


def test_deleting_a_job_frees_its_bytes_only(store: FilesystemArtifactStore) -> None:
    kept, dropped = str(uuid.uuid4()), str(uuid.uuid4())
    upload(store, kept, "k", b"k" * 10)
    upload(store, dropped, "a", b"a" * 100)
    upload(store, dropped, "b/c", b"c" * 1000)
    assert store.size_total() == 1110
    assert store.delete(dropped) == 1100
    assert store.list(dropped) == []
    assert store.size_total() == 10
    assert store.delete(dropped) == 0
    assert [a.name for a in store.list(kept)] == ["k"]
