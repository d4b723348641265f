"""Two ``danube pod-adapter`` replicas against the Kubernetes API double and the real
PostgreSQL, next to an in-process master (projectors, dispatcher, JobService). Killed
with SIGKILL while steps run, the standby takes over within 15 s and finishes every
job once: no pod created twice, no step run twice, no output lost or repeated. Paused
(SIGSTOP) past its lease and woken again, the former holder acts no more: it exits."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.sql.store import StoreConfig
from api.bootstrap import build
from api.execution.lifetimes import grpc_server as serve_job_calls
from api.execution.loops import dispatcher
from api.processes import Supervisor, start_projectors
from api.settings import Settings
from domain.ids import JobId
from tests.integration.execution.conftest import TERMINAL
from tests.integration.k8s_double.support import validate_served
from tests.integration.kubernetes.conftest import COORDINATOR, NAMESPACE
from tests.integration.kubernetes.leftovers import assert_nothing_left
from tests.integration.kubernetes.test_pod_adapter_process import Master, finished_events
from tests.integration.leases.replicas import Replicas
from tests.k8s_double import KubernetesDouble
from tests.support import danube_env, wait_until

TAKEOVER_LIMIT = 15.0
LEASE_TTL = 4


@pytest.fixture
def master(pg_store_config: StoreConfig, tmp_path: Path) -> Iterator[Master]:
    double = KubernetesDouble(token="k8s-double-token", auto=True)
    double.create_namespace(NAMESPACE)
    kubeconfig = double.write_kubeconfig(tmp_path / "kubeconfig")
    data = tmp_path / "data"
    values: dict[str, Any] = {
        "data_dir": data,
        "log_level": "warning",
        "event_store": "postgres",
        "database_url": SecretStr(pg_store_config.database_url),
        "database_schema": pg_store_config.schema,
    }
    danube = build(Settings(**values))
    danube.store.start_listening()
    supervisor = Supervisor()
    start_projectors(danube, supervisor)
    supervisor.add("dispatcher", dispatcher(danube))
    grpc = serve_job_calls(danube, "127.0.0.1:0")
    env = danube_env(
        pg_store_config,
        DANUBE_DATA_DIR=str(data),  # the same master key: the same job tokens
        DANUBE_KUBECONFIG=str(kubeconfig),
        DANUBE_K8S_NAMESPACE_JOBS=NAMESPACE,
        DANUBE_K8S_COORDINATOR_COMMAND=COORDINATOR,
        DANUBE_K8S_MASTER_ADDRESS=grpc.address,
        DANUBE_POD_ADAPTER_METRICS_ADDRESS="",
        DANUBE_DATABASE_LEASE_TTL=str(LEASE_TTL),
        DANUBE_LOG_LEVEL="info",
    )
    try:
        yield Master(danube, grpc, double, env, tmp_path)
    finally:
        supervisor.stop()
        grpc.stop(grace=0.5)
        danube.close()
        double.close()
    assert not double.server_errors, "\n".join(double.server_errors)
    validate_served(double.requests)


def adapters(master: Master) -> Replicas:
    replicas = Replicas(
        "pod-adapter", master.env, master.danube.settings.database_schema, master.tmp
    )
    replicas.start(2)
    return replicas


def two_step_run(master: Master, n: int) -> JobId:
    marks, go = master.tmp / "marks", master.tmp / "go"
    _, job_id = master.request(f"""
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("echo {n}-1 >> {marks}; echo half")
            step.run(
                "echo {n}-2 >> {marks}; while [ ! -e {go} ]; do sleep 0.05; done; echo done {n}"
            )
    """)
    return job_id


def assert_each_job_ran_once(master: Master, jobs: list[JobId]) -> None:
    states = [master.state(j) for j in jobs]
    assert states == ["success"] * len(jobs), states
    marks = sorted((master.tmp / "marks").read_text().split())
    assert marks == sorted(f"{n}-{s}" for n in range(len(jobs)) for s in (1, 2)), marks
    for n, job in enumerate(jobs):
        assert master.danube.logs.step_bytes(job, 1, "stdout") == b"half\n"
        assert master.danube.logs.step_bytes(job, 2, "stdout") == f"done {n}\n".encode()
        assert finished_events(master.danube, job) == 1
    creates = master.double.requests_matching(verb="create", resource="pods")
    assert len(creates) == len(jobs), [r for r in creates]
    assert_nothing_left(master.double, NAMESPACE)


def test_the_standby_pod_adapter_takes_over_a_killed_one_mid_step_and_nothing_runs_twice(
    master: Master,
) -> None:
    replicas = adapters(master)
    try:
        active = replicas.active()
        jobs = [two_step_run(master, n) for n in range(3)]
        for job in jobs:
            wait_until(
                lambda job=job: len(master.danube.views.steps(job)) == 2,
                timeout=60,
                what="every job's second step to run",
            )
        active.send_signal(signal.SIGKILL)
        took = replicas.take_over_after(active, TAKEOVER_LIMIT)
        jobs.append(two_step_run(master, 3))
        (master.tmp / "go").touch()
        wait_until(
            lambda: all(master.state(j) in TERMINAL for j in jobs),
            timeout=90,
            what="every job to end",
        )
        assert took < TAKEOVER_LIMIT
        assert_each_job_ran_once(master, jobs)
    finally:
        replicas.stop()
    assert "Traceback" not in replicas.log()


def test_a_pod_adapter_paused_past_its_lease_does_not_act_again_when_it_wakes(
    master: Master,
) -> None:
    replicas = adapters(master)
    try:
        paused = replicas.active()
        _, epoch = replicas.holder() or (0, 0)
        jobs = [two_step_run(master, 0)]
        wait_until(
            lambda: len(master.danube.views.steps(jobs[0])) == 2,
            timeout=60,
            what="the second step to run",
        )
        paused.send_signal(signal.SIGSTOP)
        took = replicas.take_over_after(paused, TAKEOVER_LIMIT)
        assert took < TAKEOVER_LIMIT
        assert (replicas.holder() or (0, 0))[1] == epoch + 1
        jobs.append(two_step_run(master, 1))  # the new holder acts
        wait_until(
            lambda: len(master.danube.views.steps(jobs[1])) == 2,
            timeout=60,
            what="the new job's second step to run",
        )
        paused.send_signal(signal.SIGCONT)
        assert paused.wait(20) == 1  # it exits: nothing more is done under the old epoch
        (master.tmp / "go").touch()
        wait_until(
            lambda: all(master.state(j) in TERMINAL for j in jobs),
            timeout=90,
            what="every job to end",
        )
        assert_each_job_ran_once(master, jobs)
    finally:
        replicas.stop()
    assert "lost the pod-adapter lease" in replicas.log()
