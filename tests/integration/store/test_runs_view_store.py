"""The runs projection's behaviours through the real stores: commands saved by
``RunsService``, folded by a projector into the SQL view store (``adapters.sql.viewstore``)
and read back through ``RunsView``, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from adapters.sql.store import SqlStore
from domain.cause import Cause
from domain.ids import RunId, job_id_for, new_run_id
from domain.runs.aggregates import Run
from domain.runs.application import RunRequest, RunsService
from domain.runs.states import JobState, StepState
from projections.model import Row
from projections.runs import RunsProjection
from projections.runs_view import RunsView

ALICE = Cause(actor="user:alice", trigger="push", delivery_id="d-1")


def pipeline_name() -> str:
    return f"p-{uuid.uuid4().hex[:10]}"  # pipeline rows are shared by name: one per test


def request(runs: RunsService, pipeline: str, *jobs: str) -> RunId:
    run_id = new_run_id()
    runs.request_run(
        RunRequest(
            run_id=run_id,
            pipeline=pipeline,
            repository="https://example.com/org/web.git",
            ref="refs/heads/release/1.0",
            commit_sha="f" * 40,
            trigger={"type": "push", "delivery_id": "d-1"},
            job_names=jobs or ("main",),
        ),
        ALICE,
    )
    return run_id


def fold(store: SqlStore) -> RunsView:
    """Catch the projection up with everything stored, in the view store's batches."""
    projector = store.projector(RunsProjection(), batch_size=7)
    projector.start()
    projector.catch_up()
    assert store.views.position("runs") == store.feed.max_position()
    return RunsView(store.views.reader(RunsProjection()))


def test_a_requested_run_appears_with_its_jobs_and_pipeline(shared_store: SqlStore) -> None:
    runs, pipeline = RunsService(shared_store.log), pipeline_name()
    run_id = request(runs, pipeline, "build", "test")
    view = fold(shared_store)
    run = view.run(run_id)
    assert run is not None
    assert (run.state, run.branch, run.actor, run.delivery_id) == (
        "pending",
        "release/1.0",
        "user:alice",
        "d-1",
    )
    assert len(view.jobs(run_id=run_id.hex).items) == 2
    assert view.pipeline(pipeline).run_count == 1  # type: ignore[union-attr]


def test_job_events_move_the_job_the_run_and_the_pipeline_with_step_offsets(
    shared_store: SqlStore,
) -> None:
    runs, pipeline = RunsService(shared_store.log), pipeline_name()
    run_id = request(runs, pipeline, "build", "test")
    build, test = (job_id_for(run_id, n) for n in ("build", "test"))
    for job in (build, test):
        runs.schedule_job(run_id, job, ALICE)
        runs.start_job(run_id, job, ALICE)
    runs.start_step(run_id, build, 1, name="deps", command="make deps", log_offset=0)
    runs.finish_step(run_id, build, 1, state=StepState.SUCCESS, exit_code=0, log_offset=17)
    runs.start_step(run_id, build, 2, name="compile", command="make", log_offset=17)
    runs.finish_step(run_id, build, 2, state=StepState.FAILURE, exit_code=2, log_offset=59)
    runs.finish_job(run_id, build, JobState.FAILURE, "step compile failed", ALICE)
    view = fold(shared_store)
    assert view.run(run_id).state == "running"  # type: ignore[union-attr]
    runs.finish_job(run_id, test, JobState.SUCCESS, "", ALICE)
    view = fold(shared_store)
    run = view.run(run_id)
    assert (run.state, run.finished_at is not None) == ("failure", True)  # type: ignore[union-attr]
    assert view.job(build).reason == "step compile failed"  # type: ignore[union-attr]
    steps = [(s.number, s.state, s.exit_code, s.log_start, s.log_end) for s in view.steps(build)]
    assert steps == [(1, "success", 0, 0, 17), (2, "failure", 2, 17, 59)]
    assert view.pipeline(pipeline).last_state == "failure"  # type: ignore[union-attr]


def test_an_older_run_does_not_overwrite_the_pipelines_last_state(shared_store: SqlStore) -> None:
    runs, pipeline = RunsService(shared_store.log), pipeline_name()
    first = request(runs, pipeline)
    second = request(runs, pipeline)
    runs.cancel_run(first, ALICE)
    view = fold(shared_store)
    assert view.run(first).state == "cancelled"  # type: ignore[union-attr]
    assert view.job(job_id_for(first, "main")).state == "cancelled"  # type: ignore[union-attr]
    row = view.pipeline(pipeline)
    assert (row.last_run_id, row.last_state, row.run_count) == (second.hex, "pending", 2)  # type: ignore[union-attr]


def test_stored_events_for_rows_it_never_saw_are_skipped_and_tracking_moves_on(
    shared_store: SqlStore,
) -> None:
    pipeline = pipeline_name()
    run_id = new_run_id()
    job = job_id_for(run_id, "main")
    run = Run.request(
        run_id,
        pipeline=pipeline,
        repository="r",
        ref="refs/heads/main",
        commit_sha="f" * 40,
        trigger={"type": "push"},
        spec={},
        jobs=[(job, "main")],
        cause=ALICE,
    )
    run.schedule_job(job, ALICE)
    run.start_job(job, ALICE)
    run.request_cancel(ALICE)
    _requested, *later = run.collect_events()
    shared_store.log.save(*later)  # the log holds a run's later events, not its request
    head = shared_store.feed.max_position()
    view = fold(shared_store)  # does not raise, and reaches the head
    assert shared_store.views.position("runs") == head
    assert view.run(run_id) is None
    assert view.job(job) is None
    assert view.pipeline(pipeline) is None


class _CountingReader:
    """The real reader, counting the job queries that go through it."""

    def __init__(self, store: SqlStore) -> None:
        self._reader = store.views.reader(RunsProjection())
        self.job_queries = 0

    def position(self) -> int:
        return self._reader.position()

    def get(self, table: str, row_id: str) -> Row | None:
        return self._reader.get(table, row_id)

    def find(self, table: str, where: Mapping[str, Any], **options: Any) -> list[Row]:
        self.job_queries += table == "jobs"
        return self._reader.find(table, where, **options)


def test_the_active_jobs_are_read_again_only_once_the_read_model_moved(
    shared_store: SqlStore,
) -> None:
    runs, pipeline = RunsService(shared_store.log), pipeline_name()
    run_id = request(runs, pipeline)
    job = job_id_for(run_id, "main")
    runs.schedule_job(run_id, job, ALICE)
    fold(shared_store)
    counting = _CountingReader(shared_store)
    view = RunsView(counting)
    assert job.hex in {j.id for j in view.active_jobs()}
    queries = counting.job_queries
    for _ in range(3):  # the dispatcher, the reconciler, the job-state releaser
        assert job.hex in {j.id for j in view.active_jobs()}
    assert counting.job_queries == queries
    runs.start_job(run_id, job, ALICE)
    runs.finish_job(run_id, job, JobState.SUCCESS, "", ALICE)
    fold(shared_store)
    assert job.hex not in {j.id for j in view.active_jobs()}
    assert counting.job_queries > queries
