"""Two replicas of the dispatcher and of the projector as real processes against the
real PostgreSQL, with runs flowing (the rest of the system in this process, jobs on the
local executor): kill -9 the active one, and the standby holds the lease within 15 s;
every run ends once and rightly, no job is scheduled or started twice, no step runs
twice, and the read models equal a replay of the log (no event missed or applied twice).
A lease connection terminated by the server ends the active process at once."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from adapters.local.executor import LocalExecutor
from adapters.sql.replay import replay_all
from adapters.sql.store import StoreConfig
from api.bootstrap import Danube, build
from api.execution.lifetimes import grpc_server as serve_job_calls
from api.execution.loops import dispatcher, output_flusher, reconciler
from api.processes import Supervisor, start_projectors
from domain.ids import JobId, job_id_for, new_run_id
from domain.runs.application import RunRequest
from tests.integration.execution.conftest import TERMINAL, USER, make_repo, settings_for
from tests.integration.leases.replicas import Replicas
from tests.support import PG_URL, danube_env, wait_until

TAKEOVER_LIMIT = 15.0


@dataclass
class Cluster:
    danube: Danube
    env: dict[str, str]
    tmp: Path
    schema: str
    jobs: list[JobId] = field(default_factory=list)

    def request(self, count: int) -> None:
        for _ in range(count):
            n = len(self.jobs)
            repo, commit = make_repo(
                self.tmp / f"repo-{n}",
                f"""
                from danube import pipeline, step

                @pipeline(name="demo")
                def build() -> None:
                    step.run("echo {n} >> {self.tmp / "marks"}; echo run {n}")
                """,
            )
            run_id = new_run_id()
            self.danube.runs.request_run(
                RunRequest(
                    run_id=run_id,
                    pipeline="demo",
                    repository=str(repo),
                    ref="refs/heads/main",
                    commit_sha=commit,
                    trigger={"type": "manual"},
                    spec={},
                ),
                USER,
            )
            self.jobs.append(job_id_for(run_id, "main"))

    def states(self) -> list[str]:
        return [getattr(self.danube.views.job(j), "state", "") for j in self.jobs]

    def finished(self) -> int:
        return sum(state in TERMINAL for state in self.states())

    def all_finished(self, timeout: float = 120) -> None:
        wait_until(
            lambda: self.finished() == len(self.jobs), timeout=timeout, what="every job to end"
        )

    def replicas(self, command: str) -> Replicas:
        return Replicas(command, self.env, self.schema, self.tmp)

    def events(self, topic_end: str) -> dict[str, int]:
        """How many events of one kind name each job."""
        counts: dict[str, int] = {}
        for n in self.danube.store.log.recorder.select_notifications(1, 10_000_000):
            if n.topic.endswith(topic_end):
                for job in self.jobs:
                    if job.hex.encode() in n.state or str(job).encode() in n.state:
                        counts[job.hex] = counts.get(job.hex, 0) + 1
        return counts


def in_process(cluster_parts: str) -> Callable[..., Iterator[Cluster]]:
    """A fixture running everything but ``cluster_parts`` (the replicated role) here."""

    @pytest.fixture
    def fixture(pg_store_config: StoreConfig, tmp_path: Path) -> Iterator[Cluster]:
        data = tmp_path / "data"
        danube = build(settings_for(pg_store_config, data, max_concurrent_jobs=3))
        danube.store.start_listening()
        supervisor = Supervisor()
        supervisor.on_stop(danube.store.views.announce_all)
        grpc = serve_job_calls(danube, "127.0.0.1:0")
        if cluster_parts != "projector":
            start_projectors(danube, supervisor)
        if cluster_parts != "dispatcher":
            supervisor.add("dispatcher", dispatcher(danube))
        executor = LocalExecutor(data / "workspaces")
        reconciling = reconciler(danube, executor, grpc.address)
        supervisor.add("reconciler", reconciling)
        supervisor.add("output-flusher", output_flusher(danube.logs))
        env = danube_env(pg_store_config, DANUBE_DATA_DIR=str(data), DANUBE_LOG_LEVEL="info")
        try:
            yield Cluster(danube, env, tmp_path, pg_store_config.schema)
        finally:
            danube.stop()
            supervisor.stop_workers()
            grpc.server.stop(grace=0.5)
            executor.close()
            reconciling.wait_for_steps(5.0)
            supervisor.stop_followers()
            danube.close()

    return fixture


dispatching = in_process("dispatcher")
projecting = in_process("projector")


def assert_each_ran_once(cluster: Cluster) -> None:
    assert cluster.states() == ["success"] * len(cluster.jobs), cluster.states()
    marks = sorted(int(line) for line in (cluster.tmp / "marks").read_text().split())
    assert marks == list(range(len(cluster.jobs))), "a step ran twice or not at all"
    for kind in ("JobScheduled", "JobStarted", "JobFinished"):
        counts = cluster.events(kind)
        assert counts == {job.hex: 1 for job in cluster.jobs}, (kind, counts)


def assert_views_equal_a_replay(danube: Danube) -> None:
    results = replay_all(danube.store.feed, danube.store.views, danube.projections, check=True)
    for result in results:
        assert result.matches, (result.projection, result.differences[:5])


def test_the_standby_dispatcher_takes_over_a_killed_one_and_nothing_runs_twice(
    dispatching: Cluster,
) -> None:
    cluster = dispatching
    replicas = cluster.replicas("dispatcher")
    replicas.start(2)
    try:
        active = replicas.active()
        cluster.request(6)
        wait_until(lambda: cluster.finished() >= 1, timeout=90, what="runs to flow")
        active.send_signal(signal.SIGKILL)
        took = replicas.take_over_after(active, TAKEOVER_LIMIT)
        cluster.request(4)
        cluster.all_finished()
        assert took < TAKEOVER_LIMIT
        assert_each_ran_once(cluster)
    finally:
        replicas.stop()
    assert "Traceback" not in replicas.log()


def test_the_standby_projector_takes_over_a_killed_one_and_no_event_is_missed_or_applied_twice(
    projecting: Cluster,
) -> None:
    cluster = projecting
    replicas = cluster.replicas("projector")
    replicas.start(2)
    try:
        active = replicas.active()
        cluster.request(6)
        wait_until(lambda: cluster.finished() >= 1, timeout=90, what="runs to flow")
        active.send_signal(signal.SIGKILL)
        took = replicas.take_over_after(active, TAKEOVER_LIMIT)
        cluster.request(4)
        cluster.all_finished()
        assert took < TAKEOVER_LIMIT
        assert_each_ran_once(cluster)
        assert_views_equal_a_replay(cluster.danube)
    finally:
        replicas.stop()
    assert "Traceback" not in replicas.log()


def test_an_active_dispatcher_whose_lease_session_is_terminated_exits_and_is_replaced(
    dispatching: Cluster,
) -> None:
    cluster = dispatching
    replicas = cluster.replicas("dispatcher")
    replicas.start(2)
    try:
        active = replicas.active()
        _, epoch = replicas.holder() or (0, 0)
        cluster.request(3)
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s AND pid IN (SELECT pid FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted)",
                (f"danube-lease-dispatcher:{cluster.schema}",),
            )
        assert active.wait(10) == 1  # it stops acting at once: the process ends
        replicas.take_over_after(active, TAKEOVER_LIMIT)
        assert (replicas.holder() or (0, 0))[1] == epoch + 1
        cluster.request(3)
        cluster.all_finished()
        assert_each_ran_once(cluster)
    finally:
        replicas.stop()
    assert "lost the dispatcher lease: its database session ended" in replicas.log()


def test_a_standby_stops_at_once_on_sigterm_and_the_active_one_hands_over_on_it(
    dispatching: Cluster,
) -> None:
    cluster = dispatching
    replicas = cluster.replicas("dispatcher")
    replicas.start(3)
    try:
        active = replicas.active()
        wait_until(lambda: len(replicas.standing_by()) == 2, timeout=60, what="two standbys")
        standby = replicas.standing_by()[0]
        standby.send_signal(signal.SIGTERM)
        assert standby.wait(10) == 0
        active.send_signal(signal.SIGTERM)  # releases the lease as its last act
        assert active.wait(20) == 0
        took = replicas.take_over_after(active, TAKEOVER_LIMIT)
        assert took < 5.0
        cluster.request(2)
        cluster.all_finished()
        assert_each_ran_once(cluster)
    finally:
        replicas.stop()


def test_a_dispatcher_paused_past_its_lease_does_not_act_again_when_it_wakes(
    dispatching: Cluster,
) -> None:
    cluster = dispatching
    cluster.env["DANUBE_DATABASE_LEASE_TTL"] = "4"
    replicas = cluster.replicas("dispatcher")
    replicas.start(2)
    try:
        paused = replicas.active()
        _, epoch = replicas.holder() or (0, 0)
        cluster.request(3)
        wait_until(lambda: cluster.finished() >= 1, timeout=90, what="runs to flow")
        paused.send_signal(signal.SIGSTOP)
        took = replicas.take_over_after(paused, TAKEOVER_LIMIT)
        assert took < TAKEOVER_LIMIT
        assert (replicas.holder() or (0, 0))[1] == epoch + 1
        cluster.request(3)  # queued while the paused one wakes: only the new holder acts
        paused.send_signal(signal.SIGCONT)
        assert paused.wait(20) == 1
        cluster.all_finished()
        assert_each_ran_once(cluster)
    finally:
        replicas.stop()
    assert "lost the dispatcher lease" in replicas.log()
