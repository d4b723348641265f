"""Wiring the Kubernetes executor: its settings from Danube's, where a reattached step
resumes, and job output that knows every secret the job has read even when another
process (the server) handed the secret out."""

from __future__ import annotations

import ipaddress
import shlex
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from adapters.kubernetes.client import ClientSettings, api_server_url
from adapters.kubernetes.executor import KubernetesExecutor
from adapters.kubernetes.pods import PodTemplate
from adapters.kubernetes.podstate import Waits
from adapters.kubernetes.settings import KubernetesSettings
from adapters.kubernetes.steps import StepPolicy
from api.execution.outputs import LogOutputs
from api.settings import Settings, SettingsError
from domain.execution.ports import OutputSink, Stream
from domain.ids import JobId
from projections.runs_view import RunsView


def kubernetes_settings(settings: Settings) -> KubernetesSettings:
    return KubernetesSettings(
        client=ClientSettings(
            kubeconfig=str(Path(settings.kubeconfig).expanduser()) if settings.kubeconfig else "",
            context=settings.k8s_context,
        ),
        pod=PodTemplate(
            namespace=settings.k8s_namespace_jobs,
            coordinator_image=settings.k8s_coordinator_image,
            coordinator_command=tuple(shlex.split(settings.k8s_coordinator_command)),
            checkout_image=settings.k8s_checkout_image,
            run_as_user=settings.k8s_run_as_user,
            control_size=settings.k8s_control_volume_size,
        ),
        waits=Waits(
            unschedulable_seconds=settings.k8s_unschedulable_timeout,
            node_lost_seconds=settings.k8s_node_lost_timeout,
            start_seconds=settings.k8s_start_timeout,
            image_pull_seconds=settings.k8s_image_pull_timeout,
        ),
        steps=StepPolicy(idle_timeout=settings.k8s_exec_idle_timeout),
    )


def refuse_loopback_master(settings: Settings, grpc_address: str) -> None:
    """``danube up`` hands job pods its own gRPC address unless DANUBE_K8S_MASTER_ADDRESS
    says otherwise: a loopback address is only reachable from pods when the cluster runs
    on this machine (its API server is a loopback address too). Raises ``SettingsError``
    otherwise, before anything starts."""
    if settings.executor != "kubernetes" or settings.k8s_master_address:
        return
    host = grpc_address.rpartition(":")[0].strip("[]")
    if host not in {"0.0.0.0", "::", ""} and not _loopback(host):
        return  # a specific address of this machine: pods are given that
    try:
        server = api_server_url(kubernetes_settings(settings).client)
    except Exception:  # no usable configuration: building the executor says why
        return
    api_host = urlsplit(server).hostname or ""
    if _loopback(api_host):
        return
    raise SettingsError(
        f"DANUBE_K8S_MASTER_ADDRESS is not set, so job pods would be told to dial "
        f"{host or '0.0.0.0'}'s gRPC port on their own loopback interface, but the API "
        f"server ({server}) is not on this machine: set DANUBE_K8S_MASTER_ADDRESS to the "
        "host:port the cluster's pods reach this Danube's gRPC address at"
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def kubernetes_executor(settings: Settings, logs: LogOutputs) -> KubernetesExecutor:

    def resume(job_id: JobId, step: int) -> tuple[int, int]:
        """Where a reattached follower continues after a restart, per stream: the
        unmasked bytes the stored output stands for (what the masker held back was
        lost with the process that held it, so it is read again)."""
        return (
            logs.resume_offset(job_id, step, Stream.STDOUT.value),
            logs.resume_offset(job_id, step, Stream.STDERR.value),
        )

    return KubernetesExecutor(kubernetes_settings(settings), resume=resume)


class FreshlyMaskedOutput:
    """The reconciler's ``JobOutput`` for a process that does not serve ``GetSecret``
    itself: before output of a job is written, the secrets the job has read so far (every
    read is in the event log before the value is handed out) join its masks."""

    def __init__(
        self,
        logs: LogOutputs,
        views: RunsView,
        head: Callable[[], int],
        wait_for_views: Callable[..., bool],
    ) -> None:
        """``head``: the event log's last notification id; ``wait_for_views``:
        read-your-writes (``Core.wait_for_views``)."""
        self._logs, self._views, self._head, self._wait = logs, views, head, wait_for_views
        self._seen: dict[JobId, int] = {}
        self._lock = threading.Lock()

    def refresh(self, job_id: JobId) -> None:
        position = self._head()
        with self._lock:
            if self._seen.get(job_id) == position:
                return
        self._wait(position, timeout=5.0, only=("runs",))
        job = self._views.job(job_id)
        if job is not None and job.secrets_read:
            self._logs.mask_secrets(job_id, job.pipeline, job.secrets_read)
        with self._lock:
            self._seen[job_id] = position

    def for_job(self, job_id: JobId) -> OutputSink:
        return _RefreshingSink(self, job_id, self._logs.for_job(job_id))

    def for_step(self, job_id: JobId, number: int) -> OutputSink:
        return _RefreshingSink(self, job_id, self._logs.for_step(job_id, number))

    def size(self, job_id: JobId) -> int:
        return self._logs.size(job_id)

    def opened_steps(self, job_id: JobId) -> dict[int, int]:
        return self._logs.opened_steps(job_id)

    def mask_secrets(self, job_id: JobId, pipeline: str, keys: Sequence[str]) -> None:
        self._logs.mask_secrets(job_id, pipeline, keys)

    def mask_token(self, job_id: JobId, token: str) -> None:
        self._logs.mask_token(job_id, token)

    def system_line(self, job_id: JobId, text: str) -> int:
        return self._logs.system_line(job_id, text)

    def close(self, job_id: JobId) -> None:
        self._logs.close(job_id)
        with self._lock:
            self._seen.pop(job_id, None)


class _RefreshingSink:
    def __init__(self, output: FreshlyMaskedOutput, job_id: JobId, sink: OutputSink) -> None:
        self._output, self._job_id, self._sink = output, job_id, sink

    def write(self, stream: Stream, data: bytes) -> None:
        self._output.refresh(self._job_id)
        self._sink.write(stream, data)
