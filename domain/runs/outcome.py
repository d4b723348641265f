"""How a job ended: decided here, once, for every way the master learns of it.

Two things speak of a job's end: its coordinator's report (``ReportStatus``: succeeded
or not, a message, the step whose failure ended the pipeline) and its processes'
exit (the executor's exit code). The aggregate (``Run.record_report``,
``Run.ending_after_exit``) applies these rules to what it has recorded; the servicer and
the reconciler only translate their inputs. The job's limits (max duration, cancel)
end it through ``Run.finish_job`` with TIMEOUT or CANCELLED directly."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from domain.runs.states import JobState, StepState


class CoordinatorExit(IntEnum):
    """The coordinator's exit codes: proto ``danube.v1.CoordinatorExit`` (the protocol
    is the contract; a unit test pins these to it)."""

    SUCCESS = 0
    FAILURE = 1
    INFRASTRUCTURE = 2


PIPELINE_FAILED = "the pipeline failed"
_EXITS = {
    CoordinatorExit.SUCCESS: (JobState.SUCCESS, ""),
    CoordinatorExit.FAILURE: (JobState.FAILURE, PIPELINE_FAILED),
    CoordinatorExit.INFRASTRUCTURE: (
        JobState.FAILURE,
        "the coordinator could not work with the master",
    ),
}


@dataclass(frozen=True)
class Ending:
    state: JobState
    reason: str


def reported(succeeded: bool, message: str, failed_step: StepState | None) -> Ending:
    """What a coordinator's report means: a failure whose step timed out is the job's
    timeout; a failure without a message is "the pipeline failed"."""
    if succeeded:
        return Ending(JobState.SUCCESS, "")
    state = JobState.TIMEOUT if failed_step == StepState.TIMEOUT else JobState.FAILURE
    return Ending(state, message or PIPELINE_FAILED)


def after_exit(report: Ending | None, exit_code: int | None, why: str) -> Ending:
    """How a job ended once its processes exited: as its report said, if one was
    recorded; else by its exit code (``CoordinatorExit``); any other is a crash."""
    if report is not None:
        return report
    if exit_code in _EXITS:
        state, reason = _EXITS[CoordinatorExit(exit_code)]
        return Ending(state, reason)
    detail = f" ({why})" if why else ""
    return Ending(JobState.FAILURE, f"the coordinator exited with code {exit_code}{detail}")
