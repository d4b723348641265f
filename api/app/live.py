"""Live queries for asyncio transports (GraphQL subscriptions, SSE): async generators
woken by the store (``adapters.sql.live.Signal`` over the read models' and the job log's
wakeups) that re-read the read models, never the raw event stream.

Each subscriber pulls: nothing is produced until the transport has sent what came
before, so a slow client holds at most one batch in memory, and every batch carries the
position it starts at (a run's version, a log's byte offset) for resuming without a gap
or a duplicate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from adapters.sql.live import Signal
from adapters.sql.wakeup import Wakeup
from api.app.queries import Queries, RunFilter
from api.app.results import JobResult, LogChunk, RunResult, StepResult

T = TypeVar("T")
REREAD_SECONDS = 1.0  # a subscriber re-reads at least this often, woken or not
LOG_BATCH = 256 * 1024


class Live:
    def __init__(
        self,
        queries: Queries,
        views_moved: Callable[[], Wakeup],
        log_moved: Callable[[str], Wakeup],
    ) -> None:
        self._queries = queries
        self._views_moved, self._log_moved = views_moved, log_moved

    async def _read(self, read: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(read, *args)

    async def _woken(self, signal: Signal) -> None:
        try:
            async with asyncio.timeout(REREAD_SECONDS):
                await signal.wait()
        except TimeoutError:
            pass

    async def runs(self, filter: RunFilter) -> AsyncIterator[RunResult]:
        """Every change of a run matching ``filter`` from now on, in the order the
        changes were folded (a run that changed twice between two looks is sent once,
        as it is now); each carries the run's version."""
        loop = asyncio.get_running_loop()
        with Signal([self._views_moved()], loop) as signal:
            change = await self._read(self._queries.last_run_change)
            while True:
                await self._woken(signal)
                changed, change = await self._read(self._queries.runs_changed_since, change, filter)
                for run in changed:
                    yield run

    async def job(self, job_id: str) -> AsyncIterator[tuple[JobResult, list[StepResult]]]:
        """The job and its steps now, then at every change; ends after its final state."""
        loop = asyncio.get_running_loop()
        last: Any = None
        with Signal([self._views_moved()], loop) as signal:
            while True:
                job = await self._read(self._queries.job, job_id)
                steps = await self._read(self._queries.steps, job_id)
                current = (job, steps)
                if current != last:
                    last = current
                    yield job, steps
                if job.state.is_terminal:
                    return
                await self._woken(signal)

    async def log(self, job_id: str, offset: int = 0) -> AsyncIterator[LogChunk]:
        """The job's log from byte ``offset`` in batches, as it grows; after the job has
        ended and every byte was sent, one last chunk with ``complete`` and then the end."""
        loop = asyncio.get_running_loop()
        with Signal([self._log_moved(job_id), self._views_moved()], loop) as signal:
            while True:
                chunk = await self._read(self._queries.log, job_id, offset, LOG_BATCH)
                if chunk.text or chunk.complete:
                    yield chunk
                    offset = chunk.next_offset
                if chunk.complete:
                    return
                if chunk.next_offset - chunk.offset < LOG_BATCH:  # caught up: wait
                    await self._woken(signal)
