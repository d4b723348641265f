"""Cron triggers with a fake clock: once per scheduled minute, across restarts and
replicas; a tick missed while down fires once; skipped while draining."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from adapters.cron.croniter_schedule import CroniterSchedule
from adapters.sql.store import StoreConfig
from api.bootstrap import Danube, build
from api.triggers.git import GitCommits
from api.triggers.loops import sync_loop
from domain.cause import Cause
from domain.schedules.aggregates import CronTrigger
from domain.schedules.application import CronScheduler
from tests.integration.config.conftest import ConfigWorld, files, make_world
from tests.integration.execution.conftest import settings_for
from tests.integration.git.origin import Origin, git

NOON = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def nightly(app: Origin) -> dict[str, str]:
    return {
        "pipelines/nightly.yaml": f"""
            apiVersion: danube.dev/v1
            kind: Pipeline
            metadata: {{name: nightly, team: web}}
            spec:
              repository: {app.file_url}
              triggers: [{{on: cron, schedule: "*/5 * * * *", branch: main}}]
        """
    }


def app_repository(tmp_path: Path) -> Origin:
    app = Origin(tmp_path / "app")
    app.commit({"danubefile.py": "# nightly\n"}, "app")
    app.push()
    return app


@pytest.fixture
def cron(store_config: StoreConfig, tmp_path: Path) -> Iterator[tuple[ConfigWorld, Origin]]:
    app = app_repository(tmp_path)
    for world in make_world(store_config, tmp_path):
        world.push(nightly(app))
        assert world.loop.sync().outcome == "accepted"
        yield world, app


class FakeCommitResolver:
    """A branch that moves between any two resolutions. Every caller waits until all
    ``callers`` are resolving, so each of them has already found the minute due."""

    def __init__(self, callers: int) -> None:
        self._together = threading.Barrier(callers)
        self.resolved: list[str] = []

    def resolve(self, repository: str, ref: str) -> tuple[str, str]:
        self._together.wait(30)
        commit = uuid.uuid4().hex + uuid.uuid4().hex[:8]
        self.resolved.append(commit)
        return commit, f"refs/heads/{ref}"


def scheduler(world: ConfigWorld | Danube, clock: Clock, commits: object = None) -> CronScheduler:
    danube = world.danube if isinstance(world, ConfigWorld) else world
    return CronScheduler(
        danube.store.log,
        danube.runs,
        danube.config,
        danube.system,
        CroniterSchedule.for_trigger,
        commits or GitCommits(),  # type: ignore[arg-type]
        clock,
    )


def run_requests(world: ConfigWorld | Danube) -> list[object]:
    danube = world.danube if isinstance(world, ConfigWorld) else world
    notifications = danube.store.log.recorder.select_notifications(1, 10_000)
    return [n for n in notifications if n.topic == "danube:Run.Requested"]


def test_each_scheduled_minute_fires_once(cron: tuple[ConfigWorld, Origin]) -> None:
    world, app = cron
    clock = Clock(NOON)
    first = scheduler(world, clock)
    [run_hex] = first.tick()
    assert first.tick() == [], "the same minute never fires twice"
    run = world.danube.runs.get(UUID(run_hex))  # type: ignore[arg-type]
    assert (run.pipeline, run.trigger["type"], run.ref) == ("nightly", "cron", "refs/heads/main")
    assert run.trigger["scheduled_for"] == "2026-11-27T12:00:00+00:00"
    assert run.commit_sha == git("rev-parse", "HEAD", cwd=app.work)
    clock.now = NOON + timedelta(minutes=3)
    assert first.tick() == []
    clock.now = NOON + timedelta(minutes=5)
    assert len(first.tick()) == 1


def test_ticks_missed_while_down_fire_once_after_a_restart(
    cron: tuple[ConfigWorld, Origin],
) -> None:
    world, _ = cron
    clock = Clock(NOON)
    assert len(scheduler(world, clock).tick()) == 1
    clock.now = NOON + timedelta(minutes=27)  # 12:05 ... 12:25 were missed
    restarted = scheduler(world, clock)  # a new process: nothing in memory
    fired = restarted.tick()
    assert len(fired) == 1
    run = world.danube.runs.get(UUID(fired[0]))  # type: ignore[arg-type]
    assert run.trigger["scheduled_for"] == "2026-11-27T12:25:00+00:00"
    assert restarted.tick() == []


def test_a_tick_missed_while_danube_was_down_fires_once_after_a_real_restart(
    store_config: StoreConfig, tmp_path: Path
) -> None:
    app = app_repository(tmp_path)
    config_repo = Origin(tmp_path / "config-repo")
    config_repo.commit(files(nightly(app)), "config")
    config_repo.push()
    settings = settings_for(store_config, tmp_path / "data", config_repo_url=config_repo.file_url)
    clock = Clock(NOON)
    before = build(settings)
    try:
        assert sync_loop(before, before.webhook_secrets.forget).sync().outcome == "accepted"
        assert len(scheduler(before, clock).tick()) == 1
    finally:
        before.close()  # the process is gone: its store connections are closed
    clock.now = NOON + timedelta(minutes=27)  # 12:05 ... 12:25 were missed
    after = build(settings)  # a new process on the same data directory (or schema)
    try:
        restarted = scheduler(after, clock)
        [run_hex] = restarted.tick()
        assert restarted.tick() == []
        run = after.runs.get(UUID(run_hex))  # type: ignore[arg-type]
        assert run.trigger["scheduled_for"] == "2026-11-27T12:25:00+00:00"
        assert len(run_requests(after)) == 2, "12:00 before the restart, 12:25 once after it"
    finally:
        after.close()


def test_two_replicas_never_fire_one_minute_twice(cron: tuple[ConfigWorld, Origin]) -> None:
    world, _ = cron
    clock = Clock(NOON)
    replicas = [scheduler(world, clock) for _ in range(4)]
    barrier = threading.Barrier(len(replicas))
    fired: list[list[str]] = []

    def tick(replica: CronScheduler) -> None:
        barrier.wait()
        fired.append(replica.tick())

    threads = [threading.Thread(target=tick, args=(r,)) for r in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len({run for runs in fired for run in runs}) == 1
    assert len(run_requests(world)) == 1


def test_a_branch_that_moves_between_two_replicas_still_fires_the_minute_once(
    cron: tuple[ConfigWorld, Origin],
) -> None:
    world, _ = cron
    clock = Clock(NOON)
    commits = FakeCommitResolver(callers=2)
    replicas = [scheduler(world, clock, commits) for _ in range(2)]
    fired: list[list[str]] = []
    threads = [threading.Thread(target=lambda r=r: fired.append(r.tick())) for r in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(set(commits.resolved)) == 2, "each replica saw the branch at another commit"
    assert len(run_requests(world)) == 1
    assert len({run for runs in fired for run in runs}) == 1


def test_a_tick_while_draining_is_skipped_and_the_skip_recorded(
    cron: tuple[ConfigWorld, Origin],
) -> None:
    world, _ = cron
    world.danube.system.start_draining(Cause(actor="user:ops"))
    assert scheduler(world, Clock(NOON)).tick() == []
    skipped = [
        n
        for n in world.danube.store.log.recorder.select_notifications(1, 10_000)
        if n.topic == CronTrigger.Skipped.TOPIC
    ]
    assert len(skipped) == 1
    assert b"draining" in skipped[0].state
