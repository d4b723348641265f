"""A local cache of one remote: fetch branches, resolve refs, export or check out commits.

The cache is a bare repository under ``cache_root`` named after the remote (credentials
ignored), reused across calls and restarts. Fetched branches are kept as
``refs/danube/heads/<branch>``, so the previous head of a branch is known and a force
push (new head not descending from the old one) is reported by ``fetch``. Writers of
one cache serialise on a lock file, so several processes may share ``cache_root``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from adapters.git.command import DEFAULT_TIMEOUT, Git, GitResult, redact, strip_credentials
from adapters.git.errors import GitError, GitRefNotFoundError
from adapters.git.remote import check_ref, check_url, is_full_sha, list_refs, match_ref

_TRACKING = "refs/danube"


@dataclass(frozen=True)
class FetchResult:
    """A branch head after a fetch. ``previous`` is the head this cache saw before (``None``
    the first time); ``forced`` is true when the new head does not descend from it."""

    branch: str
    commit: str
    previous: str | None
    forced: bool

    @property
    def changed(self) -> bool:
        return self.commit != self.previous


class GitRepository:
    """The cached clone of ``url``. Every git call is bounded by ``timeout`` seconds."""

    def __init__(
        self,
        url: str,
        cache_root: Path,
        *,
        ssh_key_path: Path | None = None,
        known_hosts_path: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        check_url(url)
        self.url = url
        self._git = Git(ssh_key_path, timeout, known_hosts_path)
        self._remote = redact(url)
        plain = strip_credentials(url)
        slug = re.sub(r"[^A-Za-z0-9]+", "-", plain.rstrip("/").rsplit("/", 1)[-1])[:40]
        digest = hashlib.sha256(plain.encode()).hexdigest()[:16]
        self.path = cache_root / f"{slug.strip('-') or 'repo'}-{digest}.git"

    def fetch(self, branch: str) -> FetchResult:
        """Fetch ``branch`` and return its head, the head seen before, and whether it moved
        by a force push. Raises ``GitRefNotFoundError`` when the remote has no such branch."""
        self._check_branch(branch)
        tracking = f"{_TRACKING}/heads/{branch}"
        with self._locked():
            previous = self._rev_parse(tracking)
            self._fetch_refspecs(f"+refs/heads/{branch}:{tracking}", what=f"branch '{branch}'")
            commit = self._rev_parse(tracking)
        assert commit is not None
        forced = previous not in {None, commit} and not self.is_ancestor(str(previous), commit)
        return FetchResult(branch, commit, previous, forced)

    def resolve(self, ref: str) -> str:
        """The commit ``ref`` names (branch, tag, ``HEAD``, full or abbreviated SHA), fetched
        into the cache so that it can be exported or checked out."""
        check_ref(ref, self.url)
        refs = list_refs(self._git, self.url)
        sha = match_ref(refs, ref)
        if sha is None and is_full_sha(ref.lower()):
            sha = ref.lower()
        if sha is not None:
            self.ensure_commit(sha)
            return sha
        if re.fullmatch(r"[0-9a-fA-F]{4,39}", ref):
            return self._resolve_abbreviated(ref)
        raise GitRefNotFoundError(
            f"no branch, tag or commit '{ref}' in {self._remote}",
            remote=self._remote,
            detail=f"ref '{ref}' not found",
        )

    def ensure_commit(self, commit: str) -> None:
        """Make sure ``commit`` (a full SHA) is in the cache, fetching it if needed."""
        if not is_full_sha(commit.lower()):
            raise GitRefNotFoundError(f"{commit!r} is not a full commit SHA", remote=self._remote)
        if self._has_commit(commit):
            return
        with self._locked():
            self._fetch_refspecs(commit, what=f"commit {commit}")
        if not self._has_commit(commit):
            raise GitRefNotFoundError(f"{commit} in {self._remote} is not a commit")

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether ``ancestor`` is ``descendant`` or one of its ancestors. An ``ancestor``
        the cache does not hold cannot be one (fetching a commit fetches its history)."""
        if not self._has_commit(descendant):
            raise GitRefNotFoundError(f"commit {descendant} is not in the cache of {self._remote}")
        if not self._has_commit(ancestor):
            return False
        result = self._local(["merge-base", "--is-ancestor", ancestor, descendant], check=False)
        if result.returncode not in (0, 1):
            raise GitError(f"cannot compare {ancestor} and {descendant}: {result.stderr.strip()}")
        return result.returncode == 0

    def export(self, commit: str, destination: Path) -> None:
        """Write the files of ``commit`` (no ``.git``) into the empty or new ``destination``."""
        self.ensure_commit(commit)
        _require_empty(destination)
        with tempfile.TemporaryDirectory(prefix="danube-index-") as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            args = ["--work-tree", str(destination), "read-tree", "--reset", "-u", commit]
            self._local(args, env=env)

    def checkout(self, commit: str, worktree: Path) -> None:
        """Make ``worktree`` a clone of the cache at ``commit`` (detached HEAD), whose
        ``origin`` is the remote URL without credentials."""
        self.ensure_commit(commit)
        _require_empty(worktree)
        self._git.run(
            ["clone", "--quiet", "--no-checkout", "--", str(self.path), str(worktree)],
            operation=f"cloning the cache of {self._remote}",
        )
        self._git.run(
            ["checkout", "--quiet", "--detach", commit], operation="checkout", cwd=worktree
        )
        self._git.run(
            ["remote", "set-url", "origin", strip_credentials(self.url)],
            operation="setting origin",
            cwd=worktree,
        )

    def _resolve_abbreviated(self, prefix: str) -> str:
        with self._locked():
            self._fetch_refspecs(
                f"+refs/heads/*:{_TRACKING}/heads/*", f"+refs/tags/*:{_TRACKING}/tags/*",
                what="all branches and tags",
            )  # fmt: skip
        sha = self._rev_parse(prefix.lower())
        if sha is None:
            raise GitRefNotFoundError(
                f"no commit starting with '{prefix}' on any branch or tag of {self._remote}"
                " (or the prefix is ambiguous)",
                remote=self._remote,
            )
        return sha

    def _fetch_refspecs(self, *refspecs: str, what: str) -> None:
        self._init()
        self._git.run(
            ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--", self.url, *refspecs],
            operation=f"fetching {what}",
            remote=self.url,
            cwd=self.path,
        )

    def _init(self) -> None:
        if not (self.path / "HEAD").exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._git.run(["init", "--quiet", "--bare", str(self.path)], operation="init")

    def _rev_parse(self, name: str) -> str | None:
        if not (self.path / "HEAD").exists():
            return None
        result = self._local(
            ["rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"], check=False
        )
        if result.returncode != 0:
            return None
        return result.stdout.strip() or None

    def _has_commit(self, commit: str) -> bool:
        return is_full_sha(commit.lower()) and self._rev_parse(commit.lower()) == commit.lower()

    def _local(
        self, args: list[str], *, check: bool = True, env: dict[str, str] | None = None
    ) -> GitResult:
        return self._git.run(
            ["--git-dir", str(self.path), *args], operation=f"git {args[0]}", check=check, env=env
        )

    def _check_branch(self, branch: str) -> None:
        check_ref(branch, self.url)
        result = self._git.run(
            ["check-ref-format", f"refs/heads/{branch}"], operation="check-ref-format", check=False
        )
        if result.returncode != 0 or "*" in branch:
            raise GitRefNotFoundError(f"invalid branch name {branch!r}", remote=self._remote)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{self.path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _require_empty(directory: Path) -> None:
    if directory.exists() and any(directory.iterdir()):
        raise GitError(f"{directory} is not empty")
    directory.mkdir(parents=True, exist_ok=True)
