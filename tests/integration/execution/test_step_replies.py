"""RunStep replies when the step's end is recorded, not at its next poll of the log."""

from __future__ import annotations

import pytest

from api.grpc import steps
from tests.integration.execution.conftest import Embedded

TEN_QUICK_STEPS = """
    from danube import pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        for _ in range(10):
            step.run("true")
"""


def test_a_step_result_is_sent_as_soon_as_the_step_end_is_recorded(
    embedded: Embedded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(steps, "POLL_SECONDS", 30.0)  # only a wakeup can answer in time
    _, job_id = embedded.request(TEN_QUICK_STEPS)
    job = embedded.finished(job_id, timeout=25)
    assert job.state == "success"
    assert [s.state for s in embedded.danube.views.steps(job_id)] == ["success"] * 10
