"""Following one job from the command line: its log copied to stdout as it grows, from
where the last copy stopped, and, while it is queued, why it waits (on stderr)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import BinaryIO, TextIO
from uuid import UUID

from adapters.sql.wakeup import Wakeup
from api.execution.outputs import LogOutputs
from domain.runs.states import TERMINAL
from projections.runs_view import RunsView

READ_LIMIT = 1024 * 1024
WAIT_SECONDS = 0.1


class JobFollower:
    """Reads the job's log (``logs``), its state and its run's waiting reason (``views``,
    woken when the runs read model moves: ``runs_moved``)."""

    def __init__(
        self,
        logs: LogOutputs,
        views: RunsView,
        runs_moved: Wakeup,
        job_id: UUID,
        out: BinaryIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self._logs, self._views, self._runs_moved = logs, views, runs_moved
        self._job_id = job_id
        self._out = out if out is not None else sys.stdout.buffer
        self._err = err if err is not None else sys.stderr
        self.offset = 0  # how much of the log has been copied
        self._waiting = ""

    def follow(self, stop: Callable[[], bool] = lambda: False) -> str | None:
        """Copy until the job ends and return its final state, or until ``stop()`` is
        true and return None. Each call continues where the previous one stopped."""
        job_id = self._job_id
        progress = self._logs.progress(job_id)  # type: ignore[arg-type]
        views = self._runs_moved
        while not stop():
            generation, views_generation = progress.generation(), views.generation()
            job = self._views.job(job_id)  # before reading: a final state means all is stored
            if self._copy():
                continue
            if job is not None and job.state in TERMINAL:
                return job.state
            self._explain(job.run_id if job is not None and job.state == "pending" else None)
            if progress.wait(generation, WAIT_SECONDS) == generation:
                views.wait(views_generation, WAIT_SECONDS)
        return None

    def _copy(self) -> bool:
        data = self._logs.read_bytes(self._job_id.hex, self.offset, READ_LIMIT)
        if data:
            self._out.write(data)
            self._out.flush()
            self.offset += len(data)
        return bool(data)

    def _explain(self, queued_run: str | None) -> None:
        """Say why the job waits in the queue when the reason changes, and when it
        stops waiting."""
        run = self._views.run(queued_run) if queued_run else None
        reason = run.waiting_reason if run is not None else ""
        if reason and reason != self._waiting:
            print(f"danube: queued: {reason}", file=self._err, flush=True)
        elif self._waiting and queued_run is None:
            print("danube: no longer queued", file=self._err, flush=True)
        self._waiting = reason
