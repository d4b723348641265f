"""Stored shapes that changed stay readable on both stores: a ``Run.StepStarted`` recorded
before steps had a sealed command (v1), and read-model tables created before a column was
declared."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

from adapters.sql.store import SqlStore
from domain.cause import Cause
from domain.ids import job_id_for, new_run_id
from domain.runs.aggregates import Run
from domain.runs.application import RunRequest, RunsService
from domain.runs.states import StepState
from projections.model import Column, Rows, Table
from projections.runs import RunsProjection
from projections.runs_view import RunsView

USER = Cause(actor="user:test")


def test_a_step_recorded_before_commands_were_sealed_reads_back_with_none_sealed(
    store: SqlStore,
) -> None:
    runs = RunsService(store.log)
    run_id = new_run_id()
    job_id = job_id_for(run_id, "main")
    runs.request_run(RunRequest(run_id, "p", "r", "refs/heads/main", "c" * 40, {}), USER)
    runs.schedule_job(run_id, job_id, USER)
    runs.start_job(run_id, job_id, USER)
    runs.start_step(run_id, job_id, 1, name="build", command="make")
    [stored] = [
        n
        for n in store.log.recorder.select_notifications(1, 1000)
        if n.topic == Run.StepStarted.TOPIC and n.originator_id == run_id
    ]
    state = json.loads(stored.state)
    assert state.pop("class_version") == 2
    del state["command_sealed"]  # as version 1 wrote it
    v1 = dataclasses.replace(stored, state=json.dumps(state).encode())
    event = store.log.mapper.to_domain_event(v1)
    assert isinstance(event, Run.StepStarted)
    assert (event.command, event.command_sealed) == ("make", None)


def test_steps_recorded_before_their_runner_wrote_their_line_read_back_and_fold_alike(
    store: SqlStore,
) -> None:
    """Before one writer per job log: ``StepStarted`` carried where the step's output
    began (the server wrote its line) and ``StepFinished`` (v1) had no ``log_start``."""
    runs = RunsService(store.log)
    run_id = new_run_id()
    job_id = job_id_for(run_id, "main")
    runs.request_run(RunRequest(run_id, "p", "r", "refs/heads/main", "c" * 40, {}), USER)
    runs.schedule_job(run_id, job_id, USER)
    runs.start_job(run_id, job_id, USER)
    runs.start_step(run_id, job_id, 1, name="build", command="make", log_offset=17)
    runs.finish_step(run_id, job_id, 1, state=StepState.SUCCESS, exit_code=0, log_offset=40)
    [stored] = [
        n
        for n in store.log.recorder.select_notifications(1, 1000)
        if n.topic == Run.StepFinished.TOPIC and n.originator_id == run_id
    ]
    state = json.loads(stored.state)
    assert (state.pop("class_version"), state.pop("log_start")) == (2, None)
    v1 = dataclasses.replace(stored, state=json.dumps(state).encode())
    event = store.log.mapper.to_domain_event(v1)
    assert isinstance(event, Run.StepFinished) and event.log_start is None
    step = runs.get(run_id).job(job_id).steps[1]
    assert (step.log_start, step.log_end) == (17, 40)
    projector = store.projector(RunsProjection())
    projector.start()
    projector.catch_up()
    view = RunsView(store.views.reader(RunsProjection()))
    folded = view.step(job_id.hex, 1)
    assert folded is not None and (folded.log_start, folded.log_end) == (17, 40)


class _Declared:
    """A projection of one table, as some version of the code declared it."""

    topics: frozenset[str] = frozenset()

    def __init__(self, name: str, columns: tuple[str, ...]) -> None:
        self.name = name
        self.tables = (Table(name, tuple(Column(c) for c in columns)),)

    def apply(self, event: Any, rows: Rows) -> None:
        pass


def test_a_read_model_table_created_before_a_column_was_declared_gains_it(
    store: SqlStore,
) -> None:
    name = f"t_{uuid.uuid4().hex[:8]}"
    store.views.ensure(_Declared(name, ("a",)))
    with store.views.dialect.write() as cur:
        cur.execute(f"INSERT INTO {store.views.table_name(name)} (id, a) VALUES ('old', 'x')")
    newer = _Declared(name, ("a", "b"))
    store.views.ensure(newer)
    store.views.ensure(newer)  # again: nothing left to add
    reader = store.views.reader(newer)
    assert reader.get(name, "old") == {"id": "old", "a": "x", "b": None}
