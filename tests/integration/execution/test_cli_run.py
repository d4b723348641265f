"""``danube run`` end to end as a user runs it: a subprocess on a real git repository,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path
from uuid import UUID

import pytest

from adapters.sql.store import StoreConfig
from domain.cause import Cause
from domain.ids import job_id_for, new_run_id
from domain.runs.application import RunRequest
from tests.integration.execution.cli_support import Cli, cli_for
from tests.integration.execution.conftest import make_repo
from tests.integration.execution.test_timeouts_and_cancel import alive, pids_of
from tests.support import wait_until

USER = Cause(actor="user:test", trigger="manual")
NOTHING = "from danube import pipeline\n@pipeline\ndef b(): pass\n"


@pytest.fixture
def cli(store_config: StoreConfig, tmp_path: Path) -> Cli:
    return cli_for(store_config, tmp_path)


def run_id_in(stderr: str) -> UUID:
    found = re.search(r"danube: run ([0-9a-f-]{36}) of", stderr)
    assert found, stderr
    return UUID(found.group(1))


def test_danube_run_prints_the_live_log_and_exits_with_the_outcome(
    cli: Cli, tmp_path: Path
) -> None:
    good, _ = make_repo(
        tmp_path / "good",
        """
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("echo compiling", name="compile")
    """,
    )
    result = cli("run", str(good))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "── step 1: compile\ncompiling\n── step 1 succeeded" in result.stdout
    assert "success in" in result.stderr

    bad, _ = make_repo(
        tmp_path / "bad",
        """
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("echo broken >&2; exit 4", name="test")
    """,
    )
    result = cli("run", str(bad))
    assert result.returncode == 1
    assert "broken" in result.stdout and "failure" in result.stderr


def test_a_run_is_named_after_the_danubefiles_pipeline_so_its_secrets_are_found(
    cli: Cli, tmp_path: Path
) -> None:
    assert cli("secret", "set", "TOKEN", stdin="global-value").returncode == 0
    assert cli("secret", "set", "--pipeline", "demo", "TOKEN", stdin="demo-value").returncode == 0
    repo, _ = make_repo(
        tmp_path / "checkout-of-something-else",
        """
        from danube import ctx, pipeline, secrets, step

        @pipeline(name="demo")
        def build() -> None:
            token = secrets.get("TOKEN")
            step.run('test "$T" = demo-value && echo "scoped to $P"', env={"T": token, "P": ctx.pipeline})
    """,
    )
    result = cli("run", str(repo))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "scoped to demo" in result.stdout
    assert " of demo at " in result.stderr
    assert "demo-value" not in result.stdout


def test_a_danubefile_with_several_pipelines_needs_pipeline(cli: Cli, tmp_path: Path) -> None:
    repo, _ = make_repo(
        tmp_path / "repo",
        """
        from danube import pipeline, step

        @pipeline(name="lint")
        def lint() -> None:
            step.run("echo linting")

        @pipeline
        def test() -> None:
            step.run("echo testing")
    """,
    )
    result = cli("run", str(repo))
    assert result.returncode == 2
    assert "several pipelines ('lint', 'test'); use --pipeline" in result.stderr
    result = cli("run", str(repo), "--pipeline", "test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "testing" in result.stdout and "linting" not in result.stdout
    result = cli("run", str(repo), "--pipeline", "deploy")
    assert result.returncode == 2 and "declares no pipeline 'deploy'" in result.stderr


def test_danube_run_while_draining_refuses_at_once_and_queues_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    repo, _ = make_repo(tmp_path / "repo", NOTHING)
    assert cli("drain").returncode == 0
    before = json.loads(cli("status").stdout)["event_store"]["position"]
    result = cli("run", str(repo), timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "danube run: Danube is draining: no new runs are accepted "
        "(danube undrain lets runs start again)"
    )
    status = json.loads(cli("status").stdout)
    assert status["event_store"]["position"] == before, "nothing was recorded"
    assert status["jobs"] == {"active": 0, "queued": 0}


def test_danube_run_says_why_its_run_waits_in_the_queue(cli: Cli, tmp_path: Path) -> None:
    blocker, commit = make_repo(
        tmp_path / "blocker",
        "from danube import pipeline, step\n@pipeline\ndef b():\n    step.run('sleep 300')\n",
    )
    blocker_run = new_run_id()
    with cli.danube() as danube:
        danube.runs.request_run(
            RunRequest(
                run_id=blocker_run,
                pipeline="blocker",
                repository=str(blocker),
                ref="refs/heads/main",
                commit_sha=commit,
                trigger={"type": "manual"},
                spec={},
            ),
            USER,
        )
    repo, _ = make_repo(tmp_path / "repo", NOTHING)
    running = cli.start("run", str(repo), DANUBE_MAX_CONCURRENT_JOBS="1")
    try:
        wait_until(
            lambda: "danube: queued: waiting for capacity: 1 of 1 jobs active" in running.err(),
            timeout=60,
            what="danube run to say why it waits",
        )
        with cli.danube() as danube:
            danube.runs.cancel_run(blocker_run, USER)
        assert running.wait(60) == 0, running.out() + running.err()
        assert "danube: no longer queued" in running.err()
    finally:
        running.stop()


INTERRUPTIBLE = """
    import os
    from danube import pipeline, step

    @pipeline(name="slow")
    def build() -> None:
        with open({pids!r}, "a") as pids:
            pids.write(f"{{os.getpid()}}\\n")  # the coordinator
        step.run("echo $$ >> {pids}; sleep 300 & echo $! >> {pids}; echo started; wait", name="s")
