"""Danube on "Kubernetes": the embedded system with ``DANUBE_EXECUTOR=kubernetes`` pointed
at the API double (auto kubelet), its job pods running as local processes.

``kube`` is the double only (faults are injected into it); ``any_kube`` is the double
and, opt-in with ``-m k8s_real``, a real cluster (see ``realcluster``): the adapter tests
that need no fault injection take it."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes import config
from kubernetes.client import ApiClient

import api.execution.kubernetes as wiring
from adapters.sql.store import StoreConfig
from api.bootstrap import build
from api.execution.embedded import start_execution
from api.processes import Supervisor
from domain.ids import JobId, RunId, job_id_for, new_run_id
from domain.runs.application import RunRequest
from tests.integration.execution.conftest import USER, Embedded, settings_for
from tests.integration.k8s_double.support import validate_served
from tests.integration.kubernetes import realcluster
from tests.integration.kubernetes.leftovers import ClusterObjects, Objects, assert_nothing_left
from tests.integration.kubernetes.realcluster import RepositoryServer
from tests.k8s_double import KubernetesDouble
from tests.support import wait_until

TOKEN = "k8s-double-token"
NAMESPACE = "danube-jobs"
COORDINATOR = f"{sys.executable} -m danube.coordinator"


@dataclass
class Kube(Embedded):
    double: KubernetesDouble = None  # type: ignore[assignment]  # None on a real cluster
    kubeconfig: Path | None = None
    namespace: str = NAMESPACE
    repositories: RepositoryServer | None = None  # what a real cluster clones from
    spec: dict[str, Any] = field(default_factory=dict)  # added to every request's
    patience: float = 1.0  # a real cluster pulls images and schedules: waits are longer
    requested: list[JobId] = field(default_factory=list)

    def request(  # type: ignore[override]
        self,
        danubefile: str,
        *,
        run_id: RunId | None = None,
        pipeline: str = "demo",
        files: dict[str, str] | None = None,
        commit: str | None = None,
        **spec: Any,
    ) -> tuple[RunId, JobId]:
        """Request a run of ``danubefile`` (at ``commit``, default: the one committing it)."""
        path, head = self.repo(danubefile, files, name=f"repo-{new_run_id().hex[:6]}")
        commit = commit or head
        run_id = run_id or new_run_id()
        request = RunRequest(
            run_id=run_id,
            pipeline=pipeline,
            repository=self.repositories.url(path) if self.repositories else str(path),
            ref="refs/heads/main",
            commit_sha=commit,
            trigger={"type": "manual"},
            spec={**self.spec, **spec},
        )
        self.danube.runs.request_run(request, USER)
        self.requested.append(job_id_for(run_id, "main"))
        return run_id, job_id_for(run_id, "main")

    def finished(self, job_id: JobId, timeout: float = 60) -> Any:
        return super().finished(job_id, timeout * self.patience)

    def api_client(self) -> ApiClient:
        path = self.kubeconfig or self.tmp / "kubeconfig"
        return config.new_client_from_config(config_file=str(path))

    @property
    def objects(self) -> Objects:
        """What is in the cluster (the double's state, or read through the API)."""
        return self.double if self.double is not None else ClusterObjects(self.api_client())

    def pod_of(self, job_id: Any) -> str:
        return f"danube-job-{job_id.hex}"

    def printed(self, job_id: JobId, text: bytes, step: int = 1, stream: str = "stdout") -> None:
        """Wait until the step's own output (not its header line) holds ``text``."""
        wait_until(
            lambda: text in self.danube.logs.step_bytes(job_id, step, stream),
            timeout=20 * self.patience,
            what=f"step {step} to print {text!r}",
        )

    def nothing_left(self, job_id: JobId | None = None, timeout: float = 20) -> None:
        """No pod and no Secret of ours (of ``job_id``, or of any job) is left; on a real
        cluster, which others may share, of the jobs this test requested."""
        if job_id is not None or self.double is not None:
            assert_nothing_left(self.objects, self.namespace, job_id, timeout * self.patience)
            return
        for requested in self.requested:
            assert_nothing_left(self.objects, self.namespace, requested, timeout * self.patience)


def kube_settings(tmp: Path, kubeconfig: Path, **overrides: Any) -> Any:
    data = tmp / "data"
    return settings_for(
        StoreConfig(kind="sqlite", data_dir=data),
        data,
        executor="kubernetes",
        kubeconfig=str(kubeconfig),
        k8s_namespace_jobs=NAMESPACE,
        k8s_coordinator_command=COORDINATOR,
        **overrides,
    )


@pytest.fixture
def double_options() -> dict[str, Any]:
    """``KubernetesDouble`` keyword arguments (e.g. ``bookmark_interval``)."""
    return {}


@pytest.fixture
def double(double_options: dict[str, Any]) -> Iterator[KubernetesDouble]:
    """Every body and watch event it served the adapter is checked with the client's
    models at teardown, as in the double's own tests."""
    k8s = KubernetesDouble(token=TOKEN, auto=True, **double_options)
    k8s.create_namespace(NAMESPACE)
    try:
        yield k8s
    finally:
        k8s.close()
    assert not k8s.server_errors, "\n".join(k8s.server_errors)
    assert validate_served(k8s.requests) > 0


@pytest.fixture
def kube_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def executor_tweaks() -> dict[str, Any]:
    """``KubernetesSettings`` fields to change (those Danube's settings do not carry)."""
    return {}


@pytest.fixture
def before_start() -> Callable[[KubernetesDouble], None]:
    """What to do to the double before Danube starts (e.g. refuse connections)."""
    return lambda _double: None


@pytest.fixture
def kube(
    double: KubernetesDouble,
    tmp_path: Path,
    kube_overrides: dict[str, Any],
    executor_tweaks: dict[str, Any],
    before_start: Callable[[KubernetesDouble], None],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Kube]:
    if executor_tweaks:
        plain = wiring.kubernetes_settings
        monkeypatch.setattr(
            wiring,
            "kubernetes_settings",
            lambda s: dataclasses.replace(plain(s), **executor_tweaks),
        )
    kubeconfig = double.write_kubeconfig(tmp_path / "kubeconfig")
    before_start(double)
    danube = build(kube_settings(tmp_path, kubeconfig, **kube_overrides))
    supervisor = Supervisor()
    execution = start_execution(danube, supervisor, "127.0.0.1:0")
    yield Kube(danube, execution, supervisor, tmp_path, double, kubeconfig)
    supervisor.stop()
    execution.stop()
    danube.close()


@pytest.fixture(params=["double", pytest.param("real", marks=pytest.mark.k8s_real)])
def any_kube(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kube]:
    """The double (as ``kube``), or a real cluster when DANUBE_TEST_KUBECONFIG is set."""
    if request.param == "double":
        yield request.getfixturevalue("kube")
        return
    if not realcluster.KUBECONFIG or not realcluster.HOST:
        pytest.skip("set DANUBE_TEST_KUBECONFIG and DANUBE_TEST_K8S_HOST to use a real cluster")
    data = tmp_path / "data"
    danube = build(
        settings_for(StoreConfig(kind="sqlite", data_dir=data), data, **realcluster.settings())
    )
    repositories = RepositoryServer(tmp_path, realcluster.HOST)
    supervisor = Supervisor()
    execution = start_execution(danube, supervisor, f"{realcluster.HOST}:0")
    yield Kube(
        danube,
        execution,
        supervisor,
        tmp_path,
        None,  # type: ignore[arg-type]
        Path(realcluster.KUBECONFIG),
        realcluster.NAMESPACE,
        repositories,
        {"image": realcluster.WORKER_IMAGE},
        patience=5.0,
    )
    supervisor.stop()
    execution.stop()
    danube.close()
    repositories.close()
