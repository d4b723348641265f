"""``danube runs``, ``logs``, ``cancel`` and ``rerun`` as scripts use them: real
processes talking to a live server over its API."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.integration.execution.conftest import Embedded
from tests.support import auth_headers, wait_until


def bearer(url: str) -> str:
    return auth_headers(url).get("Authorization", "").removeprefix("Bearer ")


PASSING = "from danube import pipeline, step\n@pipeline(name='demo')\ndef b() -> None: step.run('echo hello from the job')\n"
LONG = "from danube import pipeline, step\n@pipeline(name='demo')\ndef b() -> None: step.run('sleep 300')\n"


def danube(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args, "--server", url],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "DANUBE_LOG_LEVEL": "error",
            "DANUBE_DATA_DIR": "/tmp/danube-cli-client",
            **({"DANUBE_TOKEN": token} if (token := bearer(url)) else {}),
        },
    )


def test_runs_logs_and_rerun_for_people_and_scripts(embedded: Embedded, url: str) -> None:
    run_id, job_id = embedded.request(PASSING, pipeline="cli")
    embedded.finished(job_id)
    listed = danube(url, "runs", "--pipeline", "cli", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(r["id"], r["state"]) for r in json.loads(listed.stdout)] == [(run_id.hex, "SUCCESS")]
    table = danube(url, "runs", "--pipeline", "cli").stdout.splitlines()
    assert table[0].split()[:2] == ["RUN", "PIPELINE"] and run_id.hex in table[1]

    log = danube(url, "logs", job_id.hex)
    assert "hello from the job" in log.stdout
    followed = danube(url, "logs", job_id.hex, "--follow")
    assert followed.returncode == 0 and followed.stdout == log.stdout

    again = danube(url, "rerun", run_id.hex, "--only-failed", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["jobs"][0]["reusedFrom"] == job_id.hex


def test_cancel_by_run_or_job_and_refusals_exit_non_zero(embedded: Embedded, url: str) -> None:
    run_id, job_id = embedded.request(LONG, pipeline="cli")
    wait_until(lambda: embedded.state(job_id) == "running", timeout=60, what="the job to run")
    cancelled = danube(url, "cancel", job_id.hex)
    assert cancelled.returncode == 0, cancelled.stderr
    assert embedded.finished(job_id).state == "cancelled"
    refused = danube(url, "cancel", run_id.hex)
    assert refused.returncode == 1 and "already finished" in refused.stderr
    missing = danube(url, "rerun", "0" * 32)
    assert missing.returncode == 1 and "no run" in missing.stderr
    unreachable = danube("http://127.0.0.1:9", "runs")
    assert unreachable.returncode == 1 and "cannot reach the server" in unreachable.stderr
