"""An executor that acts only while its process holds the pod adapter's lease.

Writes to the database are fenced in their own transactions (``adapters.sql.lease``);
the Kubernetes API cannot check a lease, so every call that changes something there is
preceded by a check of the lease's local deadline instead. A process paused past its
lease (SIGSTOP, a long stall) finds that deadline passed the moment it runs again, and
creates, execs, stops or deletes nothing more before it exits."""

from __future__ import annotations

from typing import Any

from adapters.sql.lease import Lease, LeaseLostError
from domain.execution.ports import (
    Executor,
    JobLaunch,
    JobStatus,
    OutputSink,
    StepLaunch,
    StepOutcome,
)
from domain.ids import JobId


class LeasedExecutor:
    def __init__(self, executor: Executor, lease: Lease) -> None:
        self._executor, self._lease = executor, lease
        self.name = executor.name

    def _check(self) -> None:
        if not self._lease.held():
            raise LeaseLostError(f"this process no longer holds the {self._lease.role} lease")

    def start(self, job: JobLaunch, output: OutputSink) -> None:
        self._check()
        self._executor.start(job, output)

    def status(self, job_id: JobId) -> JobStatus:
        return self._executor.status(job_id)

    def run_step(self, job_id: JobId, step: StepLaunch, output: OutputSink) -> StepOutcome:
        self._check()
        return self._executor.run_step(job_id, step, output)

    def stop(self, job_id: JobId, reason: str) -> None:
        self._check()
        self._executor.stop(job_id, reason)

    def release(self, job_id: JobId) -> None:
        self._check()
        self._executor.release(job_id)

    def __getattr__(self, name: str) -> Any:  # jobs() (Inventory), close(), ...
        return getattr(self._executor, name)
