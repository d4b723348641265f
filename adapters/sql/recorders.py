"""Application recorders for the event log: the library's own SQLite and PostgreSQL
recorders plus group commit and an in-process "committed up to N" announcement that
live followers wait on.

They are selected with the library's ``APPLICATION_RECORDER_TOPIC`` setting, so the
domain's application never imports them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from adapters.sql.group_commit import GroupCommitter
from adapters.sql.wakeup import Wakeup


class GroupCommitMixin:
    """Routes every insert through a ``GroupCommitter`` and announces each commit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commits = Wakeup()
        self._committer = GroupCommitter(self._write)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return self._committer.submit(stored_events)

    def _write(self, stored_events: Sequence[StoredEvent]) -> Sequence[int] | None:
        ids: Sequence[int] | None = super().insert_events(stored_events)  # type: ignore[misc]
        if ids:
            self.commits.announce(max(ids))
        return ids


class GroupCommitSQLiteRecorder(GroupCommitMixin, SQLiteApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # WAL with synchronous=NORMAL: durable across process crashes (what a CI server
        # must survive), one fsync per checkpoint instead of per commit.
        pool = self.datastore.pool
        create = pool._create_connection

        def tuned() -> Any:
            connection = create()
            connection._sqlite_conn.execute("PRAGMA synchronous=NORMAL")
            return connection

        pool._create_connection = tuned  # type: ignore[method-assign]


class GroupCommitPostgresRecorder(GroupCommitMixin, PostgresApplicationRecorder):
    pass
