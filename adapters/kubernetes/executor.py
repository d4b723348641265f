"""``KubernetesExecutor``: the ``Executor`` port on Kubernetes pods (DESIGN.md §5).

Each job is one pod named after the job id (see ``pods``). ``start`` creates it in the
background (after the first list of pods, when it is not there yet: no call waits for
an API server that is down); ``status`` judges the job from the pod as the informer last
saw it (no API call); ``run_step`` execs the step in the worker and survives dropped connections
(``steps``); ``stop`` and ``release`` delete the pod and its Secret. Nothing the adapter
must remember lives only in memory: after a restart, pods are found again by their
labels, running steps are reattached by their files in the pod, and ``jobs`` tells the
reconciler which pods exist, so those of jobs that ended meanwhile are deleted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from adapters.kubernetes.client import KubeApi, Obj, new_api_client
from adapters.kubernetes.errors import ApiError
from adapters.kubernetes.informer import PodInformer
from adapters.kubernetes.job import PodJob
from adapters.kubernetes.lifecycle import (
    JobStoppedError,
    create_pod,
    delete_pod,
    ensure_secret,
)
from adapters.kubernetes.logs import JobLogs
from adapters.kubernetes.metrics import KubernetesMetrics, default_metrics
from adapters.kubernetes.pods import SELECTOR, job_id_of, pod_name
from adapters.kubernetes.podstate import judge
from adapters.kubernetes.settings import KubernetesSettings
from adapters.kubernetes.steps import StepExecution
from domain.execution.ports import (
    JobLaunch,
    JobStatus,
    OutputSink,
    Phase,
    StepLaunch,
    StepOutcome,
)
from domain.ids import JobId
from domain.runs.states import StepState

log = logging.getLogger(__name__)
Resume = Callable[[JobId, int], tuple[int, int]]  # stdout/stderr bytes of a step stored


class KubernetesExecutor:
    """The ``Executor`` port on Kubernetes. Thread-safe; every method idempotent."""

    name = "kubernetes"

    def __init__(
        self,
        settings: KubernetesSettings,
        *,
        metrics: KubernetesMetrics | None = None,
        resume: Resume | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.namespace = settings.pod.namespace
        self._metrics = metrics or default_metrics()
        self._resume = resume or (lambda _job, _step: (0, 0))
        self._clock = clock
        self._closed = threading.Event()
        self.api = KubeApi(
            new_api_client(settings.client), self._metrics, settings.client, self._closed
        )
        self._pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="k8s-api")
        self._lock = threading.Lock()
        self._jobs: dict[JobId, PodJob] = {}
        self._deleting: set[JobId] = set()
        self._secrets: set[JobId] = set()
        self._secrets_listed = 0.0
        self._deferred: dict[JobId, tuple[JobLaunch, OutputSink]] = {}  # started before sync
        self.informer = PodInformer(
            self.api,
            self.namespace,
            SELECTOR,
            self._observe,
            server_timeout=settings.watch_server_timeout,
            read_timeout=settings.watch_read_timeout,
        )
        self.informer.start()

    # the port -------------------------------------------------------------------------

    def start(self, job: JobLaunch, output: OutputSink) -> None:
        if not self.informer.synced:  # whether the job has a pod is not known yet
            self._defer(job, output)
            return
        self._start(job, output)

    def _start(self, job: JobLaunch, output: OutputSink) -> None:
        record = self._record(job.job_id)
        with record.lock:
            if record.creating or record.seen_pod or record.cancelled.is_set():
                if record.output is None and record.seen_pod:  # found after a restart
                    record.launch, record.output = job, output
                    self._follow_logs(record, since=time.time())
                return
            record.launch, record.output, record.creating = job, output, True
            record.start_error = None
        existing = self.informer.get(record.pod)
        if existing is not None:  # the pod of an adapter that came before this one
            record.creating = False
            record.observe(existing)
            self._follow_logs(record, since=time.time())
            self._pool.submit(self._adopt_secret, job, existing)
            return
        self._pool.submit(self._create, record, job)

    def _adopt_secret(self, job: JobLaunch, pod: Obj) -> None:
        try:
            ensure_secret(self.api, job, self.settings.pod, pod)
        except ApiError as error:
            log.warning("the Secret of job %s: %s", job.job_id, error.explain())

    def status(self, job_id: JobId) -> JobStatus:
        """Never waits for the API server: until the first list of pods arrives, a job
        that was not stopped is UNKNOWN (had it a pod, the pod may be gone: a running
        job must not be started again, nor failed, on a guess)."""
        with self._lock:
            record = self._jobs.get(job_id)
        if record is not None and record.stop_reason is not None:
            return record.stopped_status()
        if not self.informer.synced:
            return JobStatus(Phase.UNKNOWN, reason="waiting for the first list of pods")
        pod = self.informer.get(pod_name(job_id))
        if record is not None:
            if record.verdict is not None:
                return record.verdict
            if record.start_error is not None:
                return JobStatus(Phase.FAILED, reason=record.start_error)
            if pod is None and record.creating:
                return JobStatus(Phase.PREPARING, reason="creating the pod")
        if pod is None:
            return JobStatus(Phase.ABSENT, reason=f"its pod {pod_name(job_id)} does not exist")
        verdict = judge(
            pod, self._clock(), self.settings.waits, record.pull_errors if record else None
        )
        if record is None:
            return verdict
        if verdict.phase == Phase.FAILED:
            record.fail(verdict.reason)
            return record.verdict or verdict
        if verdict.phase == Phase.EXITED and not record.log_drained():
            return JobStatus(Phase.RUNNING)
        return verdict

    def run_step(self, job_id: JobId, step: StepLaunch, output: OutputSink) -> StepOutcome:
        record = self._record(job_id)
        slot, owned = record.claim_step(step.number)
        if not owned:
            slot.done.wait()
            assert slot.outcome is not None
            return slot.outcome
        outcome = StepOutcome(StepState.FAILURE, None, "the executor could not run the step")
        try:
            outcome = self._run_step(record, step, output)
        finally:
            slot.finish(outcome)
        return outcome

    def stop(self, job_id: JobId, reason: str) -> None:
        record = self._record(job_id)
        pod = self.informer.get(record.pod)
        final = None
        if pod is not None:
            judged = judge(pod, self._clock(), self.settings.waits, record.pull_errors)
            final = judged if judged.phase in (Phase.EXITED, Phase.FAILED) else None
        record.stop(reason, final or record.verdict)
        self._delete(job_id)

    def release(self, job_id: JobId) -> None:
        with self._lock:
            record = self._jobs.get(job_id)
        if record is not None:
            record.stop("released", None)
        self._delete(job_id, forget=True)

    # the inventory (the reconciler deletes what belongs to no active job) -------------

    def jobs(self) -> set[JobId] | None:
        if not self.informer.synced:  # which pods exist is not known yet
            return None
        if time.monotonic() - self._secrets_listed > self.settings.sweep_secrets_every:
            self._secrets_listed = time.monotonic()
            self._pool.submit(self._list_secrets)
        found = {j for pod in self.informer.pods() if (j := job_id_of(pod)) is not None}
        with self._lock:
            return found | self._secrets | set(self._jobs)

    def close(self) -> None:
        """Stop watching and following; the pods keep running (a new adapter adopts them)."""
        self._closed.set()
        self.informer.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.api.close()

    # inside ---------------------------------------------------------------------------

    def _defer(self, job: JobLaunch, output: OutputSink) -> None:
        """Start the job once the first list of pods says whether it has one; one task
        waits for that list on behalf of every job started before it."""
        with self._lock:
            first = not self._deferred
            self._deferred[job.job_id] = (job, output)
        if first:
            self._pool.submit(self._start_deferred)

    def _start_deferred(self) -> None:
        while not self.informer.wait_synced(1.0):
            if self._closed.is_set():
                return
        with self._lock:
            deferred, self._deferred = list(self._deferred.values()), {}
        for job, output in deferred:
            try:
                self._start(job, output)
            except Exception:
                log.exception("starting job %s failed", job.job_id)

    def _record(self, job_id: JobId) -> PodJob:
        with self._lock:
            record = self._jobs.get(job_id)
            if record is None:
                record = self._jobs[job_id] = PodJob(job_id, self.namespace)
            return record

    def _observe(self, name: str, pod: Obj | None) -> None:
        self._metrics.pods_active.set(
            sum(1 for p in self.informer.pods() if not p["metadata"].get("deletionTimestamp"))
        )
        job_id = job_id_of(pod) if pod is not None else None
        with self._lock:
            record = self._jobs.get(job_id) if job_id else self._by_pod(name)
        if record is None:
            return
        if pod is not None and record.stop_reason is None:
            verdict = judge(pod, self._clock(), self.settings.waits, record.pull_errors)
            if verdict.phase == Phase.FAILED:
                record.fail(verdict.reason)
        record.observe(pod)

    def _by_pod(self, name: str) -> PodJob | None:
        return next((r for r in self._jobs.values() if r.pod == name), None)

    def _create(self, record: PodJob, launch: JobLaunch) -> None:
        try:
            pod = create_pod(self.api, launch, self.settings.pod, record.cancelled.is_set)
            self.informer.offer(pod)
            record.observe(self.informer.get(record.pod) or pod)
            self._follow_logs(record, since=None)
        except JobStoppedError:
            pass
        except ApiError as error:
            record.start_error = f"could not create the job's pod: {error.explain()}"
        except Exception as error:
            log.exception("creating the pod of job %s failed", launch.job_id)
            record.start_error = f"could not create the job's pod: {type(error).__name__}"
        finally:
            record.creating = False
        if record.cancelled.is_set():
            self._delete(launch.job_id)

    def _follow_logs(self, record: PodJob, since: float | None) -> None:
        if record.logs is None:
            record.logs = JobLogs(self.api, record, self.settings.log_read_timeout, since)
            record.logs.start()

    def _run_step(self, record: PodJob, step: StepLaunch, output: OutputSink) -> StepOutcome:
        if (verdict := record.step_verdict()) is not None:
            return verdict
        if not record.seen_pod and self.informer.get(record.pod) is None:
            reason = f"job {record.job_id} has no pod (not started or already released)"
            return StepOutcome(StepState.FAILURE, None, reason)
        offsets = self._resume(record.job_id, step.number)
        execution = StepExecution(self.api, record, step, output, offsets, self.settings.steps)
        return execution.run()

    def _delete(self, job_id: JobId, forget: bool = False) -> None:
        with self._lock:
            if job_id in self._deleting:
                return
            self._deleting.add(job_id)
        self._pool.submit(self._delete_now, job_id, forget)

    def _delete_now(self, job_id: JobId, forget: bool) -> None:
        try:
            pod = self.informer.get(pod_name(job_id))
            delete_pod(self.api, self.namespace, job_id, pod, self.settings.force_delete_after)
            with self._lock:
                self._secrets.discard(job_id)
                if forget:
                    self._jobs.pop(job_id, None)
        except ApiError as error:
            log.warning("deleting the pod of job %s failed: %s", job_id, error.explain())
        finally:
            with self._lock:
                self._deleting.discard(job_id)

    def _list_secrets(self) -> None:
        try:
            items, _ = self.api.list("secrets", self.namespace, SELECTOR)
        except ApiError as error:
            log.warning("listing job Secrets failed: %s", error.explain())
            return
        found = {j for s in items if (j := job_id_of(s)) is not None}
        with self._lock:
            self._secrets = found
