"""Cloning the job's repository into its workspace at the job's commit.

``git clone`` first; if the commit is not in the clone (a pull request's head, a commit
on a branch the default clone does not fetch), ``git fetch`` of the job's ref, then of
the commit itself. Credentials in the repository URL are used for fetching but never
stored in the workspace and never shown: every message redacts them.

Credentials from ``git_authentication`` (``access``) reach git only through its
environment (an ``http.extraHeader``) or through key files in a private temporary
directory outside the workspace, removed when the checkout ends; a refusal is reported
as an authentication failure naming the credential.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from adapters.local.borrowed import write_borrowing_repository
from adapters.local.environment import git_environment
from adapters.local.process_group import ProcessGroup
from adapters.local.workspace import remove_tree
from domain.execution.git_access import GitAccess
from domain.execution.ports import OutputSink, Stream

Launch = Callable[[Sequence[str], Path, Mapping[str, str], OutputSink], ProcessGroup]

_GIT = ("git", "-c", "credential.interactive=never", "-c", "advice.detachedHead=false")
_SHA = re.compile(r"[0-9a-fA-F]{4,64}")
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s'\"]+)@")
_STDERR_LIMIT = 64 * 1024
_AUTH_FAILURES = (
    "authentication failed", "returned error: 401", "returned error: 403",
    "could not read username", "could not read password", "permission denied",
    "host key verification failed", "terminal prompts disabled", "access denied",
)  # fmt: skip


class MirrorSource(Protocol):
    """Contract: ``holding(repository, commit, ref)`` returns a local repository holding
    ``commit`` that a workspace may borrow objects from (``git clone --shared``) for as
    long as the workspace lives, or None (then the repository is cloned directly). It
    never raises."""

    def holding(self, repository: str, commit_sha: str, ref: str) -> Path | None: ...


class CheckoutError(Exception):
    """The workspace could not be prepared; the message says why, credentials redacted."""


def redact(text: str) -> str:
    """``text`` with URL credentials hidden (``https://***@host``); an ssh user name,
    never a secret, is kept."""

    def hide(match: re.Match[str]) -> str:
        scheme, userinfo = match["scheme"], match["userinfo"]
        if ":" not in userinfo and not scheme.lower().startswith("http"):
            return match.group(0)
        return f"{scheme}***@"

    return _USERINFO.sub(hide, text)


def strip_credentials(url: str) -> str:
    return _USERINFO.sub(lambda m: m["scheme"], url)


@dataclass(frozen=True)
class GitCheckout:
    repository: str
    commit_sha: str
    ref: str
    workspace: Path
    timeout: float
    launch: Launch
    say: Callable[[str], None]  # a Danube system line for the job's log
    access: GitAccess | None = None  # credentials from git_authentication, if one matched
    mirror: MirrorSource | None = None

    def run(self) -> None:
        """Clone and check out, or raise ``CheckoutError``."""
        self._validate()
        # A repository reached with credentials is cloned directly: the shared mirror
        # is fetched without them, and nothing of a private repository is kept beyond
        # the job's own workspace.
        if self.access is None and self._from_mirror():
            return
        with _access_environment(self.access) as env:
            self._run_with(env)

    def _run_with(self, env: Mapping[str, str]) -> None:
        repo, sha, shown = self._source, self.commit_sha, redact(self.repository)
        using = f" with {self.access.description}" if self.access is not None else ""
        self.say(f"$ git clone {shown} (commit {sha[:7]}){using}")
        clone = ["clone", "--no-checkout", "--quiet", "--", repo, str(self.workspace)]
        self._git(clone, self.workspace.parent, f"could not clone {shown}", env)
        forget_credentials = ["remote", "set-url", "origin", strip_credentials(repo)]
        self._git(
            forget_credentials, self.workspace, f"could not configure the clone of {shown}", env
        )
        if not self._has_commit(env):
            self._fetch_missing_commit(env)
        checkout = ["checkout", "--quiet", "--detach", sha]
        self._git(checkout, self.workspace, f"could not check out commit {sha} of {shown}", env)

    def _from_mirror(self) -> bool:
        """Check the commit out into a repository borrowing the local mirror's objects
        (what ``git clone --shared`` of it makes); False (and no workspace) if there is
        no mirror holding it or this fails, so that the repository is cloned directly."""
        mirror = (
            self.mirror.holding(self._source, self.commit_sha, self.ref) if self.mirror else None
        )
        if mirror is None:
            return False
        sha, shown = self.commit_sha, redact(self.repository)
        self.say(f"$ git clone --shared <mirror of {shown}> (commit {sha[:7]})")
        origin = strip_credentials(self._source)
        try:
            write_borrowing_repository(self.workspace, mirror, origin, sha)
        except (OSError, ValueError) as error:
            problem = f"{type(error).__name__}: {error}"
        else:
            code, stderr = self._run(["read-tree", "-u", "--reset", sha], self.workspace, {})
            if code == 0:
                return True
            problem = _error_line(stderr)
        self.say(f"the mirror did not work ({problem}); cloning directly")
        remove_tree(self.workspace)
        return False

    @property
    def _source(self) -> str:
        """The repository as git run in any directory reads it: a relative local path is
        made absolute (it means a path relative to the server's working directory)."""
        repo = self.repository
        colon, slash = repo.find(":"), repo.find("/")
        if "://" in repo or (colon > 0 and (slash == -1 or colon < slash)):
            return repo  # a URL, or scp-like host:path
        return os.path.abspath(repo)

    def _validate(self) -> None:
        shown = redact(self.repository)
        if not self.repository.strip() or any(c in self.repository for c in "\n\r\0"):
            raise CheckoutError(f"invalid repository {shown!r}")
        if not _SHA.fullmatch(self.commit_sha):
            raise CheckoutError(f"invalid commit {self.commit_sha!r} for {shown}")
        if self.ref.startswith("-") or any(c.isspace() or c == "\0" for c in self.ref):
            raise CheckoutError(f"invalid ref {self.ref!r} for {shown}")

    def _fetch_missing_commit(self, env: Mapping[str, str]) -> None:
        """Fetch the ref, then the commit itself (servers allowing it, e.g. protocol v2)."""
        error = ""
        for wanted in (self.ref, self.commit_sha):
            if not wanted:
                continue
            self.say(f"$ git fetch {redact(self.repository)} {wanted}")
            code, stderr = self._run(
                ["fetch", "--quiet", "--no-tags", "--", self._source, wanted], self.workspace, env
            )
            if code != 0:
                error = _error_line(stderr)
                self._refused(stderr)
            elif self._has_commit(env):
                return
        detail = f": {error}" if error else ""
        raise CheckoutError(
            f"commit {self.commit_sha} not found in {redact(self.repository)}{detail}"
        )

    def _has_commit(self, env: Mapping[str, str]) -> bool:
        args = ["cat-file", "-e", f"{self.commit_sha}^{{commit}}"]
        code, _ = self._run(args, self.workspace, env)
        return code == 0

    def _git(self, args: Sequence[str], cwd: Path, failure: str, env: Mapping[str, str]) -> None:
        code, stderr = self._run(args, cwd, env)
        if code != 0:
            self._refused(stderr)
            raise CheckoutError(f"{failure}: {_error_line(stderr)}")

    def _refused(self, stderr: str) -> None:
        """With configured credentials, a refusal is their failure: say so, which, and
        git's (or ssh's) line that says it."""
        if self.access is None:
            return
        for line in reversed(stderr.splitlines()):
            if any(pattern in line.lower() for pattern in _AUTH_FAILURES):
                raise CheckoutError(self.access.failure(redact(line.strip())[:500]))

    def _run(self, args: Sequence[str], cwd: Path, env: Mapping[str, str]) -> tuple[int, str]:
        """Run one git command; a timeout is reported like git's own failure."""
        capture = _Capture()
        group = self.launch([*_GIT, *args], cwd, {**git_environment(), **env}, capture)
        if not group.wait(self.timeout):
            group.terminate()
            return 1, f"fatal: git {args[0]} timed out after {self.timeout:g}s"
        code = group.exit_code
        return (1 if code is None else code), capture.text()


@contextmanager
def _access_environment(access: GitAccess | None) -> Iterator[dict[str, str]]:
    """What git's environment adds for ``access``: an HTTP header, or an ssh command with
    the key and the pinned host keys in files of a private temporary directory."""
    if access is None:
        yield {}
        return
    if not access.ssh_private_key:
        yield {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": access.http_header,
        }
        return
    with tempfile.TemporaryDirectory(prefix="danube-ssh-") as directory:
        key, known_hosts = Path(directory) / "key", Path(directory) / "known_hosts"
        for path, text in ((key, access.ssh_private_key), (known_hosts, access.ssh_known_hosts)):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(text)
        ssh = [
            "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=30", "-i", str(key),
            "-o", "IdentitiesOnly=yes", "-o", f'UserKnownHostsFile="{known_hosts}"',
            "-o", "StrictHostKeyChecking=yes",
        ]  # fmt: skip
        yield {"GIT_SSH_COMMAND": shlex.join(ssh)}


def _error_line(stderr: str) -> str:
    """Git's own explanation: its last ``fatal:``/``error:`` line, else its last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    explained = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
    line = (explained or lines or ["git failed without a message"])[-1]
    return redact(line)[:500]


class _Capture:
    """Keeps the tail of git's stderr; its stdout is not needed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stderr = bytearray()

    def write(self, stream: Stream, data: bytes) -> None:
        if stream is Stream.STDERR:
            with self._lock:
                self._stderr += data
                del self._stderr[:-_STDERR_LIMIT]

    def text(self) -> str:
        with self._lock:
            return self._stderr.decode(errors="replace")
