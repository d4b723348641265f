"""The checkout init container of a job pod (against the Kubernetes API double, which runs
its script with the real git) reaches a private repository with the credentials it
reads from the pod's own Secret; the pod's manifest, its environment and every request
body other than the Secret's never hold them."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from adapters.kubernetes.client import ClientSettings
from adapters.kubernetes.executor import KubernetesExecutor
from adapters.kubernetes.metrics import KubernetesMetrics
from adapters.kubernetes.pods import PodTemplate, pod_name, secret_name
from adapters.kubernetes.podstate import Waits
from adapters.kubernetes.settings import KubernetesSettings
from domain.execution.git_access import GitAccess
from domain.execution.ports import JobLaunch, Phase, StepLaunch, Stream
from domain.ids import JobId, RunId
from tests.integration.git.http_server import serve_git
from tests.integration.git.origin import Origin
from tests.integration.git.ssh_server import serve_ssh
from tests.k8s_double import KubernetesDouble
from tests.k8s_double.records import RequestRecord
from tests.support import wait_until

TOKEN = "glpat-kubernetes-token-789"
NAMESPACE = "private"


class Sink:
    def __init__(self) -> None:
        self.data: dict[Stream, bytes] = {}
        self._lock = threading.Lock()

    def write(self, stream: Stream, data: bytes) -> None:
        with self._lock:
            self.data[stream] = self.data.get(stream, b"") + data


@dataclass
class Cluster:
    double: KubernetesDouble
    executor: KubernetesExecutor
    repository: str
    commit: str

    def launch(self, password: str) -> JobLaunch:
        key = self.repository.removeprefix("http://").removesuffix(".git")
        access = GitAccess(
            "gitlab_token 'gitlab-internal'", key, http_username="oauth2", http_password=password
        )
        return JobLaunch(
            job_id=JobId(uuid.uuid4()),
            run_id=RunId(uuid.uuid4()),
            pipeline="private",
            repository=self.repository,
            commit_sha=self.commit,
            ref="refs/heads/main",
            token="job-token",
            image="busybox",
            max_duration_seconds=600,
            workspace_size_gb=1,
            git_access=access,
        )


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    app = Origin(tmp_path / "forge" / "acme")
    commit = app.commit({"README.md": "private code\n"})
    app.push()
    double = KubernetesDouble(token="t", auto=True)
    double.create_namespace(NAMESPACE)
    sleeper = ("/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done")
    settings = KubernetesSettings(
        client=ClientSettings(kubeconfig=str(double.write_kubeconfig(tmp_path / "kubeconfig"))),
        pod=PodTemplate(namespace=NAMESPACE, coordinator_command=sleeper),
        waits=Waits(unschedulable_seconds=120, node_lost_seconds=60, start_seconds=300),
    )
    executor = KubernetesExecutor(settings, metrics=KubernetesMetrics(CollectorRegistry()))
    try:
        with serve_git(tmp_path / "forge", "oauth2", TOKEN) as base:
            yield Cluster(double, executor, f"{base}/acme/origin.git", commit)
    finally:
        executor.close()
        double.close()


def test_the_checkout_reads_its_credentials_from_the_pods_secret_only(cluster: Cluster) -> None:
    job = cluster.launch(TOKEN)
    cluster.executor.start(job, Sink())
    wait_until(
        lambda: cluster.executor.status(job.job_id).phase == Phase.RUNNING,
        timeout=60,
        what=f"the job to run; last {cluster.executor.status(job.job_id)}",
    )
    sink = Sink()
    cluster.executor.run_step(job.job_id, StepLaunch(1, "show", "cat README.md"), sink)

    assert sink.data[Stream.STDOUT] == b"private code\n"
    pod = cluster.double.pod(NAMESPACE, pod_name(job.job_id))
    secret = cluster.double.secret(NAMESPACE, secret_name(job.job_id))
    assert pod is not None and secret is not None
    header = job.git_access.http_header  # type: ignore[union-attr]
    assert "git-http-header" in secret["data"]
    coordinator = next(c for c in pod["spec"]["containers"] if c["name"] == "coordinator")
    assert {m["name"] for m in coordinator["volumeMounts"]} == {"workspace", "job-secret"}
    coordinators_view = cluster.double.volume_dir(NAMESPACE, pod_name(job.job_id), "job-secret")
    assert sorted(p.name for p in coordinators_view.iterdir()) == ["token"], (
        "the pipeline's code never sees the checkout's credentials"
    )
    for text in (json.dumps(pod), *(json.dumps(r.body) for r in _non_secret_requests(cluster))):
        assert TOKEN not in text and header not in text and header.split()[-1] not in text
    cluster.executor.release(job.job_id)


def test_a_refused_token_fails_the_job_as_an_authentication_failure(cluster: Cluster) -> None:
    job = cluster.launch("glpat-wrong-token")
    cluster.executor.start(job, Sink())

    status = wait_until(
        lambda: (s := cluster.executor.status(job.job_id)).phase == Phase.FAILED and s,
        timeout=60,
        what=f"the job to fail; last {cluster.executor.status(job.job_id)}",
    )

    key = cluster.repository.removeprefix("http://").removesuffix(".git")
    assert f"authentication to {key} failed with gitlab_token 'gitlab-internal': " in (
        status.reason
    ), status.reason
    assert "glpat-wrong-token" not in status.reason
    cluster.executor.release(job.job_id)


def _non_secret_requests(cluster: Cluster) -> list[RequestRecord]:
    return [r for r in cluster.double.requests if r.resource != "secrets"]


def test_an_ssh_key_from_the_pods_secret_reaches_the_repository(
    cluster: Cluster, tmp_path: Path
) -> None:
    with serve_ssh(tmp_path / "sshd") as server:
        bare = tmp_path / "forge" / "acme" / "origin.git"
        access = GitAccess(
            "ssh_key 'deploy-key'",
            f"127.0.0.1:{server.port}{bare}",
            ssh_private_key=server.client_key.read_text(),
            ssh_known_hosts=server.known_hosts.read_text(),
        )
        job = replace(cluster.launch(TOKEN), repository=server.url(bare), git_access=access)
        cluster.executor.start(job, Sink())
        wait_until(
            lambda: cluster.executor.status(job.job_id).phase == Phase.RUNNING,
            timeout=60,
            what=f"the job to run; last {cluster.executor.status(job.job_id)}",
        )
        sink = Sink()
        cluster.executor.run_step(job.job_id, StepLaunch(1, "show", "cat README.md"), sink)

    assert sink.data[Stream.STDOUT] == b"private code\n"
    pod = json.dumps(cluster.double.pod(NAMESPACE, pod_name(job.job_id)))
    assert server.client_key.read_text().splitlines()[2] not in pod
    cluster.executor.release(job.job_id)
