"""The command line: ``danube secret``, ``danube keys``, ``danube up``'s example, and how
every command reports an expected start-up problem. On SQLite and on PostgreSQL.
``danube run`` has its own module (test_cli_run.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.sql.store import StoreConfig
from tests.integration.execution.cli_support import Cli, cli_for
from tests.integration.execution.conftest import make_repo
from tests.support import free_port, http_get, sign_in, wait_until

HELLO = """
    from danube import pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        step.run("echo hello", name="hello")
"""


@pytest.fixture
def cli(store_config: StoreConfig, tmp_path: Path) -> Cli:
    return cli_for(store_config, tmp_path)


def one_line_refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a refused command printed; fails on a traceback."""
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_secrets_are_set_from_stdin_and_removed(cli: Cli) -> None:
    result = cli("secret", "set", "--pipeline", "web", "API_KEY", stdin="value-123\n")
    assert result.returncode == 0, result.stderr
    assert "value-123" not in result.stdout + result.stderr
    assert (cli.data_dir / "master.key").stat().st_mode & 0o777 == 0o600
    assert b"value-123" not in cli.stored_events()
    assert cli("secret", "set", "bad key!", stdin="x").returncode == 1
    assert cli("secret", "set", "EMPTY", stdin="").returncode == 1
    result = cli("secret", "rm", "--pipeline", "web", "API_KEY")
    assert result.returncode == 0, result.stderr
    result = cli("secret", "rm", "--pipeline", "web", "API_KEY")
    assert result.returncode == 1 and "no secret 'API_KEY'" in result.stderr


EVERY_KIND_OF_COMMAND = {  # the arguments, and the command the refusal names
    "secret set K": "secret set",
    "run": "run",
    "up": "up",
    "trigger app": "trigger",
}  # status, drain, undrain, migrate, replay, projector, dispatcher never read the key


@pytest.mark.parametrize(("command", "named"), EVERY_KIND_OF_COMMAND.items())
def test_a_master_key_readable_by_others_is_refused_by_every_command_using_it_in_one_line(
    cli: Cli, tmp_path: Path, command: str, named: str
) -> None:
    repo, _ = make_repo(tmp_path / "repo", HELLO)
    assert cli("keys", "generate").returncode == 0
    assert cli("keys", "generate").returncode == 1, "never overwritten by accident"
    os.chmod(cli.data_dir / "master.key", 0o644)
    args = [*command.split(), str(repo)] if command == "run" else command.split()
    result = cli(*args, stdin="v", timeout=60)
    assert result.returncode == 1
    line = one_line_refusal(result)
    assert line.startswith(f"danube {named}: ")
    assert "master.key" in line and "0644" in line and "chmod 600" in line


@pytest.mark.parametrize("command", [["run"], ["status"], ["up"]], ids=" ".join)
def test_a_bad_setting_is_refused_in_one_line_with_exit_2(cli: Cli, command: list[str]) -> None:
    result = cli(*command, DANUBE_MAX_CONCURRENT_JOBS="0", timeout=60)
    assert result.returncode == 2
    assert "DANUBE_MAX_CONCURRENT_JOBS" in one_line_refusal(result)


def test_an_unreachable_event_store_is_reported_in_one_line(tmp_path: Path) -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    cli = cli_for(StoreConfig(kind="postgres", database_url=closed, schema="nowhere"), tmp_path)
    result = cli("status", timeout=60)
    assert result.returncode == 3  # not 1: replay --check uses 1 for differences
    assert "cannot use the event store" in one_line_refusal(result)


def test_a_data_directory_that_cannot_be_created_is_reported_in_one_line(cli: Cli) -> None:
    blocker = cli.data_dir.parent / "a-file"
    blocker.write_text("not a directory")
    result = cli("status", DANUBE_DATA_DIR=str(blocker / "data"), timeout=60)
    assert result.returncode == 1
    assert "cannot create the data directory" in one_line_refusal(result)


def test_up_runs_the_example_pipeline_on_first_start(cli: Cli) -> None:
    port = free_port()
    listen = {"DANUBE_BIND_ADDRESS": f"127.0.0.1:{port}", "DANUBE_GRPC_ADDRESS": "127.0.0.1:0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "up"],
        env=cli.env | listen,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # After start-up: a token is an event, and the example runs on an empty log only.
        wait_until(lambda: http_get(f"http://127.0.0.1:{port}/health")[0] == 200, timeout=60)
        minted = subprocess.run(
            [sys.executable, "-m", "api.cli", "token", "create", "admin"],
            env=cli.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert minted.returncode == 0, minted.stderr
        sign_in(f"http://127.0.0.1:{port}", token=minted.stdout.strip())

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
