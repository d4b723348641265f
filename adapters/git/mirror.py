"""Per-repository mirrors on the server's disk, so jobs never clone over the network.

``GitMirrors.holding(repository, commit, ref)`` returns a bare repository under the
mirrors directory that holds ``commit``: the repository's own mirror, fetched only when
it does not hold the commit yet (so the jobs of one trigger fetch once between them, and
later jobs at a known commit not at all). A job's workspace is then a ``git clone
--shared`` of the mirror: its own repository, whose objects it reads from the mirror.

The mirror stores no URL (it is named by a hash of the URL without credentials, and each
fetch is given the URL) and is never garbage-collected (``gc.auto=0``), so objects
workspaces borrow never disappear under them. One lock per mirror serialises its
fetches. Anything going wrong is logged and answered with None: the caller then clones
the repository directly, as without a mirror.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

from adapters.git.command import DEFAULT_TIMEOUT, Git, redact, strip_credentials
from adapters.git.errors import GitError

log = logging.getLogger(__name__)

_KNOWN_LIMIT = 4096  # commits remembered per mirror as held, without asking git


class GitMirrors:
    """Thread-safe; the mirrors live under ``root``."""

    def __init__(self, root: Path, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._root = root
        self._git = Git(timeout=timeout)
        self._lock = threading.Lock()
        self._locks: dict[Path, threading.Lock] = {}
        self._known: dict[Path, set[str]] = {}

    def path(self, repository: str) -> Path:
        key = strip_credentials(repository.strip()).rstrip("/")
        return self._root / hashlib.sha256(key.encode()).hexdigest()[:40]

    def holding(self, repository: str, commit_sha: str, ref: str) -> Path | None:
        """The mirror of ``repository`` (a URL or an absolute path), holding ``commit_sha``
        (fetched with ``ref`` if it did not); None if it cannot be made to hold it."""
        mirror, commit = self.path(repository), commit_sha.lower()
        with self._lock:
            lock = self._locks.setdefault(mirror, threading.Lock())
        with lock:
            known = self._known.setdefault(mirror, set())
            if commit in known:
                return mirror
            try:
                self._ensure(mirror)
                if not self._has(mirror, commit):
                    self._fetch(mirror, repository, commit, ref)
            except (GitError, OSError) as error:
                log.warning("mirror of %s: %s", redact(repository), error)
                return None
            if not self._has(mirror, commit):
                return None
            if len(known) >= _KNOWN_LIMIT:
                known.clear()
            known.add(commit)
            return mirror

    def _ensure(self, mirror: Path) -> None:
        if (mirror / "HEAD").exists():
            return
        mirror.parent.mkdir(parents=True, exist_ok=True)
        self._git.run(["init", "--quiet", "--bare", str(mirror)], operation="creating a mirror")
        self._git.run(["config", "gc.auto", "0"], operation="configuring a mirror", cwd=mirror)

    def _has(self, mirror: Path, commit: str) -> bool:
        result = self._git.run(
            ["cat-file", "-e", f"{commit}^{{commit}}"],
            operation="looking up a commit",
            cwd=mirror,
            check=False,
        )
        return result.returncode == 0

    def _fetch(self, mirror: Path, repository: str, commit: str, ref: str) -> None:
        """Branches and tags (and ``ref`` when it is neither, e.g. a pull request's head);
        if the commit is still missing, the commit itself (servers allowing it)."""
        specs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
        if ref.startswith("refs/") and not ref.startswith(("refs/heads/", "refs/tags/")):
            specs.append(f"+{ref}:{ref}")
        fetch = ["-c", "gc.auto=0", "fetch", "--quiet", "--prune", "--no-tags", "--"]
        self._git.run([*fetch, repository, *specs], operation="fetch", remote=repository,
                      cwd=mirror)  # fmt: skip
        if not self._has(mirror, commit):
            self._git.run([*fetch, repository, commit], operation="fetch", remote=repository,
                          cwd=mirror, check=False)  # fmt: skip
