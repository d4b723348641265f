"""The job state machine and the run aggregate's rules, without any store."""

from __future__ import annotations

import itertools

import pytest

from domain.cause import Cause
from domain.ids import JobId, job_id_for, new_run_id
from domain.runs.aggregates import Run
from domain.runs.errors import (
    IllegalTransitionError,
    InvalidRunRequestError,
    JobAlreadyFinishedError,
    RunAlreadyFinishedError,
    StepConflictError,
)
from domain.runs.states import ALLOWED, TERMINAL, JobState, StepState, derive_run_state

ALICE = Cause(actor="user:alice")
S = JobState


def new_run(*jobs: str) -> tuple[Run, list[JobId]]:
    run_id = new_run_id()
    names = jobs or ("main",)
    ids = [job_id_for(run_id, name) for name in names]
    run = Run.request(
        run_id,
        pipeline="web",
        repository="https://example.com/org/web.git",
        ref="refs/heads/main",
        commit_sha="a" * 40,
        trigger={"type": "manual"},
        spec={},
        jobs=list(zip(ids, names, strict=True)),
        cause=ALICE,
    )
    return run, ids


def drive(run: Run, job: JobId, *path: JobState) -> None:
    for target in path:
        if target == S.SCHEDULING:
            run.schedule_job(job, ALICE)
        elif target == S.RUNNING:
            run.start_job(job, ALICE)
        else:
            run.finish_job(job, target, "", ALICE)


PATH_TO = {
    S.PENDING: (),
    S.SCHEDULING: (S.SCHEDULING,),
    S.RUNNING: (S.SCHEDULING, S.RUNNING),
    S.SUCCESS: (S.SCHEDULING, S.RUNNING, S.SUCCESS),
    S.FAILURE: (S.SCHEDULING, S.RUNNING, S.FAILURE),
    S.TIMEOUT: (S.SCHEDULING, S.RUNNING, S.TIMEOUT),
    S.CANCELLED: (S.CANCELLED,),
}
PAIRS = [(a, b) for a, b in itertools.product(JobState, JobState) if a != b]


@pytest.mark.parametrize(("current", "target"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_every_transition_is_either_recorded_or_refused_with_a_named_error(
    current: JobState, target: JobState
) -> None:
    run, (job,) = new_run()
    drive(run, job, *PATH_TO[current])
    run.collect_events()
    if target in ALLOWED.get(current, frozenset()):
        drive(run, job, target)
        assert run.job(job).state == target
        assert run.collect_events(), "a legal transition records an event"
    else:
        expected = JobAlreadyFinishedError if current in TERMINAL else IllegalTransitionError
        with pytest.raises(expected):
            drive(run, job, target)
        assert run.job(job).state == current
        assert run.collect_events() == [], "an illegal transition records nothing"


@pytest.mark.parametrize("state", list(JobState))
def test_repeating_the_current_state_records_nothing(state: JobState) -> None:
    run, (job,) = new_run()
    drive(run, job, *PATH_TO[state])
    run.collect_events()
    if state != S.PENDING:
        drive(run, job, state)
    assert run.collect_events() == []


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ((), S.PENDING),
        ((S.PENDING, S.PENDING), S.PENDING),
        ((S.PENDING, S.SCHEDULING), S.SCHEDULING),
        ((S.RUNNING, S.SCHEDULING), S.RUNNING),
        ((S.SUCCESS, S.PENDING), S.RUNNING),
        ((S.SUCCESS, S.SUCCESS), S.SUCCESS),
        ((S.SUCCESS, S.FAILURE, S.TIMEOUT), S.FAILURE),
        ((S.SUCCESS, S.TIMEOUT, S.CANCELLED), S.TIMEOUT),
        ((S.SUCCESS, S.CANCELLED), S.CANCELLED),
    ],
)
def test_a_runs_state_derives_from_its_jobs(
    states: tuple[JobState, ...], expected: JobState
) -> None:
    assert derive_run_state(states) == expected


