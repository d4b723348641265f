"""Real git repositories for the tests: a working clone that commits and pushes to a bare
remote, driven through the git CLI exactly as a developer would."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=ENV, capture_output=True, text=True, check=True, timeout=30
    )
    return result.stdout.strip()


class Origin:
    """A bare repository (``bare``) and a work tree that pushes to it."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "origin.git"
        self.work = root / "work"
        root.mkdir(parents=True, exist_ok=True)
        git("init", "--quiet", "--bare", "--initial-branch=main", str(self.bare), cwd=root)
        git("init", "--quiet", "--initial-branch=main", str(self.work), cwd=root)
        git("remote", "add", "origin", str(self.bare), cwd=self.work)

    @property
    def file_url(self) -> str:
        return self.bare.as_uri()

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        for name, text in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def push(self, branch: str = "main", *, force: bool = False) -> None:
        flags = ["--force"] if force else []
        git("push", "--quiet", *flags, "origin", f"HEAD:refs/heads/{branch}", cwd=self.work)

    def switch(self, branch: str, start: str = "HEAD") -> None:
        git("checkout", "--quiet", "-B", branch, start, cwd=self.work)

    def reset(self, commit: str) -> None:
        git("reset", "--quiet", "--hard", commit, cwd=self.work)

    def tag(self, name: str, *, annotated: bool = False) -> None:
        args = ["-a", "-m", name] if annotated else []
        git("tag", *args, name, cwd=self.work)
        git("push", "--quiet", "origin", f"refs/tags/{name}", cwd=self.work)
