"""A workspace repository that borrows its objects from a local mirror, as ``git clone
--shared --no-checkout <mirror>`` makes it, written directly: its ``.git`` holds a config
whose ``origin`` is the repository itself, the mirror's branches as ``origin/*`` and its
tags, ``HEAD`` detached at the job's commit, and ``objects/info/alternates`` naming the
mirror's objects. ``git clone`` spends tens of milliseconds (and a hook template per
workspace, which has to be removed again) on what is a handful of small files; the one
git process left is the checkout (``read-tree -u``), which writes the index and the files.
"""

from __future__ import annotations

import os
from pathlib import Path

_CONFIG = """[core]
\trepositoryformatversion = 0
\tfilemode = true
\tbare = false
\tlogallrefupdates = true
[remote "origin"]
\turl = "{url}"
\tfetch = +refs/heads/*:refs/remotes/origin/*
"""


def write_borrowing_repository(workspace: Path, mirror: Path, origin: str, commit: str) -> None:
    """The ``.git`` of ``workspace`` (which must not exist yet), borrowing ``mirror``'s
    objects, with ``origin`` as its remote and ``HEAD`` at ``commit``. Raises
    ``OSError`` or ``ValueError`` (an origin no git config line can hold)."""
    if any(c in origin for c in "\n\r\0"):
        raise ValueError("the origin URL cannot be written to a git config")
    dot_git = workspace / ".git"
    for directory in ("objects/info", "objects/pack", "refs/heads", "refs/tags", "info"):
        (dot_git / directory).mkdir(parents=True)
    quoted = origin.replace("\\", "\\\\").replace('"', '\\"')
    (dot_git / "config").write_text(_CONFIG.format(url=quoted))
    (dot_git / "objects" / "info" / "alternates").write_text(f"{mirror / 'objects'}\n")
    (dot_git / "HEAD").write_text(f"{commit}\n")
    refs = _remote_refs(mirror)
    if refs:
        lines = "".join(f"{sha} {name}\n" for name, sha in sorted(refs.items()))
        (dot_git / "packed-refs").write_text(f"# pack-refs with: sorted \n{lines}")
    branch = _head_branch(mirror)
    if branch is not None and f"refs/remotes/origin/{branch}" in refs:
        remote_head = dot_git / "refs" / "remotes" / "origin" / "HEAD"
        remote_head.parent.mkdir(parents=True)
        remote_head.write_text(f"ref: refs/remotes/origin/{branch}\n")


def _remote_refs(mirror: Path) -> dict[str, str]:
    """The mirror's branches (as ``refs/remotes/origin/*``) and tags, as a clone of it
    has them: from its packed refs, overridden by its loose ones."""
    found: dict[str, str] = {}
    try:
        packed = (mirror / "packed-refs").read_text()
    except FileNotFoundError:
        packed = ""
    for line in packed.splitlines():
        if line and line[0] not in "#^":
            sha, _, name = line.partition(" ")
            found[name] = sha
    for kind in ("heads", "tags"):
        base = mirror / "refs" / kind
        for directory, _, files in os.walk(base):
            for file in files:
                path = Path(directory) / file
                sha = path.read_text().strip()
                if len(sha) in (40, 64):  # not a symbolic ref, not half-written
                    found[f"refs/{kind}/{path.relative_to(base).as_posix()}"] = sha
    return {_as_cloned(name): sha for name, sha in found.items() if _as_cloned(name)}


def _as_cloned(name: str) -> str:
    if name.startswith("refs/heads/"):
        return "refs/remotes/origin/" + name.removeprefix("refs/heads/")
    return name if name.startswith("refs/tags/") else ""


def _head_branch(mirror: Path) -> str | None:
    try:
        head = (mirror / "HEAD").read_text().strip()
    except OSError:
        return None
    return head.removeprefix("ref: refs/heads/") if head.startswith("ref: refs/heads/") else None
