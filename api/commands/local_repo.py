"""The local git repository ``danube run`` runs: which commit a ref names, its full ref
name, and the committed danubefile at that commit (uncommitted changes are not part of
a run). Every problem is a ``CommandError`` saying what is wrong."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from api.commands.errors import CommandError

GIT_TIMEOUT = 30.0


@dataclass(frozen=True)
class Checkout:
    commit: str
    ref: str  # refs/heads/..., refs/tags/..., HEAD (detached) or the commit itself
    script: str  # the danubefile's text at the commit


def committed(path: Path, ref: str, script: str) -> Checkout:
    """What a run of ``script`` at ``ref`` in the repository at ``path`` would run."""
    _require_repository(path)
    if not ref.strip() or ref.startswith("-"):
        raise CommandError(f"invalid ref {ref!r}")
    found = _git(path, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode != 0:
        raise CommandError(f"no branch, tag or commit {ref!r} in {path}")
    commit = found.stdout.strip()
    text = _git(path, "show", f"{commit}:{script}")
    if text.returncode != 0:
        raise CommandError(
            f"no {script} in {path} at {ref} ({commit[:12]}); commit it first: "
            "danube run uses the committed files"
        )
    return Checkout(commit=commit, ref=_full_name(path, ref, commit), script=text.stdout)


def _require_repository(path: Path) -> None:
    if not path.is_dir():
        raise CommandError(f"{path} is not a git repository (no such directory)")
    if _git(path, "rev-parse", "--is-bare-repository").stdout.strip() == "true":
        return
    top = _git(path, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise CommandError(f"{path} is not a git repository")
    if Path(top.stdout.strip()).resolve() != path.resolve():
        raise CommandError(
            f"{path} is not a git repository; it is inside {top.stdout.strip()}, run that instead"
        )


def _full_name(path: Path, ref: str, commit: str) -> str:
    if ref == "HEAD":
        return _git(path, "symbolic-ref", "-q", "HEAD").stdout.strip() or "HEAD"
    full = _git(path, "rev-parse", "--symbolic-full-name", ref)
    name = full.stdout.strip()
    return name if full.returncode == 0 and name.startswith("refs/") else commit


def _git(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(path), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise CommandError("git is not installed (danube run needs it)", 1) from None
    except subprocess.TimeoutExpired:
        raise CommandError(f"git did not answer within {GIT_TIMEOUT:.0f}s in {path}", 1) from None
