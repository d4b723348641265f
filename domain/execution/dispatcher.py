"""The dispatcher: turns requested runs into scheduled jobs, first come first served,
within a global and a per-pipeline concurrency limit, and not at all while draining.

It is level-triggered: each ``tick`` looks at the queue and the active jobs in the read
model and schedules what fits. Scheduling is idempotent (a job already scheduling
records nothing), and the dispatcher waits until the read model shows what it scheduled
before it counts again, so a restart or a lagging view never schedules a job twice or
overshoots a limit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from uuid import UUID

from domain.cause import Cause
from domain.ids import JobId, RunId
from domain.runs.application import RunsService
from domain.runs.errors import RunsError
from domain.system.application import SystemService

log = logging.getLogger(__name__)

DISPATCHER = Cause(actor="system:dispatcher")


class QueuedJob(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def pipeline(self) -> str: ...
    @property
    def spec(self) -> Mapping[str, Any] | None: ...
    @property
    def cancel_requested(self) -> int: ...


class Queue(Protocol):
    """The read side the dispatcher looks at."""

    def queued_jobs(self) -> Sequence[QueuedJob]:
        """Pending jobs, oldest first."""

    def active_jobs(self) -> Sequence[QueuedJob]:
        """Jobs being scheduled or running."""


class Dispatcher:
    def __init__(
        self,
        runs: RunsService,
        queue: Queue,
        system: SystemService,
        max_concurrent_jobs: int,
        wait_for: Callable[[int], object],
    ) -> None:
        self._runs, self._queue, self._system = runs, queue, system
        self._max = max_concurrent_jobs
        self._wait_for = wait_for
        self._reasons: dict[str, str] = {}

    def tick(self) -> int:
        """Schedule every queued job that fits; returns how many were scheduled."""
        queued = [job for job in self._queue.queued_jobs() if not job.cancel_requested]
        if not queued:
            self._reasons.clear()
            return 0
        if self._system.is_draining():
            for job in queued:
                self._explain(job, "draining: no new jobs start until draining stops")
            return 0
        active = self._queue.active_jobs()
        total = len(active)
        per_pipeline: dict[str, int] = {}
        for job in active:
            per_pipeline[job.pipeline] = per_pipeline.get(job.pipeline, 0) + 1
        scheduled, position = 0, 0
        for job in queued:
            limit = _pipeline_limit(job)
            running = per_pipeline.get(job.pipeline, 0)
            if total >= self._max:
                self._explain(job, f"waiting for capacity: {total} of {self._max} jobs active")
            elif limit is not None and running >= limit:
                self._explain(
                    job, f"waiting for pipeline {job.pipeline}: {running} of {limit} jobs active"
                )
            else:
                position = max(position, self._schedule(job))
                scheduled += 1
                total += 1
                per_pipeline[job.pipeline] = running + 1
        if position:
            self._wait_for(position)
        return scheduled

    def _schedule(self, job: QueuedJob) -> int:
        try:
            position = self._runs.schedule_job(
                RunId(UUID(job.run_id)), JobId(UUID(job.id)), DISPATCHER
            )
        except RunsError as error:  # e.g. cancelled meanwhile: the queue will show it
            log.info("not scheduling job %s: %s", job.id, error)
            return 0
        self._reasons.pop(job.run_id, None)
        return position

    def _explain(self, job: QueuedJob, reason: str) -> None:
        if self._reasons.get(job.run_id) == reason:
            return
        try:
            self._runs.wait(RunId(UUID(job.run_id)), reason)
        except RunsError as error:
            log.info("could not record why run %s waits: %s", job.run_id, error)
        self._reasons[job.run_id] = reason


def _pipeline_limit(job: QueuedJob) -> int | None:
    value = (job.spec or {}).get("concurrency")
    return int(value) if isinstance(value, int) and value > 0 else None
