"""What a job's steps get once the job failed or was stopped."""

from __future__ import annotations

import uuid

from adapters.kubernetes.job import PodJob
from domain.execution.ports import JobStatus, Phase
from domain.ids import JobId
from domain.runs.states import StepState


def job() -> PodJob:
    return PodJob(JobId(uuid.uuid4()), "danube-jobs")


def test_steps_of_a_job_stopped_because_it_failed_fail_with_its_reason() -> None:
    record = job()
    record.fail("the worker container was OOMKilled (exit code 137)")
    record.stop("the job failed", JobStatus(Phase.FAILED, reason="OOMKilled"))
    verdict = record.step_verdict()
    assert verdict is not None and verdict.state == StepState.FAILURE
    assert verdict.reason == "the job failed: the worker container was OOMKilled (exit code 137)"


def test_steps_of_a_job_stopped_while_it_ran_are_cancelled() -> None:
    record = job()
    record.stop("cancelled by alice", None)
    verdict = record.step_verdict()
    assert verdict is not None and (verdict.state, verdict.reason) == (
        StepState.CANCELLED,
        "cancelled by alice",
    )


def test_a_job_that_failed_after_it_was_stopped_keeps_its_steps_cancelled() -> None:
    record = job()
    record.observe({"metadata": {"name": record.pod}})
    record.stop("cancelled by alice", None)
    record.observe(None)  # its pod went, as asked: not a failure
    verdict = record.step_verdict()
    assert verdict is not None and verdict.state == StepState.CANCELLED
