"""Run commands against the real event store, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from eventsourcing.utils import resolve_topic

from adapters.sql.store import SqlStore
from domain.cause import Cause
from domain.ids import JobId, RunId, job_id_for, new_run_id, run_id_for
from domain.runs.application import RunRequest, RunsService
from domain.runs.errors import (
    IllegalTransitionError,
    JobAlreadyFinishedError,
    RunAlreadyExistsError,
    RunNotFoundError,
)
from domain.runs.states import JobState, StepState

ALICE = Cause(actor="user:alice", trigger="manual")
DISPATCHER = Cause(actor="system:dispatcher")


def request(
    runs: RunsService, *jobs: str, run_id: RunId | None = None
) -> tuple[RunId, list[JobId]]:
    run_id = run_id or new_run_id()
    names = jobs or ("main",)
    runs.request_run(
        RunRequest(
            run_id=run_id,
            pipeline="web",
            repository="https://example.com/org/web.git",
            ref="refs/heads/main",
            commit_sha="c" * 40,
            trigger={"type": "manual"},
            job_names=names,
        ),
        ALICE,
    )
    return run_id, [job_id_for(run_id, n) for n in names]


def test_a_run_lives_its_whole_life_in_the_store(shared_store: SqlStore) -> None:
    runs = RunsService(shared_store.log)
    run_id, (job,) = request(runs)
    runs.schedule_job(run_id, job, DISPATCHER)
    runs.start_job(run_id, job, Cause(actor="executor:local"))
    runs.start_step(run_id, job, 1, name="test", command="pytest", log_offset=0)
    runs.finish_step(run_id, job, 1, state=StepState.SUCCESS, exit_code=0, log_offset=120)
    runs.finish_job(run_id, job, JobState.SUCCESS, "", Cause(actor="executor:local"))

    run = runs.get(run_id)
    assert run.state == JobState.SUCCESS
    assert run.version == 6
    assert run.job(job).steps[1].log_end == 120


def test_an_illegal_transition_is_refused_and_records_nothing(shared_store: SqlStore) -> None:
    runs = RunsService(shared_store.log)
    run_id, (job,) = request(runs)
    before = shared_store.log.position()
    with pytest.raises(IllegalTransitionError):
        runs.start_job(run_id, job, DISPATCHER)  # pending -> running skips scheduling
    with pytest.raises(IllegalTransitionError):
        runs.start_step(run_id, job, 1, name="x", command="true")
    assert shared_store.log.position() == before
    assert runs.get(run_id).version == 1


def test_a_terminal_job_never_changes_again(shared_store: SqlStore) -> None:
    runs = RunsService(shared_store.log)
    run_id, (job,) = request(runs)
    runs.cancel_run(run_id, ALICE)
    before = shared_store.log.position()
    for attempt in (
        lambda: runs.schedule_job(run_id, job, DISPATCHER),
        lambda: runs.finish_job(run_id, job, JobState.SUCCESS, "", DISPATCHER),
    ):
        with pytest.raises(JobAlreadyFinishedError):
            attempt()
    assert shared_store.log.position() == before
    assert runs.get(run_id).state == JobState.CANCELLED


def test_the_same_trigger_cannot_start_a_second_run(shared_store: SqlStore) -> None:
    runs = RunsService(shared_store.log)
    run_id = run_id_for("web", "d" * 40, "push", f"refs/heads/{new_run_id().hex}")
    request(runs, run_id=run_id)
    before = shared_store.log.position()
    with pytest.raises(RunAlreadyExistsError):
        request(runs, run_id=run_id)
    assert shared_store.log.position() == before


def test_an_unknown_run_is_named_in_the_error(shared_store: SqlStore) -> None:
    runs = RunsService(shared_store.log)
    missing = new_run_id()
    with pytest.raises(RunNotFoundError, match=str(missing)):
        runs.schedule_job(missing, job_id_for(missing, "main"), DISPATCHER)


def test_a_run_can_be_loaded_as_of_any_of_its_versions(shared_store: SqlStore) -> None:
    runs = RunsService(shared_store.log)
    run_id, (job,) = request(runs)
    runs.schedule_job(run_id, job, DISPATCHER)
    runs.start_job(run_id, job, DISPATCHER)
    runs.finish_job(run_id, job, JobState.FAILURE, "exit 2", DISPATCHER)
    states = [runs.get(run_id, version=v).state for v in range(1, 5)]
    assert states == [JobState.PENDING, JobState.SCHEDULING, JobState.RUNNING, JobState.FAILURE]
    assert runs.get(run_id, version=4).job(job).reason == "exit 2"


def test_concurrent_writers_to_one_run_lose_nothing(shared_store: SqlStore) -> None:
    """Eight writers drive eight jobs of one run at once: every one of their commands
    lands exactly once, the losers of each race retrying on fresh state."""
    runs = RunsService(shared_store.log)
    names = [f"job{i}" for i in range(8)]
    run_id, jobs = request(runs, *names)
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def drive(job: JobId) -> None:
        try:
            barrier.wait()
            runs.schedule_job(run_id, job, DISPATCHER)
            runs.start_job(run_id, job, DISPATCHER)
            for number in (1, 2, 3):
                runs.start_step(run_id, job, number, name=f"s{number}", command="true")
                runs.finish_step(
                    run_id, job, number, state=StepState.SUCCESS, exit_code=0, log_offset=number
                )
            runs.finish_job(run_id, job, JobState.SUCCESS, "", DISPATCHER)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=drive, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    run = runs.get(run_id)
    assert run.state == JobState.SUCCESS
    assert run.version == 1 + 8 * (2 + 3 * 2 + 1)
    stored = list(shared_store.log.events.get(run_id))
    assert [e.originator_version for e in stored] == list(range(1, run.version + 1))


def test_racing_to_finish_one_job_has_exactly_one_winner(shared_store: SqlStore) -> None:
    runs = RunsService(shared_store.log)
    run_id, (job,) = request(runs)
    runs.schedule_job(run_id, job, DISPATCHER)
    runs.start_job(run_id, job, DISPATCHER)
    outcomes = [JobState.SUCCESS, JobState.FAILURE, JobState.TIMEOUT, JobState.CANCELLED] * 2
    barrier = threading.Barrier(len(outcomes))
    results: Counter[str] = Counter()

    def finish(state: JobState) -> None:
        barrier.wait()
        try:
            runs.finish_job(run_id, job, state, "", DISPATCHER)
            results["ok"] += 1
        except JobAlreadyFinishedError:
            results["refused"] += 1

    threads = [threading.Thread(target=finish, args=(s,)) for s in outcomes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    run = runs.get(run_id)
    finished = [e for e in shared_store.log.events.get(run_id) if type(e).__name__ == "JobFinished"]
    assert len(finished) == 1
    winner = run.job(job).state
    assert results["ok"] == outcomes.count(winner)  # repeating the winner's outcome is a no-op
    assert results["refused"] == len(outcomes) - outcomes.count(winner)


def test_every_stored_topic_resolves(shared_store: SqlStore) -> None:
    runs = RunsService(shared_store.log)
    run_id, _ = request(runs)
    runs.cancel_run(run_id, ALICE)
    topics = {n.topic for n in shared_store.log.recorder.select_notifications(1, 100_000)}
    assert topics, "the log holds events"
    for topic in topics:
        assert topic.startswith("danube:"), f"{topic} is not an explicit, stable topic"
        resolve_topic(topic)


def test_a_tracking_position_given_with_events_is_refused_not_dropped(
    shared_store: SqlStore,
) -> None:
    """Group commit cannot record a position with one save's events: it says so instead
    of storing the events and silently losing the position."""
    from eventsourcing.persistence import Tracking

    from domain.runs.aggregates import Run

    run_id = new_run_id()
    run = Run.request(
        run_id,
        pipeline="web",
        repository="r",
        ref="refs/heads/main",
        commit_sha="c" * 40,
        trigger={"type": "manual"},
        spec={},
        jobs=[(job_id_for(run_id, "main"), "main")],
        cause=ALICE,
    )
    stored = [shared_store.log.mapper.to_stored_event(e) for e in run.collect_events()]
    before = shared_store.log.position()
    with pytest.raises(NotImplementedError, match="tracking="):
        shared_store.log.recorder.insert_events(stored, tracking=Tracking("upstream", 7))
    assert shared_store.log.position() == before
    with pytest.raises(RunNotFoundError):
        RunsService(shared_store.log).get(run_id)
