"""Steps within one process go past the read model (``StepRelay``): the reconciler runs a
step whose start was just recorded before the read model shows it, and tells how it
ended before the read model shows that; what is recorded is the same."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from domain.execution.ports import JobStatus, Phase
from domain.execution.relay import StepEnd, StepRelay
from domain.runs.states import StepState
from tests.integration.execution.test_reconciler_restarts import World, world  # noqa: F401
from tests.support import wait_for


@dataclass(frozen=True)
class Started:
    number: int
    name: str = "build"
    command: str = "make"
    image: str = ""
    timeout_seconds: float = 0.0
    env_sealed: dict[str, str] | None = None
    command_sealed: dict[str, str] | None = None
    log_start: int | None = None


def test_a_step_started_in_this_process_runs_and_ends_before_the_read_model_shows_it(
    world: World,  # noqa: F811
) -> None:
    relay = StepRelay()
    run_id, job_id = world.running_job()
    world.executor.statuses[job_id] = JobStatus(Phase.RUNNING)
    reconciler = world.reconciler(relay=relay)
    reconciler.tick()  # adopts the job
    job = world.view.job(job_id)
    assert job is not None
    world.runs.start_step(run_id, job_id, 1, name="build", command="make")
    ended = threading.Event()
    relay.watch(job.id, 1, ended.set)
    relay.started(job, Started(1))
    assert ended.wait(30), "the step's end never reached the relay"
    assert relay.end_of(job.id, 1) == StepEnd(StepState.SUCCESS, 0, "")
    assert world.view.running_steps(job_id) == []  # the read model has not moved
    world.projector.catch_up()
    step = world.view.step(job_id, 1)
    assert step is not None and (step.state, step.exit_code) == ("success", 0)


def test_a_step_of_a_job_this_reconciler_does_not_run_is_left_to_the_read_model(
    world: World,  # noqa: F811
) -> None:
    relay = StepRelay()
    run_id, job_id = world.running_job()
    world.reconciler(relay=relay)  # it has not started (or adopted) the job
    job = world.view.job(job_id)
    assert job is not None
    world.runs.start_step(run_id, job_id, 1, name="build", command="make")
    relay.started(job, Started(1))
    world.projector.catch_up()
    wait_for(lambda: world.view.step(job_id, 1), lambda s: s is not None)
    step = world.view.step(job_id, 1)
    assert step is not None and step.state == "running"  # nothing ran it
    assert relay.end_of(job.id, 1) is None
