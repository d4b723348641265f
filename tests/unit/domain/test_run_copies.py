"""The repository hands every command a copy of its cached run (``Run.__deepcopy__``):
whatever a command does to its copy, the cached original never changes — for every
attribute a run has, one added later included."""

from __future__ import annotations

import copy
import pickle
from typing import Any

from domain.cause import Cause
from domain.runs.aggregates import Run
from domain.runs.entities import Artifact
from domain.runs.states import JobState
from tests.unit.domain.test_run_state_machine import new_run

ALICE = Cause(actor="user:alice")


def busy_run() -> Run:
    run, (job,) = new_run()
    run.schedule_job(job, ALICE)
    run.start_job(job, ALICE)
    run.start_step(job, 1, name="build", command="make", image="")
    run.record_artifact(job, Artifact("dist.tar.gz", "file", 3, "0" * 64))
    run.record_secret_read(job, "TOKEN", "pipeline")
    run.record_report(job, True, "")
    run.spec["limits"] = {"cpu": ["1"]}
    return run


def snapshot(run: Run) -> bytes:
    state = {k: v for k, v in run.__dict__.items() if k != "_pending_events"}
    return pickle.dumps(state)


def mutate(value: Any) -> None:
    """Change a container in place, whatever it is."""
    if isinstance(value, dict):
        for inner in list(value.values()):
            mutate(inner)
        value["added-by-a-copy"] = object()
    elif isinstance(value, list):
        for inner in value:
            mutate(inner)
        value.append("added-by-a-copy")
    elif isinstance(value, set):
        value.add("added-by-a-copy")
    elif hasattr(value, "__dataclass_fields__") and not value.__dataclass_params__.frozen:
        for name in value.__dataclass_fields__:
            mutate(getattr(value, name))


def test_mutating_every_attribute_of_a_copy_never_changes_the_original() -> None:
    original = busy_run()
    before = snapshot(original)
    clone = copy.deepcopy(original)
    for name, value in clone.__dict__.items():
        if name != "_pending_events":
            mutate(value)
    clone.jobs[next(iter(clone.jobs))].state = JobState.FAILURE
    assert snapshot(original) == before


def test_a_copys_pending_events_are_its_own() -> None:
    original, (job,) = new_run()
    clone = copy.deepcopy(original)
    clone.schedule_job(job, ALICE)
    assert len(original.collect_events()) == 1  # only Requested
    assert original.jobs[job].state == JobState.PENDING


def test_an_attribute_added_later_is_not_shared_between_copies() -> None:
    original = busy_run()
    original.__dict__["labels"] = ["a"]  # as a new field of a future version would be
    clone = copy.deepcopy(original)
    clone.labels.append("b")
    assert original.labels == ["a"]


def test_steps_are_shared_because_they_are_immutable() -> None:
    original = busy_run()
    clone = copy.deepcopy(original)
    job = next(iter(original.jobs))
    assert clone.jobs[job].steps[1] is original.jobs[job].steps[1]
    assert clone.jobs[job].steps is not original.jobs[job].steps
