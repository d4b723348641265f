"""Workspaces cloned from a local mirror of their repository: each its own repository at
its exact commit, the mirror fetched only for commits it does not hold yet, and a clone
straight from the repository whenever the mirror cannot help."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from adapters.git.mirror import GitMirrors
from adapters.local import LocalExecutor
from domain.execution.ports import Phase
from tests.integration.git.origin import Origin, git
from tests.integration.local_executor.conftest import launch_of, wait_until_prepared
from tests.integration.local_executor.recorder import RecordingSink

Executors = Callable[..., LocalExecutor]
Sinks = Callable[[], RecordingSink]


def prepared(executor: LocalExecutor, repository: str, commit: str, sink: RecordingSink) -> Path:
    job = launch_of(repository, commit)
    executor.start(job, sink)
    status = wait_until_prepared(executor, job.job_id)
    assert status.phase is Phase.RUNNING, status.reason
    return executor.workspace(job.job_id)


def test_jobs_get_their_own_clone_of_the_mirror_at_their_commit(
    origin: Origin, executors: Executors, sinks: Sinks, tmp_path: Path
) -> None:
    first = origin.commit({"version.txt": "1\n"}, "one")
    origin.push()
    mirrors = GitMirrors(tmp_path / "mirrors")
    executor = executors(mirrors=mirrors)
    sink_a, sink_b = sinks(), sinks()
    a = prepared(executor, origin.file_url, first, sink_a)
    b = prepared(executor, origin.file_url, first, sink_b)
    mirror = mirrors.path(origin.file_url)
    for workspace, sink in ((a, sink_a), (b, sink_b)):
        assert "--shared <mirror of" in sink.system_text()
        assert git("rev-parse", "HEAD", cwd=workspace) == first
        assert git("remote", "get-url", "origin", cwd=workspace) == origin.file_url
        alternates = (workspace / ".git" / "objects" / "info" / "alternates").read_text()
        assert alternates.strip() == str(mirror / "objects")
    (a / "version.txt").write_text("changed by job a\n")
    git("-c", "user.name=a", "-c", "user.email=a@example.com", "commit", "-qam", "a", cwd=a)
    assert (b / "version.txt").read_text() == "1\n"  # each workspace is its own
    assert git("rev-parse", "HEAD", cwd=b) == first
    own = git("rev-parse", "HEAD", cwd=a)
    found = subprocess.run(["git", "cat-file", "-e", own], cwd=mirror, capture_output=True)
    assert found.returncode != 0  # a job's new objects stay in its own repository


def test_a_new_commit_is_fetched_into_the_mirror_once_pushed(
    origin: Origin, executors: Executors, sinks: Sinks, tmp_path: Path
) -> None:
    executor = executors(mirrors=GitMirrors(tmp_path / "mirrors"))
    first = origin.commit({"version.txt": "1\n"}, "one")
    origin.push()
    assert (prepared(executor, str(origin.bare), first, sinks()) / "version.txt").exists()
    second = origin.commit({"version.txt": "2\n"}, "two")
    origin.push()
    workspace = prepared(executor, str(origin.bare), second, sinks())
    assert (workspace / "version.txt").read_text() == "2\n"
    assert git("rev-parse", "HEAD", cwd=workspace) == second


def test_without_a_usable_mirror_the_repository_is_cloned_directly(
    origin: Origin, executors: Executors, sinks: Sinks, tmp_path: Path
) -> None:
    commit = origin.commit({"version.txt": "1\n"}, "one")
    origin.push()
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("mirrors cannot live under a file\n")
    sink = sinks()
    workspace = prepared(executors(mirrors=GitMirrors(blocked)), origin.file_url, commit, sink)
    assert git("rev-parse", "HEAD", cwd=workspace) == commit
    assert f"$ git clone {origin.file_url}" in sink.system_text()
    assert not (workspace / ".git" / "objects" / "info" / "alternates").exists()


def test_a_repository_path_with_quotes_and_backslashes_stays_the_origin(
    executors: Executors, sinks: Sinks, tmp_path: Path
) -> None:
    odd = Origin(tmp_path / 'odd "quoted" \\ name; #x')
    commit = odd.commit({"version.txt": "1\n"}, "one")
    odd.push()
    workspace = prepared(
        executors(mirrors=GitMirrors(tmp_path / "mirrors")), str(odd.bare), commit, sinks()
    )
    assert git("remote", "get-url", "origin", cwd=workspace) == str(odd.bare)
    assert (workspace / ".git" / "objects" / "info" / "alternates").exists()


def test_a_workspace_from_the_mirror_has_what_a_clone_of_it_has(
    origin: Origin, executors: Executors, sinks: Sinks, tmp_path: Path
) -> None:
    """Branches as origin/*, tags, a clean index and executable files, as ``git clone
    --shared`` of the mirror would leave them: a pipeline's own git commands see no
    difference."""
    origin.commit({"run.sh": "#!/bin/sh\necho hi\n", "docs/a.txt": "a\n"}, "one")
    (origin.work / "run.sh").chmod(0o755)
    git("add", "run.sh", cwd=origin.work)
    git("commit", "-qm", "executable", cwd=origin.work)
    origin.tag("v1", annotated=True)
    origin.push()
    origin.switch("feature/x")
    feature = origin.commit({"docs/b.txt": "b\n"}, "two")
    origin.push("feature/x")
    mirrors = GitMirrors(tmp_path / "mirrors")
    workspace = prepared(executors(mirrors=mirrors), origin.file_url, feature, sinks())
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--shared", "--no-checkout", str(mirrors.path(origin.file_url)),
         str(clone)], check=True)  # fmt: skip
    git("checkout", "-q", "--detach", feature, cwd=clone)
    refs = ["for-each-ref", "--format=%(refname) %(objectname) %(symref)"]
    assert git(*refs, cwd=workspace) == git(*refs, cwd=clone)
    assert "refs/remotes/origin/feature/x" in git(*refs, cwd=workspace)
    assert git("ls-files", "-s", cwd=workspace) == git("ls-files", "-s", cwd=clone)
    assert git("status", "--porcelain", cwd=workspace) == ""
    assert git("describe", "--tags", "origin/main", cwd=workspace) == "v1"
    assert os.access(workspace / "run.sh", os.X_OK)
    assert (workspace / "docs" / "b.txt").read_text() == "b\n"
