"""Live queries for asyncio transports (GraphQL subscriptions, SSE): async generators
woken by the store (``adapters.sql.live.Signal`` over the read models' and the job log's
wakeups) that re-read the read models, never the raw event stream.

Each subscriber pulls: nothing is produced until the transport has sent what came
before, so a slow client holds at most one batch in memory, and every batch carries the
position it starts at (a run's version, a log's byte offset) for resuming without a gap
or a duplicate."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from adapters.sql.live import Fanout, Overflowed, Signal
from adapters.sql.wakeup import Wakeup
from api.app.errors import UnavailableError
from api.app.principal import OPERATOR, Principal
from api.app.queries import Queries, RunFilter
from api.app.results import JobResult, LogChunk, RunResult, StepResult
from domain.auth.policy import Action

T = TypeVar("T")
REREAD_SECONDS = 1.0  # a subscriber re-reads at least this often, woken or not
RECHECK_SECONDS = 1.0  # and looks at its rights again at most this often
Asker = Callable[[bool], Principal | None]
"""The principal of a subscriber as of now (resolved against the config in force);
``asker(False)`` answers without I/O or not at all (None), for the event loop."""


class _Rights:
    """A subscriber's principal, looked at again (at most every ``RECHECK_SECONDS``) so a
    config change that removes its access ends the subscription with a refusal. The
    look is cheap (the principal is cached per config, the config looked up at most once
    a second per process); the check runs again only when the principal changed."""

    def __init__(
        self, asker: Asker, check: Callable[[Principal], Any], lookups: _Lookups | None = None
    ) -> None:
        self._asker, self._check = asker, check
        self._lookups = lookups or _Lookups()
        self._checked = time.monotonic()
        principal = asker(True)
        assert principal is not None
        self.principal = principal
        check(principal)

    async def recheck(self) -> None:
        if time.monotonic() - self._checked < RECHECK_SECONDS:
            return
        self._checked = time.monotonic()
        principal = await self._lookups.principal(self._asker)
        if principal is self.principal:
            return
        self.principal = principal
        await asyncio.to_thread(self._check, principal)


class _Lookups:
    """At most one look-up of the config in a thread at a time for every subscriber:
    the principals' config is looked up once for the process (and kept a second), so
    the subscribers that find it stale together wait for one look-up and then answer
    from it, instead of each taking a thread (hundreds of them a second)."""

    def __init__(self) -> None:
        self._pending: asyncio.Future[Principal | None] | None = None

    async def principal(self, asker: Asker) -> Principal:
        principal = asker(False)
        if principal is not None:
            return principal
        pending = self._pending
        if (
            pending is None
            or pending.done()
            or pending.get_loop() is not asyncio.get_running_loop()
        ):
            pending = self._pending = asyncio.ensure_future(asyncio.to_thread(asker, True))
            # Shielded: the subscriber that started it going away cancels only its wait.
            principal = await asyncio.shield(pending)
            assert principal is not None
            return principal
        with suppress(Exception):  # another subscriber's look-up: its failure is its own
            await asyncio.shield(pending)
        principal = asker(False)
        if principal is None:  # looked up for another identity only, or failed: its own
            principal = await asyncio.to_thread(asker, True)
            assert principal is not None
        return principal


LOG_BATCH = 256 * 1024
RUN_QUEUE = 10_000  # run changes a subscriber may be behind before it must resync
LOG_QUEUE = 32  # batches a follower of a job's shared log tail may be behind (<= 8 MB)


class Live:
    def __init__(
        self,
        queries: Queries,
        views_moved: Callable[[], Wakeup],
        log_moved: Callable[[str], Wakeup],
        counted: Callable[[str, int], None] = lambda kind, change: None,
        run_queue: int = RUN_QUEUE,
    ) -> None:
        self._queries = queries
        self._run_queue = run_queue  # run changes a subscriber may be behind
        self._views_moved, self._log_moved = views_moved, log_moved
        self._counted = counted  # (kind, +1 or -1) as subscriptions open and close
        self._feeds: dict[RunFilter, _RunFeed] = {}
        self._lookups = _Lookups()  # of the config, for every subscriber's re-checks
        self._tails: dict[str, _LogTail] = {}

    async def _read(self, read: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(read, *args)

    @contextmanager
    def _open(self, kind: str) -> Iterator[None]:
        """Counted as an open subscription of ``kind`` while inside."""
        self._counted(kind, 1)
        try:
            yield
        finally:
            self._counted(kind, -1)

    async def _woken(self, signal: Signal) -> None:
        try:
            async with asyncio.timeout(REREAD_SECONDS):
                await signal.wait()
        except TimeoutError:
            pass

    def _may_follow_runs(self, filter: RunFilter, operation: str) -> Callable[[Principal], None]:
        def check(principal: Principal) -> None:
            access = self._queries.access
            access.authenticated(principal, operation)
            if filter.pipeline:
                access.require(principal, Action.READ, operation, filter.pipeline)

        return check

    async def runs(
        self, asker: Asker, filter: RunFilter, operation: str = "runUpdated"
    ) -> AsyncIterator[RunResult]:
        """Every change of a run matching ``filter`` from now on, in the order the
        changes were folded (a run that changed twice between two looks is sent once,
        as it is now); each carries the run's version. Subscribers with the same filter
        share one reader (one read per change, however many subscribers), each with a
        bounded queue: one that falls behind is told to subscribe again. Each subscriber
        receives runs of the pipelines it may read (as the config says now); refusals
        name ``operation`` (the transport's name for this feed)."""
        check = self._may_follow_runs(filter, operation)
        rights = await asyncio.to_thread(_Rights, asker, check, self._lookups)
        self._queries.valid_run_filter(filter)
        feed = self._feeds.get(filter)
        if feed is None:
            feed = self._feeds[filter] = _RunFeed(self, filter)
        subscriber = feed.fanout.subscribe(self._run_queue)
        self._counted("runs", 1)
        try:
            while True:
                try:
                    run = subscriber.take()  # queued already: no timeout to arm
                    if run is None:
                        async with asyncio.timeout(RECHECK_SECONDS):
                            run = await subscriber.get()
                except TimeoutError:  # quiet: look at the subscriber's rights again
                    await rights.recheck()
                    continue
                except Overflowed:
                    raise UnavailableError(
                        "the subscriber fell behind; subscribe again and re-read the runs"
                    ) from None
                await rights.recheck()
                readable = rights.principal.readable()
                if readable is None or run.pipeline in readable:
                    yield run
        finally:
            self._counted("runs", -1)
            subscriber.close()
            if feed.fanout.subscribers == 0 and self._feeds.get(filter) is feed:
                del self._feeds[filter]
                feed.stop()

    def _may_read_job(self, job_id: str) -> Callable[[Principal], Any]:
        return lambda principal: self._queries.job(principal, job_id)

    async def job(
        self, asker: Asker, job_id: str
    ) -> AsyncIterator[tuple[JobResult, list[StepResult]]]:
        """The job and its steps now, then at every change; ends after its final state."""
        rights = await asyncio.to_thread(_Rights, asker, self._may_read_job(job_id), self._lookups)
        loop = asyncio.get_running_loop()
        last: Any = None
        with self._open("job"), Signal([self._views_moved()], loop) as signal:
            while True:
                await rights.recheck()
                job = await self._read(self._queries.job, rights.principal, job_id)
                steps = await self._read(self._queries.steps, rights.principal, job_id)
                current = (job, steps)
                if current != last:
                    last = current
                    yield job, steps
                if job.state.is_terminal:
                    return
                await self._woken(signal)

    async def log(self, asker: Asker, job_id: str, offset: int = 0) -> AsyncIterator[LogChunk]:
        """The job's log from byte ``offset`` in batches, as it grows; after the job has
        ended and every byte was sent, one last chunk with ``complete`` and then the end.

        A subscriber behind what is stored (a finished log, a resumed one) reads for
        itself, each batch once the last was taken; once caught up it follows the job's
        one shared tail (one read per batch, however many follow; the same chunk object
        for all). A follower that falls ``LOG_QUEUE`` batches behind the tail leaves it
        and reads for itself again: memory stays bounded and nothing is skipped.

        The subscriber's rights are checked when it subscribes and again as it reads or
        receives (a config change that takes its access away ends it with a refusal); the
        shared tail reads for every follower, each of which was checked."""
        rights = await asyncio.to_thread(_Rights, asker, self._may_read_job(job_id), self._lookups)
        with self._open("log"):
            while True:
                while True:  # read for itself until caught up with what is stored
                    await rights.recheck()
                    principal = rights.principal
                    chunk = await self._read(
                        self._queries.log, principal, job_id, offset, LOG_BATCH
                    )
                    if chunk.text or chunk.complete:
                        yield chunk
                        offset = chunk.next_offset
                    if chunk.complete:
                        return
                    if chunk.next_offset - chunk.offset < LOG_BATCH:
                        break
                tail = self._tails.get(job_id)
                if tail is None or tail.ended:
                    tail = self._tails[job_id] = _LogTail(self, job_id, offset)
                follower = tail.fanout.subscribe(LOG_QUEUE)
                try:
                    while True:
                        try:
                            queued = follower.take()  # queued already: no timeout to arm
                            if queued is None:
                                async with asyncio.timeout(REREAD_SECONDS):
                                    queued = await follower.get()
                            chunk = queued
                        except TimeoutError:
                            if tail.ended:  # it failed (or was stopped): read for itself
                                break
                            await rights.recheck()
                            continue
                        except Overflowed:
                            break
                        await rights.recheck()
                        if chunk.next_offset <= offset and not chunk.complete:
                            continue  # read before this follower joined
                        if chunk.offset != offset:
                            # Joined between two of the tail's reads: the bytes between where
                            # this follower is and the end of the tail's chunk, from the store.
                            while offset < chunk.next_offset:
                                limit = min(chunk.next_offset - offset, LOG_BATCH)
                                gap = await self._read(
                                    self._queries.log, rights.principal, job_id, offset, limit
                                )
                                if gap.text or gap.complete:
                                    yield gap
                                    offset = gap.next_offset
                                if gap.complete:
                                    return
                            if chunk.offset < offset:
                                continue  # all of it was in the gap
                        yield chunk
                        offset = chunk.next_offset
                        if chunk.complete:
                            return
                finally:
                    follower.close()
                    if tail.fanout.subscribers == 0 and self._tails.get(job_id) is tail:
                        del self._tails[job_id]
                        tail.stop()


class _RunFeed:
    """One reader of the runs read model for all subscribers of one filter."""

    def __init__(self, live: Live, filter: RunFilter) -> None:
        loop = asyncio.get_running_loop()
        # A subscriber that is behind is handed each run once, as it is now.
        self.fanout: Fanout[RunResult] = Fanout(loop, key=lambda run: run.id)
        self._task = loop.create_task(self._pump(live, filter))

    async def _pump(self, live: Live, filter: RunFilter) -> None:
        queries = live._queries
        # A run's state is the one thing of a filter that changes: the runs that were in
        # the filter's state are read too, so the change that takes one out of it is
        # delivered (showing the state it went to) and a list stays right.
        unstated = dataclasses.replace(filter, state="")
        within: set[str] = set()  # runs shown in the filter's (non-terminal) state
        # Where to start is read before listening: a change in between is read on the
        # first wake (or re-read), never missed.
        change = await live._read(queries.last_run_change)
        with Signal([live._views_moved()], asyncio.get_running_loop()) as signal:
            while True:
                await live._woken(signal)
                changed, change = await live._read(queries.runs_changed_since, change, unstated)
                for run in changed:
                    if filter.state and run.state.value != filter.state:
                        if run.id not in within:
                            continue
                        within.discard(run.id)  # it left the filter: shown once more
                    elif filter.state and not run.state.is_terminal:
                        within.add(run.id)
                    self.fanout.publish(run)

    def stop(self) -> None:
        self._task.cancel()


class _LogTail:
    """One reader of a job's log as it grows, for every follower of that job: each
    batch is read once and the same ``LogChunk`` handed to all of them."""

    def __init__(self, live: Live, job_id: str, offset: int) -> None:
        loop = asyncio.get_running_loop()
        self.fanout: Fanout[LogChunk] = Fanout(loop)
        self.ended = False
        self._task = loop.create_task(self._pump(live, job_id, offset))
        self._task.add_done_callback(self._done)

    async def _pump(self, live: Live, job_id: str, offset: int) -> None:
        queries = live._queries
        with Signal(
            [live._log_moved(job_id), live._views_moved()], asyncio.get_running_loop()
        ) as signal:
            while True:
                # For followers that were each checked (the tail itself answers to no one).
                chunk = await live._read(queries.log, OPERATOR, job_id, offset, LOG_BATCH)
                if chunk.text or chunk.complete:
                    self.fanout.publish(chunk)
                    offset = chunk.next_offset
                if chunk.complete:
                    return
                if chunk.next_offset - chunk.offset < LOG_BATCH:  # caught up: wait
                    await live._woken(signal)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.ended = True
        if not task.cancelled():
            task.exception()  # a follower that finds it ended reads (and fails) itself

    def stop(self) -> None:
        self._task.cancel()
