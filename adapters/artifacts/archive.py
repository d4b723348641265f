"""A directory artifact is a gzip-compressed tar archive whose members all stay inside
it: checked before the upload is recorded, so nothing listed as a directory is anything
else, and unpacking it can never write outside the directory it is unpacked into."""

from __future__ import annotations

import posixpath
import tarfile
import zlib
from pathlib import Path

from adapters.artifacts.names import ArtifactError


class InvalidArchiveError(ArtifactError, ValueError):
    """A ``directory`` upload that is not a tar.gz, or a member that would escape it."""


def check_directory_archive(path: Path, name: str) -> None:
    """Raises ``InvalidArchiveError`` naming the first problem: not a tar.gz, or a
    member that is absolute, has a ``..`` segment, is a device or FIFO, or is a link
    whose target lies outside the directory."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                problem = _member_problem(member)
                if problem is not None:
                    raise InvalidArchiveError(
                        f"directory artifact {name!r}: member {member.name!r} {problem}"
                    )
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise InvalidArchiveError(
            f"directory artifact {name!r} is not a gzip-compressed tar archive: {error}"
        ) from None


def _member_problem(member: tarfile.TarInfo) -> str | None:
    if _escapes(member.name):
        return "lies outside the directory (absolute or with '..')"
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        return "is a device, FIFO or other special file"
    if member.issym():
        target = posixpath.join(posixpath.dirname(member.name), member.linkname)
        if member.linkname.startswith("/") or _escapes(target):
            return f"links to {member.linkname!r}, outside the directory"
    if member.islnk() and _escapes(member.linkname):
        return f"is a hard link to {member.linkname!r}, outside the directory"
    return None


def _escapes(name: str) -> bool:
    if name.startswith("/") or "\\" in name:
        return True
    normal = posixpath.normpath(name)
    return normal == ".." or normal.startswith("../")
