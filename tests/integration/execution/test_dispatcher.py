"""The dispatcher: FIFO within a global and a per-pipeline limit, waiting reasons as a
read model, nothing while draining, and no double scheduling after a restart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.sql.store import SqlStore
from domain.cause import Cause
from domain.execution.dispatcher import Dispatcher
from domain.ids import JobId, RunId, job_id_for, new_run_id
from domain.runs.application import RunRequest, RunsService
from domain.runs.states import JobState
from domain.system.application import SystemService
from projections.runs import RunsProjection
from projections.runs_view import RunsView

USER = Cause(actor="user:test")


class World:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.runs = RunsService(store.log)
        self.system = SystemService(store.log)
        self.projector = store.projector(RunsProjection())
        self.projector.start()
        self.view = RunsView(store.views.reader(RunsProjection()))

    def settle(self, position: int = 0) -> None:
        self.projector.catch_up()

    def dispatcher(self, limit: int) -> Dispatcher:
        return Dispatcher(self.runs, self.view, self.system, limit, self.settle)

    def request(self, pipeline: str, **spec: object) -> tuple[RunId, JobId]:
        run_id = new_run_id()
        self.runs.request_run(
            RunRequest(
                run_id=run_id,
                pipeline=pipeline,
                repository="r",
                ref="refs/heads/main",
                commit_sha="c" * 40,
                trigger={"type": "manual"},
                spec=dict(spec),
            ),
            USER,
        )
        self.settle()
        return run_id, job_id_for(run_id, "main")

    def states(self, jobs: list[tuple[RunId, JobId]]) -> list[str]:
        self.settle()
        return [self.view.job(job).state for _, job in jobs]  # type: ignore[union-attr]

    def finish(self, run_job: tuple[RunId, JobId]) -> None:
        run_id, job_id = run_job
        self.runs.start_job(run_id, job_id, USER)
        self.runs.finish_job(run_id, job_id, JobState.SUCCESS, "", USER)
        self.settle()


@pytest.fixture
def world(store: SqlStore) -> Iterator[World]:
    return World(store)


def test_jobs_start_first_come_first_served_within_the_global_limit(world: World) -> None:
    jobs = [world.request(f"p{i}") for i in range(5)]
    dispatcher = world.dispatcher(limit=2)
    assert dispatcher.tick() == 2
    assert world.states(jobs) == ["scheduling", "scheduling", "pending", "pending", "pending"]
    assert dispatcher.tick() == 0, "a second tick schedules nothing more"
    waiting = world.view.run(jobs[2][0])
    assert waiting is not None
    assert waiting.waiting_reason == "waiting for capacity: 2 of 2 jobs active"
    world.finish(jobs[0])
    assert dispatcher.tick() == 1
    assert world.states(jobs) == ["success", "scheduling", "scheduling", "pending", "pending"]


def test_a_pipeline_limit_holds_its_own_runs_but_not_others(world: World) -> None:
    first, second = world.request("web", concurrency=1), world.request("web", concurrency=1)
    other = world.request("docs")
    assert world.dispatcher(limit=10).tick() == 2
    assert world.states([first, second, other]) == ["scheduling", "pending", "scheduling"]
    reason = world.view.run(second[0]).waiting_reason  # type: ignore[union-attr]
    assert reason == "waiting for pipeline web: 1 of 1 jobs active"


def test_nothing_starts_while_draining(world: World) -> None:
    jobs = [world.request("web") for _ in range(2)]
    world.system.start_draining(Cause(actor="user:ops"))
    dispatcher = world.dispatcher(limit=4)
    assert dispatcher.tick() == 0
    assert world.states(jobs) == ["pending", "pending"]
    assert "draining" in world.view.run(jobs[0][0]).waiting_reason  # type: ignore[union-attr]
    world.system.stop_draining(Cause(actor="user:ops"))
    assert dispatcher.tick() == 2


def test_a_restarted_dispatcher_never_schedules_twice_or_overshoots(world: World) -> None:
    jobs = [world.request("web") for _ in range(4)]
    assert world.dispatcher(limit=2).tick() == 2
    before = world.store.log.position()
    restarted = world.dispatcher(limit=2)  # a new process: no memory of the first
    assert restarted.tick() == 0
    assert world.states(jobs).count("scheduling") == 2
    assert world.store.log.position() == before, "nothing recorded twice"


def test_cancelled_runs_leave_the_queue(world: World) -> None:
    first, second = world.request("web"), world.request("web")
    world.runs.cancel_run(first[0], USER)
    world.settle()
    assert world.dispatcher(limit=1).tick() == 1
    assert world.states([first, second]) == ["cancelled", "scheduling"]
