"""Repository URL normalisation: one key per repository, whatever spelling names it.

Remote repositories map to ``host[:port]/path`` with the scheme, user info, default port,
query, fragment, trailing slashes and one ``.git`` suffix removed, all lower-cased (GitHub
and GitLab treat host and path case-insensitively)::

    https://GitHub.com/Org/Repo.git        -> github.com/org/repo
    git@github.com:org/repo.git            -> github.com/org/repo
    ssh://git@github.com:22/org/repo.git   -> github.com/org/repo
    ssh://git@gitlab.example.com:2222/g/p  -> gitlab.example.com:2222/g/p

A scheme-less ``host.domain/path`` (``github.com/org/repo``, the key's own form) is read
as a remote repository too; write relative local paths with ``./``.

Local paths and ``file://`` URLs map to a normalised absolute path, kept as written
otherwise (case-sensitive, ``.git`` kept: ``/srv/a.git`` and ``/srv/a`` are different
directories). Relative paths are made absolute against the current directory, ``~``
against the home directory. Keys of the two kinds never collide: local keys start with
``/``.
"""

from __future__ import annotations

import os
import posixpath
import re
from urllib.parse import SplitResult, unquote, urlsplit

from domain.triggers.errors import InvalidRepositoryUrlError

_DEFAULT_PORTS = {"http": 80, "https": 443, "ssh": 22, "git": 9418}
_SCHEME_ALIASES = {"git+ssh": "ssh", "ssh+git": "ssh"}
# git's rule: "host:path" is scp-like only when no slash comes before the first colon.
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>\[[^\]/]+\]|[^:/\[\]]+):(?P<path>.*)$")
# "github.com/org/repo", as Go module paths and our own keys are written.
_HOST_PATH = re.compile(r"^(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/(?P<path>.*)$")


def normalise_repository_url(url: str) -> str:
    """The comparison key of a repository URL or local path (see the module docstring)."""
    text = url.strip()
    if not text:
        raise InvalidRepositoryUrlError("repository URL is empty")
    if "://" in text:
        return _from_url(text)
    if text.startswith(("/", "./", "../", "~")) or text in {".", ".."}:
        return _local_key(text)
    scp = _SCP_LIKE.match(text)
    if scp is not None:
        return _remote_key(url, scp["host"], None, None, scp["path"])
    host_path = _HOST_PATH.match(text)
    if host_path is not None:
        return _remote_key(url, host_path["host"], None, None, host_path["path"])
    return _local_key(text)


def same_repository(a: str, b: str) -> bool:
    """True when both spellings name the same repository; unparseable URLs never match."""
    try:
        return normalise_repository_url(a) == normalise_repository_url(b)
    except InvalidRepositoryUrlError:
        return False


def _from_url(text: str) -> str:
    parts = urlsplit(text)
    scheme = _SCHEME_ALIASES.get(parts.scheme.lower(), parts.scheme.lower())
    if scheme == "file":
        return _file_url_key(text, parts)
    if scheme not in _DEFAULT_PORTS:
        raise InvalidRepositoryUrlError(
            f"repository URL {_redact(text)!r} has an unsupported scheme"
        )
    try:
        port = parts.port
    except ValueError as error:
        raise InvalidRepositoryUrlError(
            f"repository URL {_redact(text)!r} has an invalid port"
        ) from error
    return _remote_key(text, parts.hostname or "", port, scheme, parts.path)


def _remote_key(original: str, host: str, port: int | None, scheme: str | None, path: str) -> str:
    host = host.strip("[]").lower()
    if not host:
        raise InvalidRepositoryUrlError(f"repository URL {_redact(original)!r} has no host")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and (scheme is None or port != _DEFAULT_PORTS[scheme]):
        host = f"{host}:{port}"
    clean = _clean_remote_path(path)
    if not clean:
        raise InvalidRepositoryUrlError(
            f"repository URL {_redact(original)!r} names no repository path"
        )
    return f"{host}/{clean}"


def _clean_remote_path(path: str) -> str:
    segments = [segment for segment in path.split("/") if segment]
    clean = "/".join(segments).lower()
    if clean.endswith(".git"):
        clean = clean[: -len(".git")].rstrip("/")
    return clean


def _file_url_key(text: str, parts: SplitResult) -> str:
    if parts.netloc not in ("", "localhost"):
        raise InvalidRepositoryUrlError(f"file URL {text!r} names a remote host")
    if not parts.path:
        raise InvalidRepositoryUrlError(f"file URL {text!r} has no path")
    return _local_key(unquote(parts.path))


def _local_key(path: str) -> str:
    absolute = os.path.abspath(os.path.expanduser(path))
    return posixpath.normpath(absolute.replace(os.sep, "/"))


def _redact(text: str) -> str:
    """Drop user info (it may hold a token) before a URL goes into an error message."""
    return re.sub(r"//[^/@]*@", "//", text)
