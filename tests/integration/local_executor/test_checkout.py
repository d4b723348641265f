"""Preparing a job: clone, checkout of the exact commit, and clear failures."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapters.local import LocalExecutor
from domain.execution.ports import Phase, StepLaunch
from domain.runs.states import StepState
from tests.integration.git.http_server import serve_git
from tests.integration.git.origin import Origin, git
from tests.integration.local_executor.conftest import launch_of, wait_until_prepared
from tests.integration.local_executor.recorder import RecordingSink
from tests.support import stop_accepting

Executors = Callable[..., LocalExecutor]
Sinks = Callable[[], RecordingSink]


def prepare(executor: LocalExecutor, sink: RecordingSink, repository: str, commit: str,
            ref: str = "main"):  # fmt: skip
    job = launch_of(repository, commit, ref)
    executor.start(job, sink)
    return job, wait_until_prepared(executor, job.job_id)


def test_the_workspace_holds_the_exact_commit_not_the_branch_tip(
    origin: Origin, executors: Executors, sinks: Sinks
) -> None:
    older = origin.commit({"version.txt": "1\n"}, "one")
    origin.commit({"version.txt": "2\n"}, "two")
    origin.push()
    executor = executors()
    job, status = prepare(executor, sinks(), origin.file_url, older)
    assert status.phase is Phase.RUNNING
    workspace = executor.workspace(job.job_id)
    assert workspace == executor._root / job.job_id.hex
    assert (workspace / "version.txt").read_text() == "1\n"
    assert git("rev-parse", "HEAD", cwd=workspace) == older


def test_a_commit_on_another_branch_is_checked_out(
    origin: Origin, executors: Executors, sinks: Sinks
) -> None:
    origin.switch("feature")
    commit = origin.commit({"feature.txt": "feature\n"}, "feature")
    origin.push("feature")
    executor = executors()
    job, status = prepare(executor, sinks(), str(origin.bare), commit, ref="feature")
    assert status.phase is Phase.RUNNING
    assert (executor.workspace(job.job_id) / "feature.txt").read_text() == "feature\n"


@pytest.mark.parametrize("ref", ["refs/pull/1/head", ""])
def test_a_commit_only_reachable_by_a_pull_request_ref_is_fetched(
    origin: Origin, executors: Executors, sinks: Sinks, ref: str
) -> None:
    origin.switch("contributor")
    commit = origin.commit({"pr.txt": "from a fork\n"}, "pr")
    git("push", "--quiet", "origin", "HEAD:refs/pull/1/head", cwd=origin.work)
    executor = executors()
    sink = sinks()
    job, status = prepare(executor, sink, origin.file_url, commit, ref=ref)
    assert status.phase is Phase.RUNNING, status.reason
    assert (executor.workspace(job.job_id) / "pr.txt").read_text() == "from a fork\n"
    assert f"$ git fetch {origin.file_url} {ref or commit}" in sink.system_text()


def test_preparing_writes_the_clone_and_a_no_isolation_warning(
    origin: Origin, executors: Executors, sinks: Sinks
) -> None:
    commit = origin.commit({}, "empty")
    origin.push()
    sink = sinks()
    prepare(executors(), sink, origin.file_url, commit)
    text = sink.system_text()
    assert "isolates nothing" in text
    assert f"$ git clone {origin.file_url} (commit {commit[:7]})\n" in text


def test_an_unreachable_repository_fails_with_git_s_reason(
    tmp_path: Path, executors: Executors, sinks: Sinks
) -> None:
    missing = tmp_path / "nowhere.git"
    sink = sinks()
    _, status = prepare(executors(), sink, str(missing), "a" * 40)
    assert status.phase is Phase.FAILED
    assert status.reason.startswith(f"could not clone {missing}: fatal: ")
    assert "does not exist" in status.reason or "not a git repository" in status.reason
    assert status.reason in sink.system_text()


def test_credentials_in_the_url_never_show(executors: Executors, sinks: Sinks) -> None:
    url = "http://deploy:hunter2secret@127.0.0.1:9/team/app.git"
    sink = sinks()
    _, status = prepare(executors(), sink, url, "b" * 40)
    assert status.phase is Phase.FAILED
    assert "http://***@127.0.0.1:9/team/app.git" in status.reason
    assert "Failed to connect" in status.reason or "Couldn't connect" in status.reason
    assert b"hunter2secret" not in sink.everything()
    assert "hunter2secret" not in status.reason


def test_an_unknown_commit_fails_naming_commit_and_repository(
    origin: Origin, executors: Executors, sinks: Sinks
) -> None:
    unknown = "0123456789abcdef0123456789abcdef01234567"
    _, status = prepare(executors(), sinks(), origin.file_url, unknown)
    assert status.phase is Phase.FAILED
    assert status.reason.startswith(f"commit {unknown} not found in {origin.file_url}: ")


@pytest.mark.parametrize(("commit", "ref"), [("--upload-pack=x", "main"), ("a" * 40, "--x")])
def test_options_smuggled_as_commit_or_ref_are_refused(
    origin: Origin, executors: Executors, sinks: Sinks, commit: str, ref: str
) -> None:
    _, status = prepare(executors(), sinks(), origin.file_url, commit, ref)
    assert status.phase is Phase.FAILED
    assert status.reason.startswith("invalid ")


def test_a_stale_workspace_of_an_earlier_server_process_is_replaced(
    origin: Origin, executors: Executors, sinks: Sinks
) -> None:
    commit = origin.commit({"fresh.txt": "fresh\n"}, "fresh")
    origin.push()
    executor = executors()
    job = launch_of(origin.file_url, commit)
    stale = executor.workspace(job.job_id)
    (stale / "leftover").mkdir(parents=True)
    executor.start(job, sinks())
    assert wait_until_prepared(executor, job.job_id).phase is Phase.RUNNING
    assert (stale / "fresh.txt").exists()
    assert not (stale / "leftover").exists()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """An HTTP 'server' that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/repo.git"
    stop_accepting(listener, thread)
    for connection in accepted:
        connection.close()