"""


@pytest.mark.parametrize(
    ("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "term"]
)
def test_interrupting_danube_run_cancels_the_job_and_ends_all_its_processes(
    cli: Cli, tmp_path: Path, signum: signal.Signals, exit_code: int
) -> None:
    pids = tmp_path / "pids"
    repo, _ = make_repo(tmp_path / "repo", INTERRUPTIBLE.format(pids=str(pids)))
    running = cli.start("run", str(repo))
    try:
        wait_until(
            lambda: len(pids_of(pids)) == 3 and "started" in running.out(),
            timeout=60,
            what="the coordinator, the step's shell and its child",
        )
        if signum == signal.SIGINT:
            running.signal_foreground(signum)  # Ctrl-C reaches the terminal's process group
        else:
            running.process.send_signal(signum)
        assert running.wait(60) == exit_code, running.err()
    finally:
        running.stop()
    assert not [pid for pid in pids_of(pids) if alive(pid)], "every process of the job ended"
    assert not list((cli.data_dir / "workspaces").iterdir()), "the workspace is removed"
    assert running.out().count("── step 1: s\n") == 1, "the log is not printed again"
    assert running.out().count("started\n") == 1
    assert f"danube: {signum.name}: cancelling" in running.err()
    job_id = job_id_for(run_id_in(running.err()), "main")
    with cli.danube() as danube:
        job = danube.views.job(job_id)
        assert job is not None and job.state == "cancelled"


def test_danube_run_explains_what_it_cannot_run_in_one_line(cli: Cli, tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path / "repo", NOTHING)
    (tmp_path / "repo" / "sub").mkdir()
    uncommitted = tmp_path / "uncommitted"
    make_repo(uncommitted, "# committed")
    (uncommitted / "ci.py").write_text("from danube import pipeline\n")
    cases = {
        "not a git repository": [str(tmp_path / "plain")],
        "no branch, tag or commit 'nope'": [str(repo), "--ref", "nope"],
        "no ci.py in": [str(uncommitted), "--script", "ci.py"],
        "inside": [str(repo / "sub")],
    }
    (tmp_path / "plain").mkdir()
    for expected, args in cases.items():
        result = cli("run", *args, timeout=60)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("danube run: "), result.stderr
        assert expected in lines[0]


def test_danube_run_help_says_how_the_pipeline_is_named_and_where_grpc_listens(
    tmp_path: Path,
) -> None:
    text = cli_for(StoreConfig(kind="sqlite", data_dir=tmp_path), tmp_path)("run", "--help").stdout
    assert "@pipeline(name=...)" in text and "repository directory's name" in text
    assert "DANUBE_GRPC_ADDRESS" in text and "127.0.0.1" in text
    assert "130 (SIGINT) or 143 (SIGTERM)" in " ".join(text.split())
