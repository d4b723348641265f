"""Projections follow the log live and in batches, exactly once, on both stores."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

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
from projections.config import ConfigProjection
from projections.deliveries import DeliveriesProjection
from projections.runs import RunsProjection
from projections.runs_view import RunsView
from tests.conftest import make_store_config
from tests.integration.store.scenarios import random_runs
from tests.support import PG_URL, danube_env, drop_schema, wait_until

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


def test_one_follower_folds_every_projection_once_from_one_read(store: SqlStore) -> None:
    head = random_runs(RunsService(store.log), 120)
    projections = [RunsProjection(), ConfigProjection(), DeliveriesProjection()]
    group = store.projector_group(projections, batch_size=100)
    group.start()
    assert group.step() == 100
    assert {p.name: store.views.position(p.name) for p in projections} == dict.fromkeys(
        ("runs", "config", "deliveries"), group.positions["runs"]
    )  # moved together, in one transaction
    group.catch_up()
    view = RunsView(store.views.reader(RunsProjection()))
    assert sum(p.run_count for p in view.pipelines()) == 120
    for projection in projections:
        assert store.views.position(projection.name) == head
        assert replay(store.feed, store.views, projection, check=True).matches


def test_a_projection_behind_the_others_gets_only_what_it_has_not_folded(
    store: SqlStore,
) -> None:
    """A read model rebuilt or added later starts from its own position, and another
    writer moving one under the follower makes it re-read, not fold twice."""
    runs, alone = RunsService(store.log), store.projector(RunsProjection())
    alone.start()
    random_runs(runs, 40)
    alone.catch_up()  # runs is ahead, deliveries at 0
    random_runs(runs, 30, seed=8)
    group = store.projector_group([RunsProjection(), DeliveriesProjection()], batch_size=50)
    group.start()
    alone.catch_up()  # moved under the group
    steps = []
    while count := group.step():
        steps.append(count)
    assert -1 in steps  # it noticed once its batches reached runs, and re-read
    head = store.feed.max_position()
    assert group.positions == {"runs": head, "deliveries": head}
    assert store.views.position("deliveries") == head
    view = RunsView(store.views.reader(RunsProjection()))
    assert sum(p.run_count for p in view.pipelines()) == 70
    assert replay(store.feed, store.views, RunsProjection(), check=True).matches


def test_rows_and_tracking_commit_together_or_not_at_all(store: SqlStore) -> None:
    """A failure after a batch's rows were written and before its commit (a trigger on
    the tracking write that fails once it can see the batch's run row) leaves neither the
    rows nor the position; the next attempt applies the batch once."""
    runs, view = RunsService(store.log), RunsView(store.views.reader(RunsProjection()))
    projector = store.projector(RunsProjection())
    projector.start()
    projector.catch_up()
    before = store.views.position("runs")
    run_id, job, position = request(runs, pipeline="all-or-nothing")
    _fail_the_tracking_write_once_the_run_row_is_there(store, run_id.hex)
    with pytest.raises(Exception, match="injected failure"):
        projector.step()
    assert store.views.position("runs") == before
    assert (view.run(run_id), view.job(job), view.pipeline("all-or-nothing")) == (None,) * 3
    with store.dialect.write() as cur:
        cur.execute("DROP TRIGGER danube_test_fail_tracking" + _on_tracking(store))
    projector.position = store.views.position("runs")
    projector.catch_up()
    assert store.views.position("runs") == position
    assert view.run(run_id).state == "pending"  # type: ignore[union-attr]
    assert view.pipeline("all-or-nothing").run_count == 1  # type: ignore[union-attr]


def _on_tracking(store: SqlStore) -> str:
    return f" ON {store.views.table_name('tracking')}" if store.dialect.name == "postgres" else ""


def _fail_the_tracking_write_once_the_run_row_is_there(store: SqlStore, run_id: str) -> None:
    tracking, runs_table = store.views.table_name("tracking"), store.views.table_name("runs")
    with store.dialect.write() as cur:
        if store.dialect.name == "sqlite":
            cur.execute(
                f"CREATE TRIGGER danube_test_fail_tracking AFTER UPDATE ON {tracking} "
                f"WHEN EXISTS (SELECT 1 FROM {runs_table} WHERE id = '{run_id}') "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )
            return
        function = f'"{store.config.schema}".danube_test_fail_tracking'
        cur.execute(
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF EXISTS (SELECT 1 FROM {runs_table} WHERE id = '{run_id}') THEN "
            "RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$"
        )
        cur.execute(
            f"CREATE TRIGGER danube_test_fail_tracking AFTER UPDATE ON {tracking} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )


def test_a_follower_killed_inside_a_batch_resumes_without_missing_or_repeating(
    store_config: StoreConfig, store: SqlStore
) -> None:
    """Killed (SIGKILL) in its third batch of 40, after that batch's rows and position
    were written and before commit: what it committed is exactly two batches, folded
    once; restarted, the real projector process catches up and every run counts once."""
    head = random_runs(RunsService(store.log), 250)
    store.views.ensure(RunsProjection())
    config = {"kind": store_config.kind, "schema": store_config.schema}
    config |= {
        "database_url": store_config.database_url,
        "data_dir": str(store_config.data_dir or ""),
    }
    killed = subprocess.run(
        [sys.executable, "-m", "tests.integration.store.killed_follower"],
        env=danube_env(
            store_config, DANUBE_TEST_STORE=json.dumps(config), KILL_IN_BATCH="3", BATCH_SIZE="40"
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    two_batches = store.feed.read(0, 80)[-1].id
    assert store.views.position("runs") == two_batches, "the third batch left nothing"
    assert replay(store.feed, store.views, RunsProjection(), check=True).matches, (
        "the live rows are exactly the fold of what was committed"
    )
    command = [sys.executable, "-m", "api.cli", "projector"]
    process = subprocess.Popen(command, env=danube_env(store_config), stdout=subprocess.DEVNULL)
    try:
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


def test_another_schemas_read_model_moving_does_not_move_this_one(
    pg_store_config: StoreConfig, tmp_path: Path
) -> None:
    """NOTIFY channels are database-wide: a read model of another installation (another
    schema) moving to position 3 must not tell this one's waiters it reached 3."""
    other = SqlStore(make_store_config("postgres", tmp_path / "other"))
    here, writer = SqlStore(pg_store_config), SqlStore(pg_store_config)
    try:
        here.start_listening()
        assert here.listener is not None and here.listener.connected.wait(10)
        for _ in range(3):
            request(RunsService(other.log))
        folded = other.projector(RunsProjection())
        folded.start()
        folded.catch_up()  # notifies: runs at 3, in the other schema
        run_id, _, position = request(RunsService(writer.log))
        assert position == 1
        mine = writer.projector(RunsProjection())
        mine.start()
        mine.catch_up()  # notifies: runs at 1, here (after the other's, in commit order)
        progress = here.views.progress("runs")
        wait_until(lambda: progress.position >= 1, what="this schema's NOTIFY relayed")
        assert progress.position == 1
        assert RunsView(here.views.reader(RunsProjection())).run(run_id) is not None
    finally:
        for store in (here, writer, other):
            store.close()
        drop_schema(other.config.schema)
