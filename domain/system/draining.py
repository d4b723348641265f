"""Draining with a deadline: wait for the running jobs to end, and when the deadline
passes, optionally cancel what remains with the drain as the cancellation's cause.

The drain itself is the ``System.DrainStarted`` event; this policy only watches the jobs
that were running when it began (and any that started just before it) and reports them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Protocol
from uuid import UUID

from domain.cause import Cause
from domain.execution.ports import ActiveJob
from domain.ids import RunId
from domain.runs.application import RunsService
from domain.runs.errors import RunsError
from domain.system.application import SystemService

POLL_INTERVAL = 1.0


class ActiveJobs(Protocol):
    """Jobs being scheduled or running, as the read model knows them."""

    def active_jobs(self) -> Sequence[ActiveJob]: ...


class NotDrainingError(RuntimeError):
    """A drain deadline was asked for while Danube does not drain."""


class DrainDeadline:
    def __init__(
        self,
        system: SystemService,
        runs: RunsService,
        view: ActiveJobs,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._system, self._runs, self._view = system, runs, view
        self._clock, self._sleep = clock, sleep

    def wait(
        self,
        timeout: float | None,
        report: Callable[[Sequence[ActiveJob]], None],
        poll: float = POLL_INTERVAL,
    ) -> list[ActiveJob]:
        """Block until no job runs or ``timeout`` seconds pass (None: no limit); calls
        ``report`` with the running jobs whenever that set changes. Returns the jobs
        still running (empty when none is left)."""
        deadline = None if timeout is None else self._clock() + timeout
        seen: tuple[str, ...] | None = None
        while True:
            active = list(self._view.active_jobs())
            ids = tuple(job.id for job in active)
            if ids != seen:
                report(active)
                seen = ids
            if not active:
                return []
            if deadline is not None and self._clock() >= deadline:
                return active
            left = poll if deadline is None else min(poll, max(0.0, deadline - self._clock()))
            self._sleep(left)

    def force(self, remaining: Sequence[ActiveJob], why: str) -> list[ActiveJob]:
        """Cancel each run of ``remaining`` with the drain as the cause; returns the jobs
        whose cancellation was recorded (a run that ended meanwhile is skipped)."""
        system = self._system.get()
        if not system.draining:
            raise NotDrainingError("not draining: nothing is cancelled without a drain")
        since = system.drain_since.isoformat() if system.drain_since else "?"
        by = system.drain_cause.get("actor", "?")
        cause = Cause(actor="system:drain", reason=f"drain by {by} since {since}: {why}")
        cancelled = []
        for job in remaining:
            with contextlib.suppress(RunsError):  # ended meanwhile
                self._runs.cancel_run(RunId(UUID(job.run_id)), cause)
                cancelled.append(job)
        return cancelled
