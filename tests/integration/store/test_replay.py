"""``danube replay``: rebuilt read models equal the live ones; differences are found."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from adapters.sql.replay import replay
from adapters.sql.store import SqlStore, StoreConfig
from api.processes import Supervisor
from domain.runs.application import RunsService
from projections.runs import RunsProjection
from projections.runs_view import RunsView
from tests.integration.store.scenarios import random_runs
from tests.support import danube_env, wait_until


@pytest.fixture(scope="module")
def live(shared_store: SqlStore) -> Iterator[SqlStore]:
    """A store with a live follower running while a few hundred random runs happen.
    Shared by the tests of this module; each leaves the read models consistent."""
    store = shared_store
    supervisor = Supervisor()
    supervisor.add("projector", store.projector(RunsProjection(), batch_size=64).follow)
    head = random_runs(RunsService(store.log), 300, seed=11)
    wait_until(lambda: store.views.position("runs") == head, what="the live follower")
    yield store
    supervisor.stop()


@pytest.fixture
def store_config(live: SqlStore) -> StoreConfig:
    return live.config


def danube(config: StoreConfig, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=danube_env(config),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_replay_after_hundreds_of_random_runs_equals_the_live_read_models(
    store_config: StoreConfig, live: SqlStore
) -> None:
    result = danube(store_config, "replay", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "runs: matches at position" in result.stdout


def test_replay_check_reports_a_difference_and_fails(
    store_config: StoreConfig, live: SqlStore
) -> None:
    view = RunsView(live.views.reader(RunsProjection()))
    victim = view.runs(limit=1).items[0]
    with live.dialect.write() as cur:
        p = live.dialect.placeholder
        cur.execute(
            f"UPDATE {live.views.table_name('runs')} SET state = {p} WHERE id = {p}",
            ("tampered", victim.id),
        )
    result = danube(store_config, "replay", "--check")
    assert result.returncode == 1
    assert "runs: DIFFERS" in result.stdout
    assert f"runs {victim.id}: state: live='tampered'" in result.stdout
    assert danube(store_config, "replay").returncode == 0
    assert view.run(victim.id) == victim


def test_replay_rebuilds_the_live_read_models_and_following_continues(
    store_config: StoreConfig, live: SqlStore
) -> None:
    view = RunsView(live.views.reader(RunsProjection()))
    victim = view.runs(limit=1).items[0]
    with live.dialect.write() as cur:
        cur.execute(
            f"DELETE FROM {live.views.table_name('runs')} WHERE id = {live.dialect.placeholder}",
            (victim.id,),
        )
    assert view.run(victim.id) is None
    result = danube(store_config, "replay")
    assert result.returncode == 0, result.stdout + result.stderr
    assert view.run(victim.id) == victim
    head = random_runs(RunsService(live.log), 5, seed=12)
    wait_until(lambda: live.views.position("runs") == head, what="following after the swap")
    assert replay(live.feed, live.views, RunsProjection(), check=True).matches
