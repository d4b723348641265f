"""Group commit: concurrent saves share one transaction.

The event store serialises writers (PostgreSQL takes a table lock per insert so that
commit order equals notification order; SQLite has one writer). Rather than dropping that
guarantee, saves that arrive while a transaction is in flight are queued and written
together by the next leader in one transaction. A batch that hits a version conflict is
retried one save at a time, so only the conflicting save fails (and its command retries on
fresh state) while the others still commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eventsourcing.persistence import IntegrityError, StoredEvent

Write = Callable[[Sequence[StoredEvent]], Sequence[int] | None]


@dataclass
class _Pending:
    events: Sequence[StoredEvent]
    ids: Sequence[int] | None = None
    error: BaseException | None = None
    done: bool = False


class GroupCommitter:
    def __init__(self, write: Write, max_batch: int = 256) -> None:
        self._write = write
        self._max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._busy = False

    def submit(self, events: Sequence[StoredEvent]) -> Sequence[int] | None:
        request = _Pending(events)
        with self._cond:
            self._queue.append(request)
            while self._busy and not request.done:
                self._cond.wait()
            if not request.done:
                self._busy = True
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
        if not request.done:
            try:
                self._commit(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        if request.error is not None:
            raise request.error
        return request.ids

    def _commit(self, batch: list[_Pending]) -> None:
        if len(batch) > 1:
            combined = [event for request in batch for event in request.events]
            try:
                ids = self._write(combined)
            except IntegrityError:
                pass  # someone in the batch lost a race: find out who, one by one
            except BaseException as error:
                self._finish(batch, error=error)
                return
            else:
                offset = 0
                for request in batch:
                    count = len(request.events)
                    request.ids = None if ids is None else ids[offset : offset + count]
                    offset += count
                self._finish(batch)
                return
        for request in batch:
            try:
                request.ids = self._write(request.events)
            except BaseException as error:
                request.error = error
            self._finish([request], error=request.error)

    def _finish(self, batch: list[_Pending], error: BaseException | None = None) -> None:
        with self._cond:
            for request in batch:
                if error is not None:
                    request.error = error
                request.done = True
            self._cond.notify_all()
