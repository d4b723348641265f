"""Which artifact names and job ids may become paths, checked before anything is written."""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_BYTES = 255
_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


class ArtifactError(Exception):
    pass


class InvalidArtifactNameError(ArtifactError, ValueError):
    pass


class ArtifactNotFoundError(ArtifactError, LookupError):
    pass


class ArtifactConflictError(ArtifactError):
    """The name collides with another artifact's path: ``a`` is a file and ``a/b`` is
    wanted, or the reverse."""


def check_name(name: str) -> list[str]:
    """The segments of a valid artifact name: a relative path of ``/``-separated
    segments, none empty, ``.`` or ``..``, no NUL, backslash, control character or
    invisible formatting character (direction overrides such as U+202E, zero-width
    characters), at most 255 bytes of UTF-8. Raises ``InvalidArtifactNameError`` naming
    the first problem."""

    def refuse(problem: str) -> InvalidArtifactNameError:
        return InvalidArtifactNameError(f"invalid artifact name {name!r}: {problem}")

    if not isinstance(name, str) or not name:
        raise refuse("it is empty")
    if "\x00" in name:
        raise refuse("it contains a NUL character")
    for char in name:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            what = "control" if unicodedata.category(char) == "Cc" else "formatting"
            raise refuse(f"it contains the {what} character U+{ord(char):04X}")
    if "\\" in name:
        raise refuse("it contains a backslash; separate directories with '/'")
    if name.startswith("/"):
        raise refuse("it is an absolute path; names are relative to the job")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise refuse("it is not valid Unicode text") from None
    if size > MAX_NAME_BYTES:
        raise refuse(f"it is {size} bytes long; the limit is {MAX_NAME_BYTES}")
    segments = name.split("/")
    for segment in segments:
        if segment == "":
            raise refuse("it has an empty segment ('//' or a trailing '/')")
        if segment in (".", ".."):
            raise refuse(f"it has a {segment!r} segment")
    return segments


def check_job_id(job_id: str) -> str:
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        raise ArtifactError(f"invalid job id {job_id!r}")
    return job_id
