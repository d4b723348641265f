"""`artifacts.upload(path)`: keep a file or a directory of the workspace with the job.

A file is stored as is; a directory is stored as a gzip-compressed tar archive of its
contents (streamed, so its size does not matter). Paths are relative to the workspace,
or absolute inside it.

Example:
    >>> from danube import artifacts
    >>> artifacts.upload("dist/")                          # stored as "dist.tar.gz"
    ArtifactInfo(name='dist.tar.gz', size=..., sha256='...')
    >>> artifacts.upload("report.xml", name="junit.xml")
    ArtifactInfo(name='junit.xml', size=..., sha256='...')
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from danube import _runtime
from danube._tarstream import CHUNK_SIZE, tar_gz_chunks
from danube.context import ctx
from danube.errors import ArtifactError
from danube.results import ArtifactInfo

MAX_NAME_BYTES = 255

__all__ = ["ArtifactInfo", "upload"]


def upload(path: str | os.PathLike[str], name: str | None = None) -> ArtifactInfo:
    """Upload a file or a directory as an artifact of this job.

    Args:
        path: the file or directory, relative to the workspace or absolute inside it.
        name: the artifact's name: a relative path such as "junit.xml" or
            "reports/coverage.xml". Default: the file's name, or the directory's name
            with ".tar.gz" appended. Uploading a name again replaces the artifact.

    Returns:
        The stored artifact's name, size in bytes and SHA-256 (hex).

    Raises:
        ArtifactError: the path does not exist, lies outside the workspace, the name is
            invalid, or the master stored other bytes than were sent.
        MasterUnavailableError, MasterError: as for every call to the master.
    """
    source = _resolve(Path(path))
    directory = source.is_dir()
    if not directory and not source.is_file():
        raise ArtifactError(f"artifact path {str(path)!r} is neither a file nor a directory")
    artifact_name = validate_name(name if name is not None else _default_name(source, directory))
    client = _runtime.client()
    if directory:
        return client.upload_artifact(artifact_name, True, lambda: tar_gz_chunks(source))
    return client.upload_artifact(artifact_name, False, lambda: _file_chunks(source))


def validate_name(name: str) -> str:
    """Return `name` if it is a valid artifact name, else raise `ArtifactError`.

    Valid: a relative path of `/`-separated segments, none empty, "." or "..", without
    NUL or backslash, at most 255 bytes in UTF-8.
    """
    segments = name.split("/")
    if (
        not name
        or len(name.encode("utf-8", errors="surrogatepass")) > MAX_NAME_BYTES
        or "\0" in name
        or "\\" in name
        or any(segment in ("", ".", "..") for segment in segments)
    ):
        raise ArtifactError(f"invalid artifact name {name!r}")
    return name


def _resolve(path: Path) -> Path:
    workspace = Path(ctx.workspace).resolve()
    candidate = path if path.is_absolute() else workspace / path
    if not candidate.exists():
        raise ArtifactError(f"artifact path {str(path)!r} does not exist")
    resolved = candidate.resolve()
    if not resolved.is_relative_to(workspace):
        raise ArtifactError(f"artifact path {str(path)!r} is outside the workspace {workspace}")
    return resolved


def _default_name(source: Path, directory: bool) -> str:
    return f"{source.name}.tar.gz" if directory else source.name


def _file_chunks(path: Path) -> Iterator[bytes]:
    try:
        with open(path, "rb") as file:
            while data := file.read(CHUNK_SIZE):
                yield data
    except OSError as exc:
        raise ArtifactError(f"cannot read {path}: {exc.strerror}") from exc
