"""Questions asked of a remote without a local clone: its refs, and what a ref names."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from adapters.git.command import DEFAULT_TIMEOUT, Git, redact
from adapters.git.errors import GitError, GitRefNotFoundError

_FULL_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def is_full_sha(ref: str) -> bool:
    return _FULL_SHA.fullmatch(ref) is not None


def check_url(url: str) -> None:
    if not url.strip() or url.startswith("-") or any(ch in url for ch in "\n\r\0"):
        raise GitError(f"invalid remote URL {redact(url)!r}", remote=redact(url))


def check_ref(ref: str, url: str) -> None:
    if not ref.strip() or ref.startswith("-") or any(ch.isspace() for ch in ref):
        raise GitRefNotFoundError(f"invalid ref {ref!r} for {redact(url)}", remote=redact(url))


def list_refs(git: Git, url: str) -> dict[str, str]:
    """Every ref the remote advertises, ``{"refs/heads/main": sha, "refs/tags/v1^{}": sha}``."""
    check_url(url)
    output = git.run(["ls-remote", "--", url], operation="listing the refs", remote=url).stdout
    refs = {}
    for line in output.splitlines():
        sha, _, name = line.partition("\t")
        if name:
            refs[name] = sha
    return refs


def match_ref(refs: dict[str, str], ref: str) -> str | None:
    """The commit ``ref`` names among ``refs``, in git's order: ``refs/<ref>``, then a tag,
    then a branch (``refs/heads/x`` disambiguates). Annotated tags are peeled."""
    if ref.startswith("refs/") or ref == "HEAD":
        candidates = [ref]
    else:
        candidates = [f"refs/{ref}", f"refs/tags/{ref}", f"refs/heads/{ref}"]
    for name in candidates:
        for key in (f"{name}^{{}}", name):
            if key in refs:
                return refs[key]
    return None


def resolve_ref(
    remote_url: str,
    ref: str,
    *,
    ssh_key_path: Path | None = None,
    known_hosts_path: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    http_header: str = "",
) -> str:
    """The commit SHA that ``ref`` (branch, tag, ``HEAD``, or full SHA) names on the remote.

    A full SHA that is no ref's tip is confirmed by fetching just that commit into a
    throw-away repository. Abbreviated SHAs cannot be resolved without a clone: use
    ``GitRepository.resolve`` for those."""
    git = Git(ssh_key_path, timeout, known_hosts_path, http_header)
    check_ref(ref, remote_url)
    refs = list_refs(git, remote_url)
    if (sha := match_ref(refs, ref)) is not None:
        return sha
    lowered = ref.lower()
    if is_full_sha(lowered) and (lowered in refs.values() or _has_commit(git, remote_url, lowered)):
        return lowered
    hint = ""
    if re.fullmatch(r"[0-9a-fA-F]{4,39}", ref):
        hint = " (an abbreviated SHA needs a clone to resolve; give the full SHA)"
    raise GitRefNotFoundError(
        f"no branch, tag or commit '{ref}' in {redact(remote_url)}{hint}",
        remote=redact(remote_url),
        detail=f"ref '{ref}' not found",
    )


def _has_commit(git: Git, url: str, sha: str) -> bool:
    with tempfile.TemporaryDirectory(prefix="danube-git-") as scratch:
        path = Path(scratch)
        git.run(["init", "--quiet", "--bare", str(path)], operation="creating a scratch repository")
        try:
            git.run(
                [
                    "fetch",
                    "--quiet",
                    "--depth=1",
                    "--no-tags",
                    "--no-write-fetch-head",
                    "--",
                    url,
                    sha,
                ],
                operation=f"fetching commit {sha}",
                remote=url,
                cwd=path,
            )
        except GitRefNotFoundError:
            return False
        kind = git.run(["cat-file", "-t", sha], operation="inspecting", cwd=path).stdout.strip()
        return kind == "commit"


def resolve_ref_name(
    remote_url: str,
    ref: str,
    *,
    ssh_key_path: Path | None = None,
    known_hosts_path: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    http_header: str = "",
) -> tuple[str, str]:
    """(commit SHA, full ref name) of ``ref`` on the remote: ``main`` gives
    ``refs/heads/main``, ``v1`` ``refs/tags/v1``, ``HEAD`` the branch it points at, a
    full SHA itself. ``http_header`` authenticates HTTP(S) requests."""
    git = Git(ssh_key_path, timeout, known_hosts_path, http_header)
    check_ref(ref, remote_url)
    refs = list_refs(git, remote_url)
    candidates = (
        [ref] if ref.startswith("refs/") or ref == "HEAD"
        else [f"refs/{ref}", f"refs/tags/{ref}", f"refs/heads/{ref}"]
    )  # fmt: skip
    for name in candidates:
        for key in (f"{name}^{{}}", name):
            if key in refs:
                if name == "HEAD":
                    return refs[key], _branch_at(refs, refs[key])
                return refs[key], name
    resolved = resolve_ref(
        remote_url,
        ref,
        ssh_key_path=ssh_key_path,
        known_hosts_path=known_hosts_path,
        timeout=timeout,
        http_header=http_header,
    )
    return resolved, ref


def _branch_at(refs: dict[str, str], sha: str) -> str:
    branches = sorted(
        name for name, value in refs.items() if value == sha and name.startswith("refs/heads/")
    )
    for preferred in ("refs/heads/main", "refs/heads/master"):
        if preferred in branches:
            return preferred
    return branches[0] if branches else "HEAD"
