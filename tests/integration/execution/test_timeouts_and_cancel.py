"""Job timeouts, step timeouts and cancel end the processes and record the right state."""

from __future__ import annotations

from pathlib import Path

from domain.cause import Cause
from domain.ids import JobId
from tests.integration.execution.conftest import Embedded
from tests.support import wait_until

LONG_STEP = """
    import os
    from danube import pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        with open({pids!r}, "a") as pids:
            pids.write(f"{{os.getpid()}}\\n")  # the coordinator
        step.run("echo $$ >> {pids}; sleep 300 & echo $! >> {pids}; wait"{extra})
"""


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie runs nothing


def pids_of(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def assert_nothing_left(embedded: Embedded, job_id: JobId, pids: Path) -> None:
    """The coordinator, the step's shell and its background child have ended, and the
    job's workspace is gone."""
    wait_until(
        lambda: not [pid for pid in pids_of(pids) if alive(pid)],
        timeout=10,
        what="the job's processes to end",
    )
    workspace = embedded.tmp / "data" / "workspaces" / job_id.hex
    wait_until(lambda: not workspace.exists(), what="the workspace to be removed")


def test_a_job_over_its_max_duration_times_out_and_its_processes_end(
    embedded: Embedded, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    _, job_id = embedded.request(LONG_STEP.format(pids=str(pids), extra=""), max_duration_seconds=2)
    wait_until(lambda: len(pids_of(pids)) == 3, what="the job's processes")
    job = embedded.finished(job_id, timeout=30)
    assert job.state == "timeout"
    assert "max_duration_seconds (2s)" in job.reason
    assert_nothing_left(embedded, job_id, pids)
    assert [s.state for s in embedded.danube.views.steps(job_id)] == ["timeout"]


def test_a_step_over_its_timeout_times_out(embedded: Embedded, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    _, job_id = embedded.request(LONG_STEP.format(pids=str(pids), extra=", timeout=1"))
    job = embedded.finished(job_id, timeout=30)
    step = embedded.danube.views.steps(job_id)[0]
    assert (step.state, step.exit_code) == ("timeout", None)
    assert job.state == "timeout"
    assert len(pids_of(pids)) == 3, "the coordinator, the step's shell and its child ran"
    assert_nothing_left(embedded, job_id, pids)


def test_cancelling_during_a_long_step_ends_everything(embedded: Embedded, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    run_id, job_id = embedded.request(LONG_STEP.format(pids=str(pids), extra=""))
    wait_until(lambda: len(pids_of(pids)) == 3, what="the job's processes")
    embedded.danube.runs.cancel_run(run_id, Cause(actor="user:alice"))
    job = embedded.finished(job_id, timeout=30)
    assert job.state == "cancelled"
    assert embedded.danube.views.run(run_id).state == "cancelled"  # type: ignore[union-attr]
    assert_nothing_left(embedded, job_id, pids)


def test_cancelling_a_queued_run_never_starts_it(embedded: Embedded) -> None:
    embedded.danube.system.start_draining(Cause(actor="user:ops"))
    run_id, job_id = embedded.request(
        "from danube import pipeline\n@pipeline(name='demo')\ndef b() -> None: pass\n"
    )
    wait_until(
        lambda: (
            (r := embedded.danube.views.run(run_id)) is not None and "draining" in r.waiting_reason
        ),
        what="the run to wait because of draining",
    )
    embedded.danube.runs.cancel_run(run_id, Cause(actor="user:alice"))
    assert embedded.finished(job_id).state == "cancelled"
    assert embedded.danube.views.job(job_id).started_at is None  # type: ignore[union-attr]