def test_a_hanging_clone_times_out(silent_server: str, executors: Executors, sinks: Sinks) -> None:
    started = time.monotonic()
    _, status = prepare(executors(git_timeout_seconds=1.0), sinks(), silent_server, "c" * 40)
    assert status.phase is Phase.FAILED
    assert status.reason == f"could not clone {silent_server}: fatal: git clone timed out after 1s"
    assert time.monotonic() - started < 10


def test_start_returns_at_once_and_stop_ends_a_hanging_clone(
    silent_server: str, executors: Executors, sinks: Sinks
) -> None:
    executor = executors()
    job = launch_of(silent_server, "d" * 40)
    started = time.monotonic()
    executor.start(job, sinks())
    assert time.monotonic() - started < 0.5
    assert executor.status(job.job_id).phase is Phase.PREPARING
    executor.stop(job.job_id, "cancelled by alice")
    status = executor.status(job.job_id)
    assert status.phase is Phase.FAILED
    assert status.reason == "stopped while preparing: cancelled by alice"


def test_a_relative_local_path_means_relative_to_the_server_s_directory(
    origin: Origin, executors: Executors, sinks: Sinks, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = origin.commit({"local.txt": "local\n"}, "local")
    origin.push()
    monkeypatch.chdir(origin.bare.parent.parent)
    relative = f"{origin.bare.parent.name}/{origin.bare.name}"
    executor = executors()
    job, status = prepare(executor, sinks(), relative, commit)
    assert status.phase is Phase.RUNNING, status.reason
    assert (executor.workspace(job.job_id) / "local.txt").read_text() == "local\n"


@pytest.fixture
def http_base(origin: Origin) -> Iterator[str]:
    """``http://127.0.0.1:PORT/origin.git`` behind basic auth (user ``ci``)."""
    with serve_git(origin.bare.parent, "ci", "s3cret-pass") as base:
        yield f"{base}/{origin.bare.name}"


def test_an_authenticated_https_clone_fetches_a_pull_request_and_keeps_no_credentials(
    origin: Origin, http_base: str, executors: Executors, sinks: Sinks
) -> None:
    origin.switch("contributor")
    commit = origin.commit({"pr.txt": "over http\n"}, "pr")
    git("push", "--quiet", "origin", "HEAD:refs/pull/7/head", cwd=origin.work)
    url = http_base.replace("http://", "http://ci:s3cret-pass@")
    executor, sink = executors(), sinks()
    job, status = prepare(executor, sink, url, commit, ref="refs/pull/7/head")
    assert status.phase is Phase.RUNNING, status.reason
    workspace = executor.workspace(job.job_id)
    assert (workspace / "pr.txt").read_text() == "over http\n"
    assert git("remote", "get-url", "origin", cwd=workspace) == http_base
    assert b"s3cret-pass" not in sink.everything()
    assert "http://***@127.0.0.1" in sink.system_text()


def test_wrong_credentials_fail_at_once_without_a_prompt(
    origin: Origin, http_base: str, executors: Executors, sinks: Sinks
) -> None:
    url = http_base.replace("http://", "http://ci:wrong@")
    _, status = prepare(executors(), sinks(), url, "e" * 40)
    assert status.phase is Phase.FAILED
    assert status.reason.startswith(
        f"could not clone {http_base.replace('http://', 'http://***@')}"
    )
    assert "Authentication failed" in status.reason


def test_a_step_of_a_job_whose_checkout_failed_fails_without_running(
    tmp_path: Path, executors: Executors, sinks: Sinks
) -> None:
    executor = executors()
    job, status = prepare(executor, sinks(), str(tmp_path / "missing.git"), "f" * 40)
    assert status.phase is Phase.FAILED
    step = StepLaunch(1, "build", "touch /nonexistent-dir/ran")
    outcome = executor.run_step(job.job_id, step, sinks())
    assert (outcome.state, outcome.exit_code) == (StepState.FAILURE, None)
    assert outcome.reason == f"job failed: {status.reason}"
