"""Danube on "Kubernetes": the embedded system with ``DANUBE_EXECUTOR=kubernetes`` pointed
at the API double (auto kubelet), its job pods running as local processes."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
from tests.integration.kubernetes.leftovers import assert_nothing_left
from tests.k8s_double import KubernetesDouble
from tests.support import wait_until

TOKEN = "k8s-double-token"
NAMESPACE = "danube-jobs"
COORDINATOR = f"{sys.executable} -m danube.coordinator"


@dataclass
class Kube(Embedded):
    double: KubernetesDouble = None  # type: ignore[assignment]

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
            repository=str(path),
            ref="refs/heads/main",
            commit_sha=commit,
            trigger={"type": "manual"},
            spec=spec,
        )
        self.danube.runs.request_run(request, USER)
        return run_id, job_id_for(run_id, "main")

    def api_client(self) -> ApiClient:
        return config.new_client_from_config(config_file=str(self.tmp / "kubeconfig"))

    def pod_of(self, job_id: Any) -> str:
        return f"danube-job-{job_id.hex}"

    def printed(self, job_id: JobId, text: bytes, step: int = 1, stream: str = "stdout") -> None:
        """Wait until the step's own output (not its header line) holds ``text``."""
        wait_until(
            lambda: text in self.danube.logs.step_bytes(job_id, step, stream),
            timeout=20,
            what=f"step {step} to print {text!r}",
        )

    def nothing_left(self, job_id: JobId | None = None, timeout: float = 20) -> None:
        """No pod and no Secret of ours (of ``job_id``, or of any job) is left."""
        assert_nothing_left(self.double, NAMESPACE, job_id, timeout)


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
    yield Kube(danube, execution, supervisor, tmp_path, double)
    supervisor.stop()
    execution.stop()
    danube.close()
