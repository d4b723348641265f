"""The pool of warm coordinators seen from the executor: a broken warm coordinator is
never handed a job (the job starts cold), and a warm one runs the job's coordinator in
the job's workspace with the job's environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from adapters.local import LocalExecutor
from domain.execution.ports import Phase
from tests.integration.git.origin import Origin
from tests.integration.local_executor.conftest import (
    GRACE,
    SLEEPING_COORDINATOR,
    launch_of,
    python,
    wait_until_prepared,
)
from tests.integration.local_executor.recorder import RecordingSink
from tests.support import wait_until

# Reads the job like the SDK's warm coordinator, then says where it runs and with what.
WARM = """
import json, os, sys
job = json.loads(sys.stdin.readline())
os.chdir(job["cwd"])
print("warm in", os.getcwd(), "for", job["env"]["WHO"], flush=True)
import time; time.sleep(300)
"""


def _idle(root: Path) -> bool:
    """Whether a process runs in ``root`` (where idle warm coordinators wait)."""
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.readlink(entry / "cwd") == str(root):
                return True
        except OSError:
            continue
    return False


def test_a_warm_coordinator_that_died_idle_is_not_used_and_the_job_starts_cold(
    origin: Origin, tmp_path: Path
) -> None:
    broken = [sys.executable, "-c", "import sys; print('broken'); sys.exit(3)"]
    executor = LocalExecutor(
        tmp_path / "workspaces",
        coordinator_command=python(SLEEPING_COORDINATOR),
        warm_command=broken,
        warm_coordinators=1,
        kill_grace_seconds=GRACE,
    )
    try:
        job = launch_of(origin.file_url, origin.commit({}, "one"))
        origin.push()
        sink = RecordingSink()
        executor.start(job, sink)
        assert wait_until_prepared(executor, job.job_id).phase is Phase.RUNNING
        wait_until(lambda: b"coordinator up" in sink.everything(), timeout=30, what="cold")
        assert b"broken" not in sink.everything()
    finally:
        executor.close()


def test_a_warm_coordinator_is_handed_the_jobs_workspace_and_environment(
    origin: Origin, tmp_path: Path
) -> None:
    executor = LocalExecutor(
        tmp_path / "workspaces",
        coordinator_command=python(SLEEPING_COORDINATOR),
        warm_command=python(WARM),
        warm_coordinators=1,
        kill_grace_seconds=GRACE,
    )
    try:
        wait_until(lambda: _idle(tmp_path / "workspaces"), timeout=60, what="an idle one")
        job = launch_of(origin.file_url, origin.commit({}, "one"), env={"WHO": "job-a"})
        origin.push()
        sink = RecordingSink()
        executor.start(job, sink)
        assert wait_until_prepared(executor, job.job_id).phase is Phase.RUNNING
        said = f"warm in {executor.workspace(job.job_id)} for job-a".encode()
        wait_until(lambda: said in sink.everything(), timeout=60, what="the warm coordinator")
        executor.stop(job.job_id, "test over")
        assert executor.status(job.job_id).phase is Phase.EXITED
    finally:
        executor.close()
