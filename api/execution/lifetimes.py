"""Per-job state has an end of life in every role.

``JobStateReleaser`` is the worker of a process that answers jobs' calls but runs no
reconciler (``danube server``): every JobService call registers the job's token with
the job output, ``GetSecret`` the secret's value, and nothing else in that process ever
closes them. It releases the state of each job the read model shows ended, ``grace``
seconds after it first saw it so (a call admitted just before the job ended still finds
its masks), and of a job the read model does not list after ``unknown_grace``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from adapters.sql.wakeup import Wakeup
from api.bootstrap import Danube, Execution
from api.execution.material import SealedStepMaterial
from api.execution.outputs import LogOutputs
from domain.execution.ports import ExecutionView
from domain.runs.states import JobState

if TYPE_CHECKING:
    from api.grpc.ports import JobCalls
    from api.grpc.server import GrpcServer
    from api.processes import Supervisor

log = logging.getLogger(__name__)

RELEASE_INTERVAL = 5.0  # at least this often, whether or not the read models move
RELEASE_GRACE = 2.0  # after the read model shows the job ended
UNKNOWN_GRACE = 120.0  # a job the read model does not list (yet, or any more)


class JobStateReleaser:
    def __init__(
        self,
        logs: LogOutputs,
        view: ExecutionView,
        progress: Wakeup,
        *,
        interval: float = RELEASE_INTERVAL,
        grace: float = RELEASE_GRACE,
        unknown_grace: float = UNKNOWN_GRACE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logs, self._view, self._progress = logs, view, progress
        self._interval, self._clock = interval, clock
        self._grace = {True: grace, False: unknown_grace}
        self._seen_ending: dict[str, float] = {}

    def tick(self) -> int:
        """Release what ended long enough ago; how many jobs were released."""
        held = self._logs.held()
        active = {job.id for job in self._view.active_jobs()}
        now = self._clock()
        ending: dict[str, bool] = {}  # not active: ended (True) or not listed (False)
        for job_id in held - active:
            job = self._view.job(job_id)
            if job is None or JobState(job.state).is_terminal:
                ending[job_id] = job is not None
        # a job seen active again (or released meanwhile) is forgotten
        self._seen_ending = {job: self._seen_ending.get(job, now) for job in ending}
        ended = {
            job
            for job, since in self._seen_ending.items()
            if now - since >= self._grace[ending[job]]
        }
        self._logs.release(ended)  # a job registered since ``held`` was read is not in it
        if ended:
            log.debug("released the state of %d ended jobs", len(ended))
        return len(ended)

    def __call__(self, stopping: threading.Event) -> None:
        wait = min(self._interval, max(self._grace[True], 0.1))
        # At most four ticks per grace: a tick on every move of the read model (several
        # per job under load) read each ended job again and released nothing sooner.
        gap = wait / 4
        while not stopping.is_set():
            generation = self._progress.generation()
            self.tick()
            if stopping.wait(gap):
                return
            self._progress.wait(generation, wait - gap)


def job_state_releaser(danube: Execution) -> JobStateReleaser:
    return JobStateReleaser(danube.logs, danube.views, danube.store.views.progress("runs"))


def job_calls(danube: Danube) -> JobCalls:
    """What the JobService's servicers are given."""
    from api.grpc.ports import JobCalls

    return JobCalls(
        settings=danube.settings,
        tokens=danube.tokens,
        logs=danube.logs,
        runs=danube.runs,
        views=danube.views,
        secrets=danube.secrets,
        material=SealedStepMaterial(danube.vault),
        artifacts=danube.artifacts,
        relay=danube.step_relay,
        runs_moved=danube.store.views.progress("runs"),
        wait_for_views=danube.wait_for_views,
        stopping=danube.stopping,
    )


def grpc_server(danube: Danube, address: str) -> GrpcServer:
    """The JobService (with health and reflection) on ``address``, listening."""
    from api.grpc.server import GrpcServer

    return GrpcServer(job_calls(danube), address, tracing=danube.tracing)


def serve_jobs(danube: Danube, supervisor: Supervisor, address: str) -> GrpcServer:
    """What ``danube server`` runs for job pods: the JobService, and the release of what
    it keeps of each job (no reconciler runs there to close it)."""
    supervisor.add("job-state", job_state_releaser(danube))
    return grpc_server(danube, address)
