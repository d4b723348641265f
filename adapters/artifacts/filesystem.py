"""Artifacts as files: ``<root>/<job_id>/<name>``.

An upload is written to ``<root>/.partial/<job_id>/<host>~<pid>~<random>.part`` and
renamed into place (after fsync) only on commit, so a reader never sees a partial
artifact, whether the upload was aborted, raised, or its process was killed. Such
leftovers are removed by the next ``begin`` for the job, once their writer process is
gone or they have not been written to for ``STALE_AFTER`` seconds. Uploading a name again
replaces the artifact atomically (the last commit wins).
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from adapters.artifacts.names import (
    ArtifactConflictError,
    ArtifactError,
    ArtifactNotFoundError,
    InvalidArtifactNameError,
    check_job_id,
    check_name,
)

PARTIAL = ".partial"
STALE_AFTER = 3600.0
_HOST = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "host"


@dataclass(frozen=True)
class StoredArtifact:
    name: str
    size: int


class Upload:
    """One artifact being written. ``commit`` makes it visible; ``abort`` (or leaving a
    ``with`` block without committing) discards it."""

    def __init__(
        self, store: FilesystemArtifactStore, job_id: str, name: str, temp: Path, file: BinaryIO
    ) -> None:
        self.job_id, self.name, self._store, self._temp = job_id, name, store, temp
        self._file = file
        self._hash = hashlib.sha256()
        self._size = 0
        self._done = False

    def write(self, data: bytes) -> None:
        if self._done:
            raise ArtifactError(f"the upload of {self.name!r} is already finished")
        self._file.write(data)
        self._hash.update(data)
        self._size += len(data)

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    def written(self) -> Path:
        """The bytes written so far, as a file to read before ``commit`` (e.g. to check
        them); it is gone after ``commit`` or ``abort``."""
        self._file.flush()
        return self._temp

    def commit(self) -> tuple[int, str]:
        """Make the artifact visible; returns (size in bytes, lower-case hex SHA-256)."""
        if self._done:
            raise ArtifactError(f"the upload of {self.name!r} is already finished")
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._store._place(self.job_id, self.name, self._temp)
        except BaseException:
            self.abort()
            raise
        self._done = True
        self._store._finished(self._temp)
        return self._size, self._hash.hexdigest()

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._file.close()
        self._temp.unlink(missing_ok=True)
        self._store._finished(self._temp)

    def __enter__(self) -> Upload:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.abort()


class FilesystemArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._active: set[Path] = set()

    def begin(self, job_id: str, name: str) -> Upload:
        """Start an upload. Raises ``InvalidArtifactNameError`` (nothing written) for a
        name that is malformed or would resolve outside the job's directory, and
        ``ArtifactConflictError`` when it collides with another artifact's path."""
        self._target(job_id, name)
        partial = self.root / PARTIAL / job_id
        with self._lock:
            partial.mkdir(parents=True, exist_ok=True)
            self._clean_stale(partial)
            prefix = f"{_HOST}~{os.getpid()}~"
            fd, temp = tempfile.mkstemp(prefix=prefix, suffix=".part", dir=partial)
            self._active.add(Path(temp))
        return Upload(self, job_id, name, Path(temp), os.fdopen(fd, "wb"))

    def open(self, job_id: str, name: str) -> BinaryIO:
        """The stored artifact for reading (binary). ``ArtifactNotFoundError`` if absent."""
        path = self._target(job_id, name)
        if not path.is_file():
            raise ArtifactNotFoundError(f"job {job_id} has no artifact {name!r}")
        return path.open("rb")

    def list(self, job_id: str) -> builtins.list[StoredArtifact]:
        job_dir = self.root / check_job_id(job_id)
        found = []
        for directory, _, files in os.walk(job_dir):
            for file in files:
                path = Path(directory, file)
                if not path.is_symlink() and path.is_file():
                    name = path.relative_to(job_dir).as_posix()
                    found.append(StoredArtifact(name, path.stat().st_size))
        return sorted(found, key=lambda artifact: artifact.name)

    def discard(self, job_id: str, name: str) -> None:
        """Remove one committed artifact whose upload could not be recorded (its job
        ended meanwhile), so nothing is kept on disk that no event accounts for."""
        depth = len(check_name(name))
        path = self._target(job_id, name)
        path.unlink(missing_ok=True)
        for parent in path.parents[:depth]:  # up to the job's directory, while empty
            try:
                parent.rmdir()
            except OSError:
                break  # other artifacts live there

    def delete(self, job_id: str) -> int:
        """Remove every artifact of the job (and its unfinished uploads); returns the
        bytes freed. Not for a job that is still uploading."""
        freed = 0
        for directory in (self.root / check_job_id(job_id), self.root / PARTIAL / job_id):
            freed += _bytes_under(directory)
            shutil.rmtree(directory, ignore_errors=True)
        return freed

    def size_total(self) -> int:
        """Bytes of all stored artifacts (unfinished uploads not counted)."""
        if not self.root.is_dir():
            return 0
        return sum(_bytes_under(p) for p in self.root.iterdir() if p.name != PARTIAL)

    # ---- internals -----------------------------------------------------------------

    def _target(self, job_id: str, name: str) -> Path:
        segments = check_name(name)
        job_dir = Path(os.path.realpath(self.root)) / check_job_id(job_id)
        path = job_dir.joinpath(*segments)
        if not Path(os.path.realpath(path)).is_relative_to(job_dir):
            raise InvalidArtifactNameError(
                f"invalid artifact name {name!r}: it resolves outside the job's directory"
            )
        for depth in range(1, len(segments)):
            parent = job_dir.joinpath(*segments[:depth])
            if parent.exists() and not parent.is_dir():
                raise ArtifactConflictError(
                    f"artifact {name!r} of job {job_id} needs the directory "
                    f"{'/'.join(segments[:depth])!r}, which is an artifact"
                )
        if path.is_dir():
            raise ArtifactConflictError(
                f"artifact {name!r} of job {job_id} is a directory of other artifacts"
            )
        return path

    def _place(self, job_id: str, name: str, temp: Path) -> None:
        path = self._target(job_id, name)  # again: the tree may have changed meanwhile
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._target(job_id, name)
            os.replace(temp, path)
        except (FileExistsError, NotADirectoryError, IsADirectoryError) as error:
            raise ArtifactConflictError(f"artifact {name!r} of job {job_id}: {error}") from None
        _fsync_directory(path.parent)

    def _finished(self, temp: Path) -> None:
        with self._lock:
            self._active.discard(temp)
            with contextlib.suppress(OSError):
                temp.parent.rmdir()  # only succeeds when no other upload of the job is open

    def _clean_stale(self, partial: Path) -> None:
        for temp in partial.iterdir():
            if _idle(temp) or (temp not in self._active and _orphaned(temp)):
                temp.unlink(missing_ok=True)


def _idle(temp: Path) -> bool:
    try:
        return time.time() - temp.stat().st_mtime > STALE_AFTER
    except FileNotFoundError:
        return False


def _orphaned(temp: Path) -> bool:
    """Its writer process is gone (or it is this process, which has no such upload open:
    a leftover of an earlier process with the same pid, as in a restarted container)."""
    host, _, rest = temp.name.partition("~")
    pid = rest.partition("~")[0]
    if host != _HOST or not pid.isdigit():
        return False  # another machine's upload: only the idle rule applies
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _bytes_under(directory: Path) -> int:
    total = 0
    for base, _, files in os.walk(directory):
        for file in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.lstat(os.path.join(base, file)).st_size
    return total


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
