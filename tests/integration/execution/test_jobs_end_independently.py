"""Jobs are reconciled each on their own: one that is slow to end (a step ignoring
SIGTERM keeps its cancel waiting for the kill grace period) holds up no other job."""

from __future__ import annotations

from pathlib import Path

from domain.cause import Cause
from tests.integration.execution.conftest import Embedded
from tests.support import wait_until

STUBBORN = """
    from danube import pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        step.run("trap '' TERM; touch {started}; while true; do sleep 0.1; done")
"""

QUICK = """
    from danube import pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        step.run("true")
"""


def test_a_job_slow_to_end_holds_up_no_other_job(embedded: Embedded, tmp_path: Path) -> None:
    started = tmp_path / "started"
    slow_run, slow_job = embedded.request(STUBBORN.format(started=started))
    wait_until(started.exists, timeout=60, what="the stubborn step to start")
    embedded.danube.runs.cancel_run(slow_run, Cause(actor="user:alice"))
    wait_until(
        lambda: (job := embedded.danube.views.job(slow_job)) and job.cancel_requested,
        timeout=30,
        what="the cancel to be seen",
    )
    _, quick_job = embedded.request(QUICK)
    quick = embedded.finished(quick_job, timeout=60)
    assert quick.state == "success"
    assert embedded.state(slow_job) == "running"  # still waiting for its grace period
    assert embedded.finished(slow_job, timeout=60).state == "cancelled"
