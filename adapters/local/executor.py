"""``LocalExecutor``: jobs as local processes, the embedded default (DESIGN.md §5).

Each job gets a workspace ``<root>/<job id hex>`` with a clone of its repository at its
commit, a coordinator process and a fresh ``/bin/sh -c`` per step, each in a process
group of its own. Nothing is isolated: steps run as the server's user on this machine.
All state is in memory; after a restart of the server every job is ABSENT (``release``
still removes a workspace left behind).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from adapters.local.checkout import MirrorSource
from adapters.local.environment import server_environment
from adapters.local.job import LocalJob, LocalSettings
from adapters.local.warm import CoordinatorPool, spawning
from adapters.local.workspace import remove_tree
from adapters.local.zygote import Zygote
from domain.execution.ports import (
    JobLaunch,
    JobStatus,
    OutputSink,
    Phase,
    StepLaunch,
    StepOutcome,
    Stream,
)
from domain.ids import JobId
from domain.runs.states import StepState


class LocalExecutor:
    """The ``Executor`` port on local processes. Thread-safe; every method idempotent."""

    name = "local"

    def __init__(
        self,
        root: Path | str,
        *,
        coordinator_command: Sequence[str] | None = None,
        kill_grace_seconds: float = 5.0,
        git_timeout_seconds: float = 600.0,
        warm_coordinators: int = 0,
        warm_command: Sequence[str] | None = None,
        mirrors: MirrorSource | None = None,
    ) -> None:
        """``warm_coordinators`` idle coordinators are kept ready to be handed a job; 0:
        every coordinator starts cold. By default (neither ``coordinator_command`` nor
        ``warm_command`` given) they are forked by the SDK's zygote, which also forks one
        at once for a job that finds none idle; with ``warm_command`` they are spawned
        as that command. With ``mirrors``, workspaces are cloned from a local mirror of
        their repository when it can hold their commit."""
        command = coordinator_command or [sys.executable, "-m", "danube.coordinator"]
        self._root = Path(root).absolute()
        self._zygote: Zygote | None = None
        warm = None
        if warm_coordinators > 0 and warm_command is None and coordinator_command is None:
            self._root.mkdir(parents=True, exist_ok=True)
            env = {**server_environment(), "PYTHONUNBUFFERED": "1"}
            zygote_command = [sys.executable, "-m", "danube.coordinator.zygote"]
            self._zygote = Zygote(zygote_command, self._root, env, kill_grace_seconds)
            warm = CoordinatorPool(self._zygote.fork, warm_coordinators, on_demand=True)
        elif warm_coordinators > 0 and warm_command:
            self._root.mkdir(parents=True, exist_ok=True)
            start = spawning(warm_command, self._root, kill_grace_seconds)
            warm = CoordinatorPool(start, warm_coordinators)
        self._settings = LocalSettings(
            tuple(command), kill_grace_seconds, git_timeout_seconds, warm, mirrors
        )
        self._lock = threading.Lock()
        self._jobs: dict[JobId, LocalJob] = {}
        self._told_about_images: set[JobId] = set()
        self._watchers: list[Callable[[], None]] = []

    def watch(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever a job's status changed on its own: its coordinator
        has started (or the job could not start), or its coordinator has ended; so that
        whoever reconciles looks at it at once rather than at its next poll (a
        coordinator's first call waits until the job is recorded as started). It must
        not block."""
        with self._lock:
            self._watchers.append(callback)

    def _changed(self) -> None:
        with self._lock:
            watchers = list(self._watchers)
        for callback in watchers:
            callback()

    def workspace(self, job_id: JobId) -> Path:
        return self._root / job_id.hex

    def start(self, job: JobLaunch, output: OutputSink) -> None:
        with self._lock:
            if job.job_id in self._jobs:
                return
            local = self._jobs[job.job_id] = LocalJob(
                job, self.workspace(job.job_id), self._settings, output, self._changed
            )
        local.begin()

    def status(self, job_id: JobId) -> JobStatus:
        job = self._job(job_id)
        return JobStatus(Phase.ABSENT) if job is None else job.status()

    def run_step(self, job_id: JobId, step: StepLaunch, output: OutputSink) -> StepOutcome:
        job = self._job(job_id)
        if job is None:
            reason = f"job {job_id} is not known to the local executor (not started or released)"
            return StepOutcome(StepState.FAILURE, None, reason)
        if step.image:
            self._say_images_are_not_used(job_id, step, output)
        return job.run_step(step, output)

    def _say_images_are_not_used(self, job_id: JobId, step: StepLaunch, output: OutputSink) -> None:
        """Once per job: a step's ``image=`` needs a container, which this executor has not."""
        with self._lock:
            if job_id in self._told_about_images:
                return
            self._told_about_images.add(job_id)
        line = (
            f"note: the local executor cannot honour image= (step {step.name or step.number} "
            f"asked for {step.image}): every step runs on this machine, not in a container\n"
        )
        output.write(Stream.SYSTEM, line.encode())

    def stop(self, job_id: JobId, reason: str) -> None:
        if (job := self._job(job_id)) is not None:
            job.stop(reason)

    def release(self, job_id: JobId) -> None:
        job = self._job(job_id)
        if job is not None:
            job.stop("released")
        remove_tree(self.workspace(job_id))
        with self._lock:
            if job is not None and self._jobs.get(job_id) is job:
                del self._jobs[job_id]
            self._told_about_images.discard(job_id)

    def close(self) -> None:
        """Release every job (for the server's shutdown: no process outlives it)."""
        if self._settings.warm is not None:
            self._settings.warm.close()
        with self._lock:
            job_ids = list(self._jobs)
        for job_id in job_ids:
            self.release(job_id)
        if self._zygote is not None:
            self._zygote.close()

    def _job(self, job_id: JobId) -> LocalJob | None:
        with self._lock:
            return self._jobs.get(job_id)