def test_cancelling_a_pending_run_ends_its_jobs_at_once() -> None:
    run, jobs = new_run("build", "test")
    drive(run, jobs[0], S.SCHEDULING)
    assert run.request_cancel(ALICE)
    assert run.job(jobs[1]).state == S.CANCELLED
    assert run.job(jobs[0]).state == S.SCHEDULING  # its executor confirms later
    assert not run.request_cancel(ALICE), "a second cancel records nothing"


def test_cancelling_a_finished_run_is_rejected() -> None:
    run, (job,) = new_run()
    drive(run, job, *PATH_TO[S.SUCCESS])
    run.collect_events()
    with pytest.raises(RunAlreadyFinishedError):
        run.request_cancel(ALICE)
    assert run.collect_events() == []


def test_a_job_ending_ends_its_running_steps() -> None:
    run, (job,) = new_run()
    drive(run, job, S.SCHEDULING, S.RUNNING)
    run.start_step(job, 1, name="test", command="pytest")
    run.finish_job(job, S.TIMEOUT, "max_duration_seconds exceeded", ALICE)
    step = run.job(job).steps[1]
    assert (step.state, step.exit_code) == (StepState.TIMEOUT, None)


def test_steps_need_a_running_job_and_are_idempotent_by_number() -> None:
    run, (job,) = new_run()
    with pytest.raises(IllegalTransitionError):
        run.start_step(job, 1, name="a", command="true")
    drive(run, job, S.SCHEDULING, S.RUNNING)
    assert run.start_step(job, 1, name="a", command="true")
    assert not run.start_step(job, 1, name="a", command="true")
    with pytest.raises(StepConflictError):
        run.start_step(job, 1, name="b", command="false")
    assert run.finish_step(job, 1, state=StepState.SUCCESS, exit_code=0, log_offset=10)
    assert not run.finish_step(job, 1, state=StepState.SUCCESS, exit_code=0, log_offset=10)
    with pytest.raises(StepConflictError):
        run.finish_step(job, 1, state=StepState.FAILURE, exit_code=1, log_offset=10)


def test_a_run_request_is_validated() -> None:
    with pytest.raises(InvalidRunRequestError):
        Run.request(
            new_run_id(),
            pipeline="",
            repository="",
            ref="",
            commit_sha="",
            trigger={},
            spec={},
            jobs=[],
            cause=ALICE,
        )
    run_id = new_run_id()
    twice = [(job_id_for(run_id, "a"), "a"), (job_id_for(run_id, "b"), "a")]
    with pytest.raises(InvalidRunRequestError):
        Run.request(
            run_id,
            pipeline="web",
            repository="",
            ref="",
            commit_sha="",
            trigger={},
            spec={},
            jobs=twice,
            cause=ALICE,
        )


def test_events_carry_who_caused_them() -> None:
    run, (job,) = new_run()
    run.schedule_job(job, Cause(actor="system:dispatcher", reason="capacity"))
    events = run.collect_events()
    assert events[0].cause == {"actor": "user:alice"}
    assert events[1].cause == {"actor": "system:dispatcher", "reason": "capacity"}


def test_a_reruns_reused_job_starts_as_succeeded_and_never_runs() -> None:
    original, (old,) = new_run()
    run_id = new_run_id()
    job = job_id_for(run_id, "main")
    rerun = Run.request(
        run_id,
        pipeline="web",
        repository="https://example.com/org/web.git",
        ref="refs/heads/main",
        commit_sha="a" * 40,
        trigger={"type": "manual", "retry_of": original.id.hex},
        spec={},
        jobs=[(job, "main")],
        cause=ALICE,
        reused={"main": old},
    )
    assert rerun.state == S.SUCCESS and rerun.jobs[job].reused_from == old.hex
    with pytest.raises(JobAlreadyFinishedError):
        rerun.schedule_job(job, ALICE)


def test_a_rerun_cannot_reuse_a_job_the_run_does_not_have() -> None:
    _, (old,) = new_run()
    with pytest.raises(InvalidRunRequestError):
        Run.request(
            new_run_id(),
            pipeline="web",
            repository="r",
            ref="refs/heads/main",
            commit_sha="a" * 40,
            trigger={},
            spec={},
            jobs=[(JobId(old), "main")],
            cause=ALICE,
            reused={"other": old},
        )
