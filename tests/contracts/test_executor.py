"""The ``Executor`` contract (``domain.execution.ports``), one suite for every executor:
the local executor, ``KubernetesExecutor`` on the API double and, opt-in (``-m k8s_real``
with ``DANUBE_TEST_KUBECONFIG``), on a real cluster. The coordinator is a stand-in that
only sleeps: these tests need no Danube master.

Real-cluster settings: ``DANUBE_TEST_KUBECONFIG`` (and ``DANUBE_TEST_K8S_CONTEXT``),
``DANUBE_TEST_K8S_NAMESPACE`` (default ``danube-test``, must exist), ``DANUBE_TEST_K8S_GIT_IMAGE``
(sh + git, default ``alpine/git:2.45.2``), ``DANUBE_TEST_K8S_WORKER_IMAGE`` (default
``python:3.12-slim``), ``DANUBE_TEST_K8S_REPOSITORY`` and ``DANUBE_TEST_K8S_COMMIT`` (a
repository the cluster can clone, default this project's public test fixture).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from adapters.kubernetes.client import ClientSettings
from adapters.kubernetes.executor import KubernetesExecutor
from adapters.kubernetes.metrics import KubernetesMetrics
from adapters.kubernetes.pods import PodTemplate
from adapters.kubernetes.podstate import Waits
from adapters.kubernetes.settings import KubernetesSettings
from adapters.local import LocalExecutor
from domain.execution.ports import JobLaunch, Phase, StepLaunch, StepOutcome, Stream
from domain.ids import JobId, RunId
from domain.runs.states import StepState
from tests.integration.execution.conftest import make_repo
from tests.integration.kubernetes.leftovers import ClusterObjects, assert_nothing_left
from tests.k8s_double import KubernetesDouble
from tests.support import wait_until

REAL = os.environ.get("DANUBE_TEST_KUBECONFIG", "")


class Sink:
    def __init__(self) -> None:
        self.data: dict[Stream, bytes] = {}
        self._lock = threading.Lock()

    def write(self, stream: Stream, data: bytes) -> None:
        with self._lock:
            self.data[stream] = self.data.get(stream, b"") + data


@dataclass
class Cluster:
    """An executor under test, and what the suite needs to know of where it runs."""

    executor: KubernetesExecutor | LocalExecutor
    repository: str
    commit: str
    image: str
    double: KubernetesDouble | None

    def launch(self) -> JobLaunch:
        return JobLaunch(
            job_id=JobId(uuid.uuid4()),
            run_id=RunId(uuid.uuid4()),
            pipeline="contract",
            repository=self.repository,
            commit_sha=self.commit,
            ref="",
            token="contract-token",
            image=self.image,
            max_duration_seconds=600,
            workspace_size_gb=1,
        )

    def running(self) -> JobLaunch:
        job = self.launch()
        self.executor.start(job, Sink())
        wait_until(
            lambda: self.executor.status(job.job_id).phase == Phase.RUNNING,
            timeout=240 if self.double is None else 20,
            what=f"job {job.job_id} to run; last {self.executor.status(job.job_id)}",
            interval=0.05,
        )
        return job

    def gone(self, job: JobLaunch) -> None:
        """Nothing of the job is left: no workspace (local), or neither its pod nor its
        Secret (read from the API server)."""
        if isinstance(self.executor, LocalExecutor):
            assert not self.executor.workspace(job.job_id).exists()
            assert self.executor.status(job.job_id).phase == Phase.ABSENT
            return
        objects = self.double or ClusterObjects(self.executor.api.api_client)
        namespace = self.executor.namespace
        assert_nothing_left(objects, namespace, job.job_id, 120 if self.double is None else 20)


def settings(
    kubeconfig: str, context: str, namespace: str, template: PodTemplate
) -> KubernetesSettings:
    return KubernetesSettings(
        client=ClientSettings(kubeconfig=kubeconfig, context=context),
        pod=template,
        waits=Waits(unschedulable_seconds=120, node_lost_seconds=60, start_seconds=300),
    )


@pytest.fixture(params=["local", "double", pytest.param("real", marks=pytest.mark.k8s_real)])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    metrics = KubernetesMetrics(CollectorRegistry())
    sleeper = ("/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done")
    if request.param == "local":
        repo, commit = make_repo(tmp_path / "repo", "# nothing to run\n")
        counting = ("/bin/sh", "-c", f"echo $$ >> coordinator.pids; {sleeper[2]}")
        local = LocalExecutor(
            tmp_path / "workspaces", coordinator_command=counting, kill_grace_seconds=0.5
        )
        try:
            yield Cluster(local, str(repo), commit, "", None)
        finally:
            local.close()
        return
    if request.param == "real":
        if not REAL:
            pytest.skip("set DANUBE_TEST_KUBECONFIG to run against a real cluster")
        namespace = os.environ.get("DANUBE_TEST_K8S_NAMESPACE", "danube-test")
        git = os.environ.get("DANUBE_TEST_K8S_GIT_IMAGE", "alpine/git:2.45.2")
        template = PodTemplate(
            namespace=namespace, coordinator_image=git, coordinator_command=sleeper
        )
        executor = KubernetesExecutor(
            settings(REAL, os.environ.get("DANUBE_TEST_K8S_CONTEXT", ""), namespace, template),
            metrics=metrics,
        )
        yield Cluster(
            executor,
            os.environ.get(
                "DANUBE_TEST_K8S_REPOSITORY", "https://github.com/octocat/Hello-World.git"
            ),
            os.environ.get("DANUBE_TEST_K8S_COMMIT", "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d"),
            os.environ.get("DANUBE_TEST_K8S_WORKER_IMAGE", "python:3.12-slim"),
            None,
        )
        executor.close()
        return
    double = KubernetesDouble(token="t", auto=True)
    double.create_namespace("contract")
    kubeconfig = double.write_kubeconfig(tmp_path / "kubeconfig")
    repo, commit = make_repo(tmp_path / "repo", "# nothing to run\n")
    template = PodTemplate(namespace="contract", coordinator_command=sleeper)
    executor = KubernetesExecutor(
        settings(str(kubeconfig), "", "contract", template), metrics=metrics
    )
    try:
        yield Cluster(executor, str(repo), commit, "busybox", double)
    finally:
        executor.close()
        double.close()


def step(number: int, command: str, **changes: object) -> StepLaunch:
    return StepLaunch(number=number, name=f"step {number}", command=command, **changes)  # type: ignore[arg-type]


def test_a_started_job_runs_and_its_steps_run_in_the_worker(cluster: Cluster) -> None:
    job = cluster.running()
    sink = Sink()
    outcome = cluster.executor.run_step(
        job.job_id,
        step(
            1,
            'echo "$GREETING"; echo to-stderr >&2; pwd; test -d .git',
            env={"GREETING": "hi 'there'"},
        ),
        sink,
    )
    assert outcome == StepOutcome(StepState.SUCCESS, 0)
    stdout = sink.data[Stream.STDOUT]
    assert stdout.startswith(b"hi 'there'\n")
    workdir = stdout.splitlines()[-1].decode()
    if isinstance(cluster.executor, LocalExecutor):
        assert Path(workdir) == cluster.executor.workspace(job.job_id)
    else:  # the double runs the worker in a directory standing in for the volume
        assert workdir.endswith("/workspace")
    assert sink.data[Stream.STDERR] == b"to-stderr\n"
    cluster.executor.stop(job.job_id, "done")
    cluster.executor.release(job.job_id)
    cluster.gone(job)


def test_starting_twice_starts_the_job_once(cluster: Cluster) -> None:
    job = cluster.running()
    cluster.executor.start(job, Sink())
    assert cluster.executor.status(job.job_id).phase == Phase.RUNNING
    if cluster.double is not None:
        creates = cluster.double.requests_matching(verb="create", resource="pods")
        assert len(creates) == 1
    if isinstance(cluster.executor, LocalExecutor):
        pids = cluster.executor.workspace(job.job_id) / "coordinator.pids"
        assert len(pids.read_text().split()) == 1
    cluster.executor.release(job.job_id)
    cluster.gone(job)


def test_a_step_is_never_run_twice_and_a_failing_step_reports_its_code(cluster: Cluster) -> None:
    job = cluster.running()
    command = "echo ran >> count.txt; exit 3"
    first = cluster.executor.run_step(job.job_id, step(2, command), Sink())
    again_sink = Sink()
    again = cluster.executor.run_step(job.job_id, step(2, command), again_sink)
    assert first == again == StepOutcome(StepState.FAILURE, 3)
    counted = cluster.executor.run_step(job.job_id, step(3, "wc -l < count.txt"), sink := Sink())
    assert counted.exit_code == 0 and sink.data[Stream.STDOUT].strip() == b"1"
    cluster.executor.release(job.job_id)
    cluster.gone(job)


def test_a_step_over_its_timeout_times_out(cluster: Cluster) -> None:
    job = cluster.running()
    outcome = cluster.executor.run_step(
        job.job_id, step(1, "sleep 120", timeout_seconds=1.0), Sink()
    )
    assert outcome == StepOutcome(StepState.TIMEOUT, None, "step timed out after 1s")
    cluster.executor.release(job.job_id)
    cluster.gone(job)


def test_after_stop_steps_are_cancelled_and_the_pod_goes(cluster: Cluster) -> None:
    job = cluster.running()
    outcomes: list[StepOutcome] = []
    runner = threading.Thread(
        target=lambda: outcomes.append(
            cluster.executor.run_step(job.job_id, step(1, "echo started; sleep 300"), Sink())
        )
    )
    runner.start()
    cluster.executor.stop(job.job_id, "cancelled by alice")
    runner.join(60)
    assert outcomes == [StepOutcome(StepState.CANCELLED, None, "cancelled by alice")]
    late = cluster.executor.run_step(job.job_id, step(2, "true"), Sink())
    assert late.state == StepState.CANCELLED
    assert cluster.executor.status(job.job_id).phase != Phase.RUNNING
    cluster.executor.release(job.job_id)
    cluster.gone(job)


def test_a_step_of_an_unknown_job_fails(cluster: Cluster) -> None:
    outcome = cluster.executor.run_step(JobId(uuid.uuid4()), step(1, "true"), Sink())
    assert outcome.state == StepState.FAILURE and outcome.exit_code is None
