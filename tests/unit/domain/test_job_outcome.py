"""How a job ended is decided once, by the run (``domain.runs.outcome``): from its
coordinator's report, the step that failed, and the exit code of its processes."""

from __future__ import annotations

import pytest

from danube._proto.v1 import job_service_pb2 as pb
from danube.coordinator import _main as coordinator
from domain.ids import JobId
from domain.runs.aggregates import Run
from domain.runs.outcome import CoordinatorExit, Ending
from domain.runs.states import JobState, StepState
from tests.unit.domain.test_run_state_machine import ALICE, new_run


def running_step() -> tuple[Run, JobId]:
    run, (job,) = new_run()
    run.schedule_job(job, ALICE)
    run.start_job(job, ALICE)
    run.start_step(job, 1, name="tests", command="make test")
    return run, job


def test_the_exit_codes_are_the_protocols_and_the_sdk_exits_with_them() -> None:
    proto = {
        name.removeprefix("COORDINATOR_EXIT_"): value for name, value in pb.CoordinatorExit.items()
    }
    assert {code.name: code.value for code in CoordinatorExit} == proto
    assert (coordinator.EXIT_SUCCESS, coordinator.EXIT_FAILURE) == (0, 1)
    assert coordinator.EXIT_INFRASTRUCTURE == CoordinatorExit.INFRASTRUCTURE


def test_a_failure_reported_for_a_step_that_timed_out_is_the_jobs_timeout() -> None:
    run, job = running_step()
    run.finish_step(job, 1, state=StepState.TIMEOUT, exit_code=None, log_offset=0)
    run.record_report(job, False, "step 'tests' timed out", failed_step=1)
    assert run.jobs[job].report == (JobState.TIMEOUT, "step 'tests' timed out")
    assert run.ending_after_exit(job, 1, "") == Ending(JobState.TIMEOUT, "step 'tests' timed out")


def test_a_failure_reported_for_a_step_that_failed_is_a_failure() -> None:
    run, job = running_step()
    run.finish_step(job, 1, state=StepState.FAILURE, exit_code=2, log_offset=0)
    run.record_report(job, False, "", failed_step=1)
    assert run.ending_after_exit(job, 1, "") == Ending(JobState.FAILURE, "the pipeline failed")


def test_the_report_decides_whatever_the_exit_code_says() -> None:
    run, job = running_step()
    run.record_report(job, True, "")
    assert run.ending_after_exit(job, 137, "OOMKilled") == Ending(JobState.SUCCESS, "")
    assert not run.record_report(job, True, ""), "the same report again changes nothing"


@pytest.mark.parametrize(
    ("code", "why", "ending"),
    [
        (0, "", Ending(JobState.SUCCESS, "")),
        (1, "", Ending(JobState.FAILURE, "the pipeline failed")),
        (2, "", Ending(JobState.FAILURE, "the coordinator could not work with the master")),
        (
            137,
            "OOMKilled",
            Ending(JobState.FAILURE, "the coordinator exited with code 137 (OOMKilled)"),
        ),
        (None, "", Ending(JobState.FAILURE, "the coordinator exited with code None")),
    ],
)
def test_without_a_report_the_exit_code_decides(code: int | None, why: str, ending: Ending) -> None:
    run, job = running_step()
    assert run.ending_after_exit(job, code, why) == ending
