"""The job state machine and how a run's state derives from its jobs (DESIGN.md §1)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class JobState(StrEnum):
    PENDING = "pending"
    SCHEDULING = "scheduling"
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobState.SUCCESS, JobState.FAILURE, JobState.TIMEOUT, JobState.CANCELLED})
ACTIVE = frozenset(
    {JobState.SCHEDULING, JobState.RUNNING}
)  # holding a slot: neither queued nor ended

ALLOWED: dict[JobState, frozenset[JobState]] = {
    # A pending job may fail without ever being scheduled (e.g. its pipeline vanished).
    JobState.PENDING: frozenset({JobState.SCHEDULING, JobState.CANCELLED, JobState.FAILURE}),
    JobState.SCHEDULING: frozenset(
        {JobState.RUNNING, JobState.FAILURE, JobState.TIMEOUT, JobState.CANCELLED}
    ),
    JobState.RUNNING: TERMINAL,
}


def can_transition(current: JobState, target: JobState) -> bool:
    return target in ALLOWED.get(current, frozenset())


def derive_run_state(job_states: Iterable[JobState | str]) -> JobState:
    """A run is terminal once all its jobs are: any failure → failure, else any
    timeout → timeout, else any cancelled → cancelled, else success. Before that it is
    running if any job runs, scheduling if any job is being scheduled, else pending."""
    states = {JobState(s) for s in job_states}
    if not states:
        return JobState.PENDING
    if states <= TERMINAL:
        for outcome in (JobState.FAILURE, JobState.TIMEOUT, JobState.CANCELLED):
            if outcome in states:
                return outcome
        return JobState.SUCCESS
    for active in (JobState.RUNNING, JobState.SCHEDULING):
        if active in states:
            return active
    # Some jobs pending, others already terminal (e.g. one cancelled early).
    return JobState.RUNNING if states & TERMINAL else JobState.PENDING


class StepState(StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
