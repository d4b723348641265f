"""What the reconciler does for an executor whose jobs outlive their caller (pods): it
releases what belongs to no active job, hands jobs found running their output, and says
why a job's processes are gone."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from adapters.sql.store import SqlStore
from domain.cause import Cause
from domain.execution.ports import (
    ActiveJob,
    JobLaunch,
    JobStatus,
    OutputSink,
    Phase,
    RunningStep,
    StepLaunch,
    StepOutcome,
    Stream,
)
from domain.execution.reconciler import DEFAULT_MAX_DURATION, Reconciler
from domain.execution.relay import StepRelay
from domain.ids import JobId, RunId, job_id_for, new_run_id
from domain.runs.application import RunRequest, RunsService
from domain.runs.states import JobState, StepState
from projections.runs import RunsProjection
from projections.runs_view import RunsView

USER = Cause(actor="user:test")


class FakeSink:
    def write(self, stream: Stream, data: bytes) -> None:
        pass


class FakeOutput:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def for_job(self, job_id: JobId) -> OutputSink:
        return FakeSink()

    def for_step(self, job_id: JobId, number: int) -> OutputSink:
        return FakeSink()

    def size(self, job_id: JobId) -> int:
        return 0

    def opened_steps(self, job_id: JobId) -> dict[int, int]:
        return {}

    def mask_secrets(self, job_id: JobId, pipeline: str, keys: Sequence[str]) -> None:
        pass

    def mask_token(self, job_id: JobId, token: str) -> None:
        pass

    def system_line(self, job_id: JobId, text: str) -> int:
        self.lines.append(text)
        return 0

    def close(self, job_id: JobId) -> None:
        pass


class FakeStepMaterial:
    """Step material some jobs still hold; ``destroyed`` is what was destroyed."""

    def __init__(self) -> None:
        self.jobs: set[JobId] = set()
        self.destroyed: list[JobId] = []

    def open(self, step: RunningStep) -> tuple[str, dict[str, str]]:
        return step.command, {}

    def destroy(self, job_id: JobId) -> None:
        self.destroyed.append(job_id)
        self.jobs.discard(job_id)

    def held(self) -> Collection[JobId]:
        return set(self.jobs)


class FakeExecutor:
    """Jobs that outlive the reconciler; ``held`` is what it says it holds."""

    name = "fake"

    def __init__(self) -> None:
        self.statuses: dict[JobId, JobStatus] = {}
        self.held: set[JobId] = set()
        self.started: list[JobId] = []
        self.released: list[JobId] = []
        self.knows_what_it_holds = True

    def start(self, job: JobLaunch, output: OutputSink) -> None:
        self.started.append(job.job_id)

    def status(self, job_id: JobId) -> JobStatus:
        return self.statuses.get(job_id, JobStatus(Phase.ABSENT))

    def run_step(self, job_id: JobId, step: StepLaunch, output: OutputSink) -> StepOutcome:
        return StepOutcome(StepState.SUCCESS, 0)

    def stop(self, job_id: JobId, reason: str) -> None:
        pass

    def release(self, job_id: JobId) -> None:
        self.released.append(job_id)
        self.held.discard(job_id)

    def jobs(self) -> Collection[JobId] | None:
        return set(self.held) if self.knows_what_it_holds else None


class World:
    def __init__(self, store: SqlStore) -> None:
        self.runs = RunsService(store.log)
        self.projector = store.projector(RunsProjection())
        self.projector.start()
        self.view = RunsView(store.views.reader(RunsProjection()))
        self.executor = FakeExecutor()
        self.output = FakeOutput()
        self.material = FakeStepMaterial()

    def reconciler(
        self,
        sweep_interval: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        relay: StepRelay | None = None,
    ) -> Reconciler:
        def launch(job: ActiveJob) -> JobLaunch:
            return JobLaunch(
                job_id=JobId(uuid.UUID(job.id)),
                run_id=RunId(uuid.UUID(job.run_id)),
                pipeline=job.pipeline,
                repository="r",
                commit_sha="c" * 40,
                ref="refs/heads/main",
                token="t",
            )

        return Reconciler(
            self.executor,
            self.runs,
            self.view,
            self.output,
            launch,
            self.material,
            clock=clock,
            sweep_interval=sweep_interval,
            relay=relay,
        )

    def running_job(self) -> tuple[RunId, JobId]:
        run_id = new_run_id()
        job_id = job_id_for(run_id, "main")
        self.runs.request_run(
            RunRequest(run_id, "p", "r", "refs/heads/main", "c" * 40, {"type": "manual"}, {}),
            USER,
        )
        self.runs.schedule_job(run_id, job_id, USER)
        self.runs.start_job(run_id, job_id, USER)
        self.projector.catch_up()
        return run_id, job_id


@pytest.fixture
def world(store: SqlStore) -> Iterator[World]:
    return World(store)


def test_what_belongs_to_no_active_job_is_released_on_the_first_tick(world: World) -> None:
    _, active = world.running_job()
    orphan = JobId(uuid.uuid4())
    world.executor.held = {active, orphan}
    world.executor.statuses[active] = JobStatus(Phase.RUNNING)
    world.reconciler().tick()
    assert world.executor.released == [orphan]


def test_the_sweep_waits_its_interval_before_looking_again(world: World) -> None:
    reconciler = world.reconciler(sweep_interval=3600)
    reconciler.tick()
    late = JobId(uuid.uuid4())
    world.executor.held = {late}
    reconciler.tick()
    assert world.executor.released == []
    world.reconciler(sweep_interval=0).tick()
    assert world.executor.released == [late]


def test_an_executor_that_cannot_tell_what_it_holds_yet_is_asked_again_on_the_next_tick(
    world: World,
) -> None:
    """The pod adapter before its first list of pods: its orphans are released as soon as
    it knows them, not a whole sweep interval later."""
    reconciler = world.reconciler(sweep_interval=3600)
    orphan = JobId(uuid.uuid4())
    world.executor.held = {orphan}
    world.executor.knows_what_it_holds = False
    reconciler.tick()
    assert world.executor.released == []
    world.executor.knows_what_it_holds = True
    reconciler.tick()
    assert world.executor.released == [orphan]


def test_a_job_found_running_after_a_restart_is_handed_its_output_once(world: World) -> None:
    _, job_id = world.running_job()
    world.executor.statuses[job_id] = JobStatus(Phase.RUNNING)
    reconciler = world.reconciler()
    reconciler.tick()
    reconciler.tick()
    assert world.executor.started == [job_id]


def test_a_job_whose_processes_are_gone_fails_saying_why(world: World) -> None:
    _, job_id = world.running_job()
    world.executor.statuses[job_id] = JobStatus(Phase.ABSENT, reason="its pod p does not exist")
    world.reconciler().tick()
    world.projector.catch_up()
    job = world.view.job(job_id)
    assert job is not None and job.state == "failure"
    assert job.reason == "the job's processes are gone (its pod p does not exist)"


def test_the_step_material_of_a_job_that_ended_unwatched_is_destroyed_on_the_first_tick(
    world: World,
) -> None:
    run_id, ended = world.running_job()
    world.runs.finish_job(run_id, ended, JobState.FAILURE, "its reconciler crashed", USER)
    _, running = world.running_job()
    world.executor.statuses[running] = JobStatus(Phase.RUNNING)
    unknown = JobId(uuid.uuid4())
    world.material.jobs = {ended, running, unknown}
    world.reconciler().tick()
    assert world.material.destroyed == [ended]


def test_a_job_the_reconciler_ends_has_its_step_material_destroyed(world: World) -> None:
    _, job_id = world.running_job()
    world.material.jobs = {job_id}
    world.executor.statuses[job_id] = JobStatus(Phase.EXITED, exit_code=0)
    world.reconciler().tick()
    world.projector.catch_up()
    job = world.view.job(job_id)
    assert job is not None and job.state == "success"
    assert set(world.material.destroyed) == {job_id}  # before and after recording the end


def test_a_job_the_executor_cannot_tell_about_yet_is_neither_started_nor_failed(
    world: World,
) -> None:
    _, job_id = world.running_job()
    world.executor.statuses[job_id] = JobStatus(Phase.UNKNOWN, reason="no list of pods yet")
    reconciler = world.reconciler()
    reconciler.tick()
    world.projector.catch_up()
    job = world.view.job(job_id)
    assert job is not None and job.state == "running"
    assert world.executor.started == []
    world.executor.statuses[job_id] = JobStatus(Phase.ABSENT, reason="its pod p does not exist")
    reconciler.tick()
    world.projector.catch_up()
    job = world.view.job(job_id)
    assert job is not None and job.state == "failure"


def test_a_job_past_its_limit_times_out_even_while_its_executor_cannot_tell(
    world: World,
) -> None:
    _, job_id = world.running_job()
    world.executor.statuses[job_id] = JobStatus(Phase.UNKNOWN)
    later = datetime.now(UTC) + timedelta(seconds=DEFAULT_MAX_DURATION + 60)
    world.reconciler(clock=lambda: later).tick()
    world.projector.catch_up()
    job = world.view.job(job_id)
    assert job is not None and job.state == "timeout"


class LaggingView:
    """The runs read model as a reconciler sees it a moment before it folds the end of a
    job: the active jobs it listed before, until told to catch up."""

    def __init__(self, view: RunsView) -> None:
        self._view, self.frozen = view, list(view.active_jobs())

    def active_jobs(self) -> Sequence[ActiveJob]:
        return self.frozen

    def running_steps(self, job_id: str) -> Sequence[RunningStep]:
        return self._view.running_steps(job_id)

    def job(self, job_id: str) -> ActiveJob | None:
        return self._view.job(job_id)


def test_a_job_it_ended_is_not_failed_again_by_a_tick_on_a_view_behind_its_end(
    world: World,
) -> None:
    """Ended and released, the job is absent from the executor; a tick before the read
    model has folded its end must not take it for a job whose processes vanished."""
    _, job_id = world.running_job()
    world.executor.statuses[job_id] = JobStatus(Phase.EXITED, exit_code=0)
    world.view = LaggingView(world.view)  # type: ignore[assignment]
    reconciler = world.reconciler()
    reconciler.tick()  # ends it: success; released
    del world.executor.statuses[job_id]  # the executor knows nothing of it any more
    reconciler.tick()  # the view still lists it as running
    assert not any("processes are gone" in line for line in world.output.lines), world.output.lines
    world.projector.catch_up()
    job = world.view.job(job_id)
    assert job is not None and job.state == "success"
