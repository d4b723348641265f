"""Each pod adapter builds its own client from its own kubeconfig and context: nothing
goes through the client's process-global configuration, so two adapters in one process
talk to their own API servers with their own credentials.

(In-cluster configuration is not tested here: the client reads it from fixed paths under
/var/run/secrets and always speaks https, which the API double does not.)"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes.client import Configuration
from prometheus_client import CollectorRegistry

from adapters.kubernetes.client import ClientSettings
from adapters.kubernetes.executor import KubernetesExecutor
from adapters.kubernetes.metrics import KubernetesMetrics
from adapters.kubernetes.pods import PodTemplate
from adapters.kubernetes.settings import KubernetesSettings
from domain.execution.ports import JobLaunch, Phase
from domain.ids import JobId, RunId
from tests.integration.execution.conftest import make_repo
from tests.integration.k8s_double.support import validate_served
from tests.k8s_double import KubernetesDouble
from tests.support import wait_until

NAMESPACE = "danube-jobs"
SLEEPER = ("/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done")


@pytest.fixture
def doubles() -> Iterator[tuple[KubernetesDouble, KubernetesDouble]]:
    first, second = (
        KubernetesDouble(token="first", auto=True),
        KubernetesDouble(token="second", auto=True),
    )
    for double in (first, second):
        double.create_namespace(NAMESPACE)
    try:
        yield first, second
    finally:
        first.close()
        second.close()
    for double in (first, second):
        validate_served(double.requests)


def executor(kubeconfig: Path, context: str = "") -> KubernetesExecutor:
    return KubernetesExecutor(
        KubernetesSettings(
            client=ClientSettings(kubeconfig=str(kubeconfig), context=context),
            pod=PodTemplate(namespace=NAMESPACE, coordinator_command=SLEEPER),
        ),
        metrics=KubernetesMetrics(CollectorRegistry()),
    )


def launch(repository: str, commit: str) -> JobLaunch:
    return JobLaunch(
        job_id=JobId(uuid.uuid4()),
        run_id=RunId(uuid.uuid4()),
        pipeline="client-setup",
        repository=repository,
        commit_sha=commit,
        ref="",
        token="job-token",
        image="busybox",
        max_duration_seconds=600,
        workspace_size_gb=1,
    )


class Sink:
    def write(self, stream: object, data: bytes) -> None:
        pass


def two_contexts(path: Path, first: KubernetesDouble, second: KubernetesDouble) -> Path:
    """One kubeconfig, a context per double; the current one is the first's."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "one", "cluster": {"server": first.url}},
            {"name": "two", "cluster": {"server": second.url}},
        ],
        "users": [
            {"name": "one", "user": {"token": "first"}},
            {"name": "two", "user": {"token": "second"}},
        ],
        "contexts": [
            {"name": "one", "context": {"cluster": "one", "user": "one"}},
            {"name": "two", "context": {"cluster": "two", "user": "two"}},
        ],
        "current-context": "one",
    }
    path.write_text(json.dumps(config))
    return path


def runs_a_pod_on(
    adapter: KubernetesExecutor, double: KubernetesDouble, repo: tuple[Path, str]
) -> JobLaunch:
    job = launch(str(repo[0]), repo[1])
    adapter.start(job, Sink())
    wait_until(
        lambda: adapter.status(job.job_id).phase == Phase.RUNNING,
        timeout=20,
        what=f"job {job.job_id} to run",
    )
    assert double.pod(NAMESPACE, f"danube-job-{job.job_id.hex}") is not None
    return job


def test_the_context_named_in_the_settings_is_used_not_the_current_one(
    doubles: tuple[KubernetesDouble, KubernetesDouble], tmp_path: Path
) -> None:
    first, second = doubles
    kubeconfig = two_contexts(tmp_path / "kubeconfig", first, second)
    adapter = executor(kubeconfig, context="two")
    try:
        job = runs_a_pod_on(adapter, second, make_repo(tmp_path / "repo", "# nothing\n"))
        adapter.release(job.job_id)
        wait_until(lambda: not second.pods(NAMESPACE), timeout=20, what="the pod to go")
    finally:
        adapter.close()
    assert first.requests == []
    assert all(r.status != 401 for r in second.requests)  # its token, not the first's


def test_two_adapters_in_one_process_talk_to_their_own_servers(
    doubles: tuple[KubernetesDouble, KubernetesDouble], tmp_path: Path
) -> None:
    first, second = doubles
    default_host = Configuration.get_default_copy().host
    adapters = [
        executor(first.write_kubeconfig(tmp_path / "first")),
        executor(second.write_kubeconfig(tmp_path / "second")),
    ]
    try:
        repo = make_repo(tmp_path / "repo", "# nothing\n")
        jobs = [runs_a_pod_on(a, d, repo) for a, d in zip(adapters, (first, second), strict=True)]
        assert [len(d.pods(NAMESPACE)) for d in (first, second)] == [1, 1]
        assert first.pods(NAMESPACE)[0]["metadata"]["name"] == f"danube-job-{jobs[0].job_id.hex}"
        for adapter, job in zip(adapters, jobs, strict=True):
            adapter.release(job.job_id)
        wait_until(
            lambda: not first.pods(NAMESPACE) and not second.pods(NAMESPACE),
            timeout=20,
            what="both pods to go",
        )
    finally:
        for adapter in adapters:
            adapter.close()
    for double in (first, second):  # each saw only its own token (a wrong one gets 401)
        assert double.requests and all(r.status != 401 for r in double.requests)
    assert Configuration.get_default_copy().host == default_host  # no global config
