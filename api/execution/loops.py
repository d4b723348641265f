"""The long-running loops of execution: dispatcher, reconciler, output flushing.
Each is a supervised worker (see ``api.processes.Supervisor``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from adapters.git.mirror import GitMirrors
from adapters.local.executor import LocalExecutor
from adapters.sql.wakeup import Wakeup
from api.bootstrap import Core, Execution
from api.execution.launch import Launcher
from api.execution.material import SealedStepMaterial
from api.execution.outputs import LogOutputs
from domain.execution.dispatcher import Dispatcher
from domain.execution.ports import Executor, JobOutput
from domain.execution.reconciler import Reconciler

RECONCILE_INTERVAL = 0.1
EXIT_VIEW_WAIT = 5.0  # at most, for the read models to show what a job reported
RECONCILE_WORKERS = 8  # jobs reconciled at once (starting, ending) by each reconciler
DISPATCH_INTERVAL = 1.0
MIRROR_FETCH_TIMEOUT = 600.0


def build_executor(danube: Execution) -> Executor:
    if danube.settings.executor == "kubernetes":
        from api.execution.kubernetes import kubernetes_executor

        return kubernetes_executor(danube.settings, danube.logs)
    data_dir = Path(danube.settings.data_dir).resolve()
    return LocalExecutor(
        data_dir / "workspaces",
        warm_coordinators=danube.settings.warm_coordinators,
        mirrors=GitMirrors(data_dir / "mirrors", timeout=MIRROR_FETCH_TIMEOUT),
    )


def loop(
    tick: Callable[[], object], danube: Core, interval: float
) -> Callable[[threading.Event], None]:
    """Run ``tick`` whenever the read models move, and at least every ``interval``."""
    progress = danube.store.views.progress("runs")

    def work(stopping: threading.Event) -> None:
        while not stopping.is_set():
            generation = progress.generation()
            tick()
            progress.wait(generation, interval)

    return work


def dispatcher(danube: Core) -> Callable[[threading.Event], None]:
    policy = Dispatcher(
        danube.runs,
        danube.views,
        danube.system,
        danube.settings.max_concurrent_jobs,
        danube.wait_for_views,
    )
    return loop(WhenQueueMoved(policy.tick, danube), danube, DISPATCH_INTERVAL)


class WhenQueueMoved:
    """The dispatcher's tick, run only when what it decides on may have changed: a run
    row changed (a run requested or cancelled, a job scheduled, started or ended, a wait
    recorded: the runs read model's queue change number moved), draining started or stopped,
    or ``DISPATCH_INTERVAL`` passed. Steps, logs, reports and artifacts move the read
    models several times per job and change nothing it decides on; on each of those moves
    it read the whole queue and every active job again."""

    def __init__(self, tick: Callable[[], object], danube: Core) -> None:
        self._tick, self._views, self._system = tick, danube.views, danube.system
        self._seen: tuple[int, bool] | None = None
        self._due = 0.0

    def __call__(self) -> None:
        seen = (self._views.last_queue_change(), self._system.is_draining())  # before ticking
        now = time.monotonic()
        if seen == self._seen and now < self._due:
            return
        self._seen, self._due = seen, now + DISPATCH_INTERVAL
        self._tick()


class ReconcilerLoop:
    """The reconciler as a supervised worker: it ticks whenever the read models move, when
    the executor says a job's status changed (its coordinator started, or its processes
    ended: once the read models show what was recorded before, e.g. what the job
    reported), and at least every
    ``RECONCILE_INTERVAL``. ``wait_for_steps`` is for stopping: after the executor was
    closed, its steps' threads still record how they ended."""

    def __init__(
        self,
        policy: Reconciler,
        executor: Executor,
        runs_moved: Wakeup,
        position: Callable[[], int],
        wait_for_views: Callable[..., bool],
    ) -> None:
        """``position``: the event log's head; ``wait_for_views``: read-your-writes."""
        self.wait_for_steps, self.held_jobs = policy.wait_for_steps, policy.held_jobs
        self._tick, self._position, self._wait = policy.tick, position, wait_for_views
        self._nudge, self._exited = threading.Event(), threading.Event()
        runs_moved.subscribe(self._nudge)
        watch = getattr(executor, "watch", None)  # an executor that says when jobs change
        if watch is not None:
            watch(self._job_changed)

    def _job_changed(self) -> None:
        self._exited.set()
        self._nudge.set()

    def __call__(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            self._nudge.clear()  # before looking: a move while ticking ticks again
            if self._exited.is_set():
                self._exited.clear()
                self._wait(self._position(), EXIT_VIEW_WAIT, only=("runs",))
            self._tick()
            self._nudge.wait(RECONCILE_INTERVAL)


def reconciler(
    danube: Execution, executor: Executor, master_address: str, output: JobOutput | None = None
) -> ReconcilerLoop:
    policy = Reconciler(
        executor,
        danube.runs,
        danube.views,
        output or danube.logs,
        Launcher(danube.tokens, master_address, danube.git_credentials),
        SealedStepMaterial(danube.vault),
        workers=RECONCILE_WORKERS,
        relay=danube.step_relay,
    )
    return ReconcilerLoop(
        policy,
        executor,
        danube.store.views.progress("runs"),
        danube.store.log.position,
        danube.wait_for_views,
    )


def output_flusher(logs: LogOutputs) -> Callable[[threading.Event], None]:
    def work(stopping: threading.Event) -> None:
        while not stopping.wait(0.1):
            logs.flush_idle()

    return work
