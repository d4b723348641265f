"""The runs projection folds events into rows; pure, over an in-memory ``Rows``."""

from __future__ import annotations

from typing import Any

from domain.cause import Cause
from domain.ids import job_id_for, new_run_id
from domain.runs.aggregates import Run
from domain.runs.entities import Artifact
from domain.runs.states import JobState, StepState
from projections.model import Row
from projections.runs import RunsProjection

ALICE = Cause(actor="user:alice", trigger="push", delivery_id="d-1")


class MemoryRows:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Row]] = {}

    def get(self, table: str, row_id: str) -> Row | None:
        row = self.tables.get(table, {}).get(row_id)
        return None if row is None else dict(row)

    def put(self, table: str, row: Row) -> None:
        self.tables.setdefault(table, {})[row["id"]] = dict(row)

    def delete(self, table: str, row_id: str) -> None:
        self.tables.get(table, {}).pop(row_id, None)


def fold(*events: Any, rows: MemoryRows | None = None) -> MemoryRows:
    rows = rows or MemoryRows()
    for event in events:
        RunsProjection().apply(event, rows)
    return rows


def requested(pipeline: str = "web", jobs: tuple[str, ...] = ("main",)) -> Run:
    run_id = new_run_id()
    return Run.request(
        run_id,
        pipeline=pipeline,
        repository="https://example.com/org/web.git",
        ref="refs/heads/release/1.0",
        commit_sha="f" * 40,
        trigger={"type": "push", "delivery_id": "d-1"},
        spec={},
        jobs=[(job_id_for(run_id, n), n) for n in jobs],
        cause=ALICE,
    )


def test_a_requested_run_appears_with_its_jobs_and_pipeline() -> None:
    run = requested(jobs=("build", "test"))
    rows = fold(*run.collect_events())
    row = rows.tables["runs"][run.id.hex]
    assert (row["state"], row["branch"], row["actor"], row["delivery_id"]) == (
        "pending",
        "release/1.0",
        "user:alice",
        "d-1",
    )
    assert len(rows.tables["jobs"]) == 2
    assert rows.tables["pipelines"]["web"]["run_count"] == 1


def test_job_events_move_the_job_the_run_and_the_pipeline() -> None:
    run = requested(jobs=("build", "test"))
    build, test = (job_id_for(run.run_id, n) for n in ("build", "test"))
    for job in (build, test):
        run.schedule_job(job, ALICE)
        run.start_job(job, ALICE)
    run.start_step(build, 1, name="compile", command="make", log_offset=0)
    run.finish_step(build, 1, state=StepState.FAILURE, exit_code=2, log_offset=42)
    run.finish_job(build, JobState.FAILURE, "step compile failed", ALICE)
    rows = fold(*run.collect_events())
    assert rows.tables["runs"][run.id.hex]["state"] == "running"
    run.finish_job(test, JobState.SUCCESS, "", ALICE)
    rows = fold(*run.collect_events(), rows=rows)
    run_row = rows.tables["runs"][run.id.hex]
    assert run_row["state"] == "failure"
    assert run_row["finished_at"] is not None
    assert rows.tables["jobs"][build.hex]["reason"] == "step compile failed"
    step = rows.tables["steps"][f"{build.hex}:000001"]
    assert (step["state"], step["exit_code"], step["log_start"], step["log_end"]) == (
        "failure",
        2,
        0,
        42,
    )
    assert rows.tables["pipelines"]["web"]["last_state"] == "failure"


def test_an_older_run_does_not_overwrite_the_pipelines_last_state() -> None:
    first, second = requested(), requested()
    rows = fold(*first.collect_events(), *second.collect_events())
    job = job_id_for(first.run_id, "main")
    first.request_cancel(ALICE)
    rows = fold(*first.collect_events(), rows=rows)
    assert rows.tables["runs"][first.id.hex]["state"] == "cancelled"
    pipeline = rows.tables["pipelines"]["web"]
    assert (pipeline["last_run_id"], pipeline["last_state"]) == (second.id.hex, "pending")
    assert rows.tables["jobs"][job.hex]["state"] == "cancelled"


def test_every_event_of_a_run_is_a_change_of_it_with_the_runs_version() -> None:
    """Steps, artifacts, secrets read, reports and a provenance record written after the
    job ended each move the run's version (its event count) and its change number (what
    live subscribers are woken by): none waits for the run's next state change."""
    run = requested()
    job = job_id_for(run.run_id, "main")
    rows = fold(*run.collect_events())
    run.schedule_job(job, ALICE)
    run.start_job(job, ALICE)
    run.record_secret_read(job, "TOKEN", "pipeline")
    run.start_step(job, 1, name="build", command="make", log_offset=0)
    run.finish_step(job, 1, state=StepState.SUCCESS, exit_code=0, log_offset=10)
    run.record_artifact(job, Artifact("dist", "file", 3, "a" * 64))
    run.finish_job(job, JobState.SUCCESS, "", ALICE)
    run.record_provenance(job, Artifact("provenance.json", "file", 5, "b" * 64))
    changes = []
    for event in run.collect_events():
        rows = fold(event, rows=rows)
        row = rows.tables["runs"][run.id.hex]
        assert row["version"] == event.originator_version, type(event).__name__
        changes.append(row["changed"])
    assert changes == sorted(set(changes)), "each event is a change of its own, in order"
    assert rows.tables["runs"][run.id.hex]["version"] == run.version


def test_events_for_rows_it_never_saw_are_skipped_not_raised() -> None:
    run = requested()
    run.collect_events()
    run.schedule_job(job_id_for(run.run_id, "main"), ALICE)
    rows = fold(*run.collect_events())
    assert "runs" not in rows.tables
