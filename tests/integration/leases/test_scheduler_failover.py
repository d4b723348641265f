"""Two ``danube scheduler`` replicas (config sync and cron) against the real PostgreSQL:
one syncs, the other stands by; killed with SIGKILL, the standby takes over within 15 s
and syncs the next push. Each accepted config is recorded once."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.sql.store import SqlStore, StoreConfig
from domain.config.application import ConfigService
from tests.integration.config.conftest import files
from tests.integration.git.origin import Origin
from tests.integration.leases.replicas import Replicas
from tests.support import danube_env, wait_until

TAKEOVER_LIMIT = 15.0


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    repo = Origin(tmp_path / "config-repo")
    repo.commit(files(), "first")
    repo.push()
    return repo


@pytest.fixture
def schedulers(pg_store: SqlStore, origin: Origin, tmp_path: Path) -> Iterator[Replicas]:
    config: StoreConfig = pg_store.config
    env = danube_env(
        config,
        DANUBE_CONFIG_REPO_URL=origin.file_url,
        DANUBE_CONFIG_REPO_SYNC_INTERVAL="1",
        DANUBE_LOG_LEVEL="info",
    )
    replicas = Replicas("scheduler", env, config.schema, tmp_path)
    yield replicas
    replicas.stop()


def test_the_standby_scheduler_takes_over_a_killed_one_and_syncs_the_next_push(
    pg_store: SqlStore, origin: Origin, schedulers: Replicas
) -> None:
    config = ConfigService(pg_store.log)
    first = origin.commit(files(), "first")  # the head the active one syncs
    origin.push()
    schedulers.start(2)
    active = schedulers.active()
    wait_until(
        lambda: getattr(config.current(), "commit", "") == first,
        timeout=60,
        what="the active scheduler to sync the config",
    )
    active.send_signal(signal.SIGKILL)
    took = schedulers.take_over_after(active, TAKEOVER_LIMIT)
    second = origin.commit(
        files(
            {
                "config.yaml": "apiVersion: danube.dev/v1\nkind: Config\nmetadata: {name: danube}\nspec: {retention: {logs_days: 7}}\n"
            }
        ),
        "second",
    )
    origin.push()
    wait_until(
        lambda: getattr(config.current(), "commit", "") == second,
        timeout=30,
        what="the new holder to sync the push",
    )
    assert took < TAKEOVER_LIMIT
    accepted = [
        n
        for n in pg_store.log.recorder.select_notifications(1, 1_000_000)
        if n.topic.endswith("Accepted")
    ]
    assert len(accepted) == 2, [n.topic for n in accepted]
    assert "Traceback" not in schedulers.log()


def test_on_sqlite_the_one_scheduler_holds_its_lease_and_syncs_at_once(
    origin: Origin, tmp_path: Path
) -> None:
    store = SqlStore(StoreConfig(kind="sqlite", data_dir=tmp_path / "data"))
    env = danube_env(store.config, DANUBE_CONFIG_REPO_URL=origin.file_url, DANUBE_LOG_LEVEL="info")
    replicas = Replicas("scheduler", env, "", tmp_path)
    try:
        replicas.start(1)
        config = ConfigService(store.log)
        wait_until(lambda: config.current() is not None, timeout=60, what="the config sync")
    finally:
        replicas.stop()
        store.close()
    assert replicas.processes[0].returncode == 0
    assert "standing by" not in replicas.log()
    assert not (tmp_path / "data" / "master.key").exists()  # the scheduler never reads it
