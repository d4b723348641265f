"""One job's pod as this adapter knows it: what was asked (launch, stop), what was seen
(the latest pod object), and the verdicts that must not change once reached."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from adapters.kubernetes.logs import JobLogs
from adapters.kubernetes.pods import pod_name
from adapters.kubernetes.podstate import pull_errors_of
from domain.execution.ports import JobLaunch, JobStatus, OutputSink, Phase, StepOutcome, Stream
from domain.ids import JobId
from domain.runs.states import StepState

Obj = Mapping[str, Any]
LOG_DRAIN_SECONDS = 5.0  # how long an exited coordinator's log may take to arrive


class StepSlot:
    """A step's one execution: later callers wait for its outcome."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.outcome: StepOutcome | None = None

    def finish(self, outcome: StepOutcome) -> None:
        self.outcome = outcome
        self.done.set()


class PodJob:
    def __init__(self, job_id: JobId, namespace: str) -> None:
        self.job_id, self.namespace, self.pod = job_id, namespace, pod_name(job_id)
        self.cancelled = threading.Event()
        self.lock = threading.Lock()
        self.launch: JobLaunch | None = None
        self.output: OutputSink | None = None
        self.creating = False
        self.start_error: str | None = None
        self.verdict: JobStatus | None = None  # FAILED, once judged so
        self.stop_reason: str | None = None
        self.final: JobStatus | None = None  # what status says once stopped
        self.seen_pod = False
        self.latest: Obj | None = None
        self.logs: JobLogs | None = None
        self.exited_at: float | None = None
        self.steps: dict[int, StepSlot] = {}
        self.pull_errors: dict[str, str] = {}  # the last ErrImagePull message per container
        self._changed = threading.Condition()

    # what the pod does ----------------------------------------------------------------

    def observe(self, pod: Obj | None) -> None:
        with self._changed:
            if pod is not None:
                self.seen_pod = True
                self.pull_errors.update(pull_errors_of(pod))
            elif self.seen_pod and self.stop_reason is None:
                self.fail("the pod was deleted outside Danube")
            self.latest = pod
            self._changed.notify_all()

    def fail(self, reason: str) -> None:
        """The job failed for good: the first reason stays."""
        if self.verdict is None:
            self.verdict = JobStatus(Phase.FAILED, reason=reason)

    def container_state(self, container: str) -> str:
        pod = self.latest
        if pod is None:
            return "absent" if self.seen_pod else "waiting"
        status = pod.get("status") or {}
        for entry in (status.get("initContainerStatuses") or []) + (
            status.get("containerStatuses") or []
        ):
            if entry.get("name") == container:
                state = entry.get("state") or {}
                return next((k for k in ("terminated", "running") if k in state), "waiting")
        return "waiting"

    def wait_for_change(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait(timeout)

    def log_drained(self) -> bool:
        """Whether the coordinator's log has been read to its end (or given up on)."""
        if self.logs is None or self.logs.done.is_set():
            return True
        if self.exited_at is None:
            self.exited_at = time.monotonic()
        return time.monotonic() - self.exited_at > LOG_DRAIN_SECONDS

    # what was asked -------------------------------------------------------------------

    def stop(self, reason: str, final: JobStatus | None) -> None:
        with self.lock:  # no log write is under way once this returns
            if self.stop_reason is None:
                self.stop_reason = reason
                self.final = final
            self.cancelled.set()
        with self._changed:
            self._changed.notify_all()

    def stopped_status(self) -> JobStatus:
        return self.final or JobStatus(Phase.FAILED, reason=f"stopped: {self.stop_reason}")

    def write_log(self, data: bytes) -> None:
        with self.lock:
            if not self.cancelled.is_set() and self.output is not None:
                self.output.write(Stream.STDOUT, data)

    def step_verdict(self) -> StepOutcome | None:
        """A job that failed fails its steps, also once it is stopped because it failed
        (the reconciler stops it right after): only a stop of a job that had not failed
        cancels them."""
        if self.verdict is not None:
            return StepOutcome(StepState.FAILURE, None, f"the job failed: {self.verdict.reason}")
        if self.stop_reason is not None:
            return StepOutcome(StepState.CANCELLED, None, self.stop_reason)
        return None

    def claim_step(self, number: int) -> tuple[StepSlot, bool]:
        """The step's slot, and whether this caller runs it."""
        with self.lock:
            slot = self.steps.get(number)
            if slot is not None:
                return slot, False
            slot = self.steps[number] = StepSlot()
            return slot, True
