"""Projections follow the log live and in batches, exactly once, on both stores."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest

from adapters.sql.projector import Projector
from adapters.sql.replay import replay
from adapters.sql.store import SqlStore, StoreConfig
from api.processes import Supervisor
from domain.cause import Cause
from domain.ids import job_id_for, new_run_id
from domain.runs.application import RunRequest, RunsService
from domain.runs.states import JobState
from projections.runs import RunsProjection
from projections.runs_view import RunsView
from tests.integration.store.scenarios import random_runs
from tests.support import PG_URL, danube_env, wait_until

ALICE = Cause(actor="user:alice", trigger="manual")


@pytest.fixture
def following(store: SqlStore) -> Iterator[Supervisor]:
    supervisor = Supervisor()
    store.start_listening()
    supervisor.add("projector", store.projector(RunsProjection()).follow)
    yield supervisor
    supervisor.stop()


def request(runs: RunsService, pipeline: str = "web") -> tuple:  # type: ignore[type-arg]
    run_id = new_run_id()
    position = runs.request_run(
        RunRequest(
            run_id=run_id,
            pipeline=pipeline,
            repository="r",
            ref="refs/heads/main",
            commit_sha="e" * 40,
            trigger={"type": "manual"},
        ),
        ALICE,
    )
    return run_id, job_id_for(run_id, "main"), position


def test_a_live_follower_shows_each_command_in_the_read_model(
    store: SqlStore, following: Supervisor
) -> None:
    runs, view = RunsService(store.log), RunsView(store.views.reader(RunsProjection()))
    progress = store.views.progress("runs")
    run_id, job, position = request(runs)
    assert progress.wait_for_position(position, timeout=5)
    assert view.run(run_id).state == "pending"  # type: ignore[union-attr]
    runs.schedule_job(run_id, job, ALICE)
    position = runs.start_job(run_id, job, ALICE)
    assert progress.wait_for_position(position, timeout=5)
    assert view.job(job).state == "running"  # type: ignore[union-attr]
    position = runs.finish_job(run_id, job, JobState.FAILURE, "exit 1", ALICE)
    assert progress.wait_for_position(position, timeout=5)
    run, pipeline = view.run(run_id), view.pipeline("web")
    assert (run.state, run.finished_at is not None) == ("failure", True)  # type: ignore[union-attr]
    assert (pipeline.last_run_id, pipeline.last_state) == (run_id.hex, "failure")  # type: ignore[union-attr]


def test_catch_up_applies_many_events_per_transaction(store: SqlStore) -> None:
    head = random_runs(RunsService(store.log), 150)
    projector = store.projector(RunsProjection(), batch_size=500)
    projector.start()
    assert projector.step() == 500, "one batch covers 500 notifications in one transaction"
    assert store.views.position("runs") == projector.position
    projector.catch_up()
    assert store.views.position("runs") == head == store.feed.max_position()
    view = RunsView(store.views.reader(RunsProjection()))
    assert sum(p.run_count for p in view.pipelines()) == 150


def test_two_followers_of_one_projection_never_apply_an_event_twice(store: SqlStore) -> None:
    random_runs(RunsService(store.log), 120)
    first = store.projector(RunsProjection(), batch_size=50)
    second = Projector(store.feed, store.views, RunsProjection(), batch_size=50)
    first.start()
    second.start()
    done = threading.Event()

    def race(projector: Projector) -> None:
        while projector.position < store.feed.max_position() and not done.is_set():
            projector.step()

    threads = [threading.Thread(target=race, args=(p,)) for p in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    view = RunsView(store.views.reader(RunsProjection()))
    assert sum(p.run_count for p in view.pipelines()) == 120
    assert replay(store.feed, store.views, RunsProjection(), check=True).matches


def test_a_follower_killed_during_catch_up_resumes_without_missing_or_repeating(
    store_config: StoreConfig, store: SqlStore
) -> None:
    head = random_runs(RunsService(store.log), 250)
    env = danube_env(store_config)
    command = [sys.executable, "-m", "api.cli", "projector"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        store.views.ensure(RunsProjection())
        wait_until(
            lambda: 0 < store.views.position("runs") < head,
            timeout=30,
            what="the projector to be part-way through the backlog",
        )
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        stopped_at = store.views.position("runs")
        assert stopped_at < head
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        wait_until(
            lambda: store.views.position("runs") == head,
            timeout=60,
            what="the restarted projector to catch up",
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
    view = RunsView(store.views.reader(RunsProjection()))
    assert sum(p.run_count for p in view.pipelines()) == 250, "no run counted twice or missed"
    assert replay(store.feed, store.views, RunsProjection(), check=True).matches


def test_a_follower_recovers_when_postgres_kills_all_its_connections(
    pg_store_config: StoreConfig,
) -> None:
    """Every connection of the store (the library's pool, the writer, the views pool, the
    LISTEN connection) is terminated by the server; only those. The follower's poll is
    set out of reach, so only NOTIFY on the re-established LISTEN can wake it."""
    config = replace(pg_store_config, poll_interval_seconds=3600.0)
    store = SqlStore(config)
    store.views.ensure(RunsProjection())
    following = Supervisor()
    store.start_listening()
    following.add("projector", store.projector(RunsProjection()).follow, follower=True)
    try:
        _kill_connections_under_a_live_follower(store, config)
    finally:
        following.stop()
        store.close()


def _kill_connections_under_a_live_follower(store: SqlStore, store_config: StoreConfig) -> None:
    runs = RunsService(store.log)
    progress = store.views.progress("runs")
    _, _, position = request(runs)
    assert progress.wait_for_position(position, timeout=5)
    assert store.listener is not None
    wait_until(store.listener.connected.is_set, what="LISTEN connection")
    reconnects = store.listener.reconnects
    ours = f"danube-%:{store_config.schema}"
    with psycopg.connect(PG_URL, autocommit=True, application_name="test-admin") as admin:
        names = _names_of_this_process_connections(admin)
        assert names, "this process holds connections"
        assert all(name.startswith("danube-") and ":" in name for name in names), names
        assert any(name.endswith(f":{store_config.schema}") for name in names), names
        killed = admin.execute(
            "SELECT application_name FROM pg_stat_activity "
            "WHERE application_name LIKE %s AND pg_terminate_backend(pid)",
            (ours,),
        ).fetchall()
        roles = {name.partition(":")[0] for (name,) in killed}
        assert roles >= {"danube-events", "danube-writer", "danube-views", "danube-listen"}, roles
    wait_until(lambda: store.listener.reconnects > reconnects, what="LISTEN reconnect")  # type: ignore[union-attr]
    # A save from another process (simulated by a second store) is seen through NOTIFY.
    other = SqlStore(store_config)
    try:
        run_id, _, position = request(RunsService(other.log), pipeline="after-kill")
    finally:
        other.close()
    wait_until(
        lambda: store.views.position("runs") >= position,
        timeout=10,  # far below the poll interval: NOTIFY woke the follower
        what="the follower to see an event saved after its connections died",
    )
    view = RunsView(store.views.reader(RunsProjection()))
    assert view.run(run_id) is not None
    # This process's own appends go through a connection that was killed too: they reconnect.
    own, _, position = request(runs, pipeline="own-after-kill")
    wait_until(lambda: store.views.position("runs") >= position, what="the process's own save")
    assert view.run(own) is not None


def _names_of_this_process_connections(admin: psycopg.Connection) -> list[str]:  # type: ignore[type-arg]
    """The application_name of every server backend whose client is a socket of this
    process (from /proc: this process's socket inodes, their local ports), admin aside."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rpartition(":")[2], 16))
    rows = admin.execute(
        "SELECT application_name, client_port FROM pg_stat_activity "
        "WHERE pid <> pg_backend_pid() AND client_port IS NOT NULL"
    ).fetchall()
    return [name for name, port in rows if port in ports]
