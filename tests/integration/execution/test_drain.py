"""``danube drain [--wait] [--timeout] [--force]``, ``undrain`` and ``status``: draining is
an event (it survives a restart), ``--wait`` reports running jobs until none is left or
the timeout passes, ``--force`` then cancels them with the drain as the cause."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

from adapters.sql.store import StoreConfig
from api.bootstrap import build
from domain.cause import Cause
from domain.runs.aggregates import Run
from tests.integration.execution.cli_support import Cli, cli_for
from tests.integration.execution.conftest import Embedded, settings_for
from tests.support import wait_until

SLEEPER = """
    from danube import pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        step.run("sleep 300", name="long")
"""
QUICK = """
    from danube import pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        step.run("true")
"""


def status(cli: Cli) -> dict[str, Any]:
    result = cli("status")
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def running(embedded: Embedded, job_id: object) -> bool:
    steps = embedded.danube.views.steps(job_id)  # type: ignore[arg-type]
    return bool(steps) and steps[0].state == "running"


def test_draining_survives_a_restart_and_status_says_since_when_by_whom_and_what_waits(
    store_config: StoreConfig, tmp_path: Path
) -> None:
    cli = cli_for(store_config, tmp_path)
    result = cli("drain")
    assert result.returncode == 0, result.stderr
    assert "draining" in result.stdout
    report = status(cli)
    assert report["draining"] is True
    assert report["drain"]["by"] == f"cli:{getpass.getuser()}"
    assert report["drain"]["since"].startswith("20")
    # A restarted server: still draining, so a requested job waits in the queue.
    danube = build(settings_for(store_config, tmp_path / "data"))
    try:
        assert danube.system.is_draining()
        assert danube.system.get().drain_since is not None
    finally:
        danube.close()
    assert cli("undrain").returncode == 0
    report = status(cli)
    assert (report["draining"], report["drain"]) == (False, None)
    assert report["running_jobs"] == [] and report["queued_jobs"] == []


def test_status_lists_running_and_queued_jobs_and_wait_ends_when_none_runs(
    embedded: Embedded, tmp_path: Path
) -> None:
    cli = cli_for_embedded(embedded, tmp_path)
    run_id, job_id = embedded.request(SLEEPER)
    wait_until(lambda: running(embedded, job_id), timeout=60, what="the step to run")
    assert cli("drain").returncode == 0
    _, queued_id = embedded.request(QUICK)
    wait_until(lambda: embedded.danube.views.job(queued_id), what="the queued job's row")
    report = status(cli)
    assert [job["id"] for job in report["running_jobs"]] == [job_id.hex]
    assert [job["id"] for job in report["queued_jobs"]] == [queued_id.hex]
    assert report["running_jobs"][0]["pipeline"] == "demo"
    result = cli("drain", "--wait", "--timeout", "1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "waiting for 1 job" in result.stdout and job_id.hex in result.stdout
    assert "still running after 1s" in result.stdout
    assert embedded.state(queued_id) == "pending", "nothing starts while draining"
    embedded.danube.runs.cancel_run(run_id, Cause(actor="user:test"))
    result = cli("drain", "--wait")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no job is running" in result.stdout


def test_force_after_the_timeout_cancels_what_remains_with_the_drain_as_its_cause(
    embedded: Embedded, tmp_path: Path
) -> None:
    cli = cli_for_embedded(embedded, tmp_path)
    run_id, job_id = embedded.request(SLEEPER)
    wait_until(lambda: running(embedded, job_id), timeout=60, what="the step to run")
    result = cli("drain", "--timeout", "1", "--force")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "waiting for 1 job" in result.stdout
    assert "cancelling 1 job (cause: the drain)" in result.stdout
    assert "no job is running" in result.stdout
    assert embedded.finished(job_id).state == "cancelled"
    causes = [
        event.cause
        for event in embedded.danube.store.log.events.get(run_id)
        if isinstance(event, Run.CancelRequested)
    ]
    assert len(causes) == 1
    assert causes[0]["actor"] == "system:drain"
    assert f"drain by cli:{getpass.getuser()} since " in causes[0]["reason"]
    assert "1s after danube drain --force" in causes[0]["reason"]


def test_a_negative_timeout_is_refused_before_anything_changes(
    store_config: StoreConfig, tmp_path: Path
) -> None:
    cli = cli_for(store_config, tmp_path)
    result = cli("drain", "--timeout", "-1")
    assert result.returncode == 2
    assert "--timeout must be 0 or more seconds" in result.stderr
    assert status(cli)["draining"] is False


def cli_for_embedded(embedded: Embedded, tmp_path: Path) -> Cli:
    return cli_for(embedded.danube.store.config, tmp_path)
