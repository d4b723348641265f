"""The whole job transition matrix through ``RunsService`` on SQLite and PostgreSQL: a
legal transition is stored, an illegal one raises its named error and stores nothing
(the log position does not move)."""

from __future__ import annotations

import itertools

import pytest

from adapters.sql.store import SqlStore
from domain.cause import Cause
from domain.ids import JobId, RunId, job_id_for, new_run_id
from domain.runs.application import RunRequest, RunsService
from domain.runs.errors import IllegalTransitionError, JobAlreadyFinishedError
from domain.runs.states import ALLOWED, TERMINAL, JobState

S = JobState
CAUSE = Cause(actor="system:test")
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


def new_run(runs: RunsService) -> tuple[RunId, JobId]:
    run_id = new_run_id()
    runs.request_run(
        RunRequest(
            run_id=run_id,
            pipeline="matrix",
            repository="https://example.com/org/matrix.git",
            ref="refs/heads/main",
            commit_sha="b" * 40,
            trigger={"type": "manual"},
        ),
        CAUSE,
    )
    return run_id, job_id_for(run_id, "main")


def move(runs: RunsService, run_id: RunId, job: JobId, *path: JobState) -> None:
    for target in path:
        if target == S.SCHEDULING:
            runs.schedule_job(run_id, job, CAUSE)
        elif target == S.RUNNING:
            runs.start_job(run_id, job, CAUSE)
        else:
            runs.finish_job(run_id, job, target, f"to {target}", CAUSE)


def stored_versions(store: SqlStore, run_id: RunId) -> list[int]:
    """Read from the recorder, past the application's aggregate cache."""
    return [e.originator_version for e in store.log.events.get(run_id)]


@pytest.mark.parametrize(("current", "target"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_every_transition_is_stored_or_refused_with_a_named_error_recording_nothing(
    shared_store: SqlStore, current: JobState, target: JobState
) -> None:
    runs = RunsService(shared_store.log)
    run_id, job = new_run(runs)
    move(runs, run_id, job, *PATH_TO[current])
    before, version = shared_store.log.position(), runs.get(run_id).version
    if target in ALLOWED.get(current, frozenset()):
        move(runs, run_id, job, target)
        assert shared_store.log.position() > before, "a legal transition is stored"
        assert runs.get(run_id).job(job).state == target
        assert stored_versions(shared_store, run_id) == list(range(1, version + 2))
    else:
        expected = JobAlreadyFinishedError if current in TERMINAL else IllegalTransitionError
        with pytest.raises(expected) as raised:
            move(runs, run_id, job, target)
        assert type(raised.value) is expected
        assert (raised.value.current, raised.value.target) == (current, target)
        assert shared_store.log.position() == before, "an illegal transition stores nothing"
        assert stored_versions(shared_store, run_id) == list(range(1, version + 1))
        assert runs.get(run_id).job(job).state == current


@pytest.mark.parametrize("state", [s for s in JobState if s != S.PENDING])
def test_repeating_the_current_state_stores_nothing(
    shared_store: SqlStore, state: JobState
) -> None:
    runs = RunsService(shared_store.log)
    run_id, job = new_run(runs)
    move(runs, run_id, job, *PATH_TO[state])
    before = shared_store.log.position()
    move(runs, run_id, job, state)
    assert shared_store.log.position() == before
    assert runs.get(run_id).job(job).state == state
