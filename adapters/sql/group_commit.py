"""Group commit: concurrent saves share one transaction.

The event store serialises writers (PostgreSQL takes a table lock per insert so that
commit order equals notification order; SQLite has one writer). Rather than dropping that
guarantee, saves that arrive while a transaction is in flight are queued and written
together by the next leader in one transaction. A batch that hits a version conflict is
retried one save at a time, so only the conflicting save fails (and its command retries on
fresh state) while the others still commit.

Each waiting save sleeps on its own event and is woken exactly once: when its batch is
done, or when it is handed the lead for the next batch.

Writers that shared a transaction come back together, but not at once: the first one
back would find nobody queued and commit alone while the others catch up, so under load
every other transaction held a single save (measured: 8 writers, half the transactions
singletons). A leader therefore waits up to ``LINGER`` for as many saves as its previous
batch held; a lone writer (previous batch of one) never waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from eventsourcing.persistence import IntegrityError, StoredEvent

Write = Callable[[Sequence[StoredEvent]], Sequence[int] | None]

LINGER = 0.0005  # seconds; about one commit round trip here


class _Pending:
    __slots__ = ("error", "events", "ids", "lead", "woken")

    def __init__(self, events: Sequence[StoredEvent]) -> None:
        self.events = events
        self.ids: Sequence[int] | None = None
        self.error: BaseException | None = None
        self.lead = False
        self.woken = threading.Event()


class GroupCommitter:
    def __init__(self, write: Write, max_batch: int = 256) -> None:
        self._write = write
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._busy = False
        self._grown = threading.Condition(self._lock)
        self._last_batch = 1

    def submit(self, events: Sequence[StoredEvent]) -> Sequence[int] | None:
        request = _Pending(events)
        with self._lock:
            self._queue.append(request)
            self._grown.notify()
            if not self._busy:
                self._busy = request.lead = True
        if not request.lead:
            request.woken.wait()
        if request.lead:
            self._lead()
        if request.error is not None:
            raise request.error
        return request.ids

    def _lead(self) -> None:
        with self._lock:
            expected = min(self._last_batch, self._max_batch)
            if len(self._queue) < expected:
                self._grown.wait_for(lambda: len(self._queue) >= expected, LINGER)
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            self._last_batch = len(batch)
        try:
            self._commit(batch)
        finally:
            with self._lock:
                successor = self._queue[0] if self._queue else None
                if successor is None:
                    self._busy = False
                else:
                    successor.lead = True
            for request in batch:
                request.woken.set()
            if successor is not None:
                successor.woken.set()

    def _commit(self, batch: list[_Pending]) -> None:
        if len(batch) > 1:
            combined = [event for request in batch for event in request.events]
            try:
                ids = self._write(combined)
            except IntegrityError:
                pass  # someone in the batch lost a race: find out who, one by one
            except BaseException as error:
                for request in batch:
                    request.error = error
                return
            else:
                offset = 0
                for request in batch:
                    count = len(request.events)
                    request.ids = None if ids is None else ids[offset : offset + count]
                    offset += count
                return
        for request in batch:
            try:
                request.ids = self._write(request.events)
            except BaseException as error:
                request.error = error
