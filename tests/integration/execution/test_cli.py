"""The command line: ``danube run``, ``danube secret``, ``danube keys``, ``danube up``'s
example."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from adapters.sql.store import StoreConfig
from tests.integration.execution.conftest import make_repo
from tests.support import danube_env, free_port, http_get, wait_until


def danube(
    env: dict[str, str], *args: str, stdin: str = "", cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def test_danube_run_prints_the_live_log_and_exits_with_the_outcome(tmp_path: Path) -> None:
    env = danube_env(StoreConfig(kind="sqlite", data_dir=tmp_path / "data"))
    good, _ = make_repo(
        tmp_path / "good",
        """
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("echo compiling", name="compile")
    """,
    )
    result = danube(env, "run", str(good))
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
    result = danube(env, "run", str(bad))
    assert result.returncode == 1
    assert "broken" in result.stdout and "failure" in result.stderr


def test_danube_run_outside_a_repository_explains_itself(tmp_path: Path) -> None:
    env = danube_env(StoreConfig(kind="sqlite", data_dir=tmp_path / "data"))
    result = danube(env, "run", str(tmp_path))
    assert result.returncode == 2
    assert "is not a git repository" in result.stderr


def test_secrets_are_set_from_stdin_and_removed(tmp_path: Path) -> None:
    env = danube_env(StoreConfig(kind="sqlite", data_dir=tmp_path / "data"))
    result = danube(env, "secret", "set", "--pipeline", "web", "API_KEY", stdin="value-123\n")
    assert result.returncode == 0, result.stderr
    assert "value-123" not in result.stdout + result.stderr
    key_file = tmp_path / "data" / "master.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    events = (tmp_path / "data" / "events.sqlite3").read_bytes()
    assert b"value-123" not in events
    assert danube(env, "secret", "set", "bad key!", stdin="x").returncode == 1
    assert danube(env, "secret", "set", "EMPTY", stdin="").returncode == 1
    result = danube(env, "secret", "rm", "--pipeline", "web", "API_KEY")
    assert result.returncode == 0, result.stderr
    result = danube(env, "secret", "rm", "--pipeline", "web", "API_KEY")
    assert result.returncode == 1 and "no secret 'API_KEY'" in result.stderr


def test_a_master_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    env = danube_env(StoreConfig(kind="sqlite", data_dir=tmp_path / "data"))
    assert danube(env, "keys", "generate").returncode == 0
    assert danube(env, "keys", "generate").returncode == 1, "never overwritten by accident"
    os.chmod(tmp_path / "data" / "master.key", 0o644)
    result = danube(env, "secret", "set", "K", stdin="v")
    assert result.returncode == 1
    assert "master.key" in result.stderr and "644" in result.stderr


def test_up_runs_the_example_pipeline_on_first_start(tmp_path: Path) -> None:
    port = free_port()
    env = danube_env(
        StoreConfig(kind="sqlite", data_dir=tmp_path / "data"),
        DANUBE_BIND_ADDRESS=f"127.0.0.1:{port}",
        DANUBE_GRPC_ADDRESS="127.0.0.1:0",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "up"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def example_job() -> dict | None:  # type: ignore[type-arg]
            status, body = http_get(f"http://127.0.0.1:{port}/api/v1/jobs?pipeline=example")
            jobs = json.loads(body)["jobs"] if status == 200 else []
            return jobs[0] if jobs and jobs[0]["state"] in {"success", "failure"} else None

        job = wait_until(example_job, timeout=60, what="the example job to finish")
        assert job["state"] == "success"
        _status, log = http_get(f"http://127.0.0.1:{port}/api/v1/jobs/{job['id']}/logs")
        assert b"hello from" in log
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
