"""Open everything persistent for one process: the event log (SQLite file or PostgreSQL),
the read-model store beside it, live following, and projectors.

Embedded default: ``<data_dir>/events.sqlite3`` and ``<data_dir>/views.sqlite3``.
Production: one PostgreSQL database; tables ``danube_events`` and ``view_*`` in a schema.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from adapters.sql.dialect import (
    Dialect,
    PostgresDialect,
    SQLiteDialect,
    application_name,
    create_schema,
    migration_lock,
)
from adapters.sql.heartbeats import SqlHeartbeats
from adapters.sql.keytable import SqlKeyTable
from adapters.sql.lease import HeldLease, Lease, PostgresLease
from adapters.sql.listen import PostgresListener
from adapters.sql.logstore import LOGS_CHANNEL, SqlLogStore
from adapters.sql.projector import EventFeed, Projector, ProjectorGroup
from adapters.sql.viewstore import VIEWS_CHANNEL, SqlViewStore
from adapters.sql.wakeup import Wakeup
from domain.eventlog import EventLog
from projections.model import Projection

EVENTS_CHANNEL = "danube_events"  # the library NOTIFYs on its events table's name


@dataclass(frozen=True)
class StoreConfig:
    kind: Literal["sqlite", "postgres"]
    data_dir: Path | None = None
    database_url: str = ""
    schema: str = "public"
    pool_size: int = 4
    create_tables: bool = True
    lock_timeout_seconds: int = 10
    # How often followers look for writes nobody told them about. None: 50 ms on SQLite
    # (other processes' writes are only seen this way), 1 s on PostgreSQL (NOTIFY wakes
    # followers; this is a safety net).
    poll_interval_seconds: float | None = None


def eventlog_env(config: StoreConfig) -> dict[str, str]:
    """The library settings for our event log. Never the in-memory default."""
    env = {"AGGREGATE_CACHE_MAXSIZE": "1000", "CREATE_TABLE": "y" if config.create_tables else "n"}
    if config.kind == "sqlite":
        if config.data_dir is None:
            raise ValueError("the SQLite event store needs a data directory")
        return env | {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(config.data_dir / "events.sqlite3"),
            "SQLITE_LOCK_TIMEOUT": str(config.lock_timeout_seconds * 3),
            "APPLICATION_RECORDER_TOPIC": "adapters.sql.recorders:GroupCommitSQLiteRecorder",
        }
    params = conninfo_to_dict(config.database_url)
    return env | {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname", "postgres")),
        "POSTGRES_HOST": str(params.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(params.get("port", "5432")),
        "POSTGRES_USER": str(params.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(params.get("password", "")),
        "POSTGRES_SCHEMA": config.schema,
        "POSTGRES_POOL_SIZE": str(config.pool_size),
        "POSTGRES_MAX_OVERFLOW": str(config.pool_size),
        "POSTGRES_LOCK_TIMEOUT": str(config.lock_timeout_seconds),
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "APPLICATION_RECORDER_TOPIC": "adapters.sql.recorders:GroupCommitPostgresRecorder",
    }


class DataDirError(RuntimeError):
    """The data directory cannot be made private to this user."""


DATABASE_FILES = ("events.sqlite3", "views.sqlite3")


def make_private(data_dir: Path, files: Sequence[str] = ()) -> None:
    """The data directory private to the server's user (0700) and the database files
    Danube keeps in it 0600 (SQLite gives its -wal, -shm and -journal files the mode of
    the database), whatever the umask; ``files`` are created 0600 if missing. Checked
    at every start: looser modes left by an older version or by hand are tightened; a
    directory that belongs to another user is refused (``DataDirError``), as a master
    key readable by others is."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = data_dir.stat()
    if info.st_uid != os.geteuid():
        raise DataDirError(
            f"the data directory {data_dir} belongs to uid {info.st_uid}, not to this "
            f"user (uid {os.geteuid()}): it holds every job log and secret; chown it"
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(data_dir, 0o700)
    for name in files:
        path = data_dir / name
        os.close(os.open(path, os.O_CREAT | os.O_RDONLY | getattr(os, "O_CLOEXEC", 0), 0o600))
    for path in data_dir.glob("*.sqlite3*"):
        if path.is_file() and stat.S_IMODE(path.stat().st_mode) & 0o077:
            os.chmod(path, 0o600)


class SqlStore:
    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        if config.kind == "sqlite" and config.data_dir is not None:
            make_private(config.data_dir, DATABASE_FILES)
        conninfo = (
            _with_search_path(config.database_url, config.schema)
            if config.kind == "postgres"
            else ""
        )
        with migration_lock(conninfo) if conninfo and config.create_tables else nullcontext():
            if conninfo and config.create_tables:
                create_schema(conninfo, config.schema)
            self._open(config, conninfo)

    def _open(self, config: StoreConfig, conninfo: str) -> None:
        self.log = EventLog(eventlog_env(config))
        self.commits: Wakeup = self.log.recorder.commits  # type: ignore[attr-defined]
        self.dialect: Dialect
        self.listener: PostgresListener | None = None
        if config.kind == "sqlite":
            assert config.data_dir is not None
            self.dialect = SQLiteDialect(config.data_dir / "views.sqlite3")
            poll = 0.05
        else:
            self.dialect = PostgresDialect(conninfo, config.schema, config.pool_size)
            poll = 1.0
        if config.poll_interval_seconds is not None:
            poll = config.poll_interval_seconds
        self.views = SqlViewStore(self.dialect)
        self.feed = EventFeed(self.log.recorder, self.log.mapper, self.commits, poll)
        # Logs and the vault's keys live beside the events (SQLite: in the events file).
        self.events_dialect: Dialect = (
            SQLiteDialect(config.data_dir / "events.sqlite3")
            if config.kind == "sqlite" and config.data_dir is not None
            else self.dialect
        )
        self.logs = SqlLogStore(self.events_dialect)
        self.keys = SqlKeyTable(self.events_dialect)
        self.heartbeats = SqlHeartbeats(self.dialect)
        if config.create_tables:
            self.logs.ensure()
            self.keys.ensure()
            self.heartbeats.ensure()

    def start_listening(self) -> None:
        """Relay other processes' commits (events and views) into this process."""
        if self.config.kind != "postgres" or self.listener is not None:
            return
        self.listener = PostgresListener(
            self.config.database_url,
            {
                EVENTS_CHANNEL: self._on_events,
                VIEWS_CHANNEL: self._on_views,
                LOGS_CHANNEL: self.logs.relay,
            },
            application_name=application_name("listen", self.config.schema),
        )
        self.listener.start()

    def _on_events(self, payload: str | None) -> None:
        self.commits.announce()

    def _on_views(self, payload: str | None) -> None:
        if payload is None:
            self.views.announce_all()
            return
        notified = self.views.notified(payload)
        if notified is not None:
            name, position = notified
            self.views.progress(name).announce(position)

    def lease(self, role: str, holder: str, ttl: float = 10.0) -> Lease:
        """The lease of one role (see ``adapters.sql.lease``): on PostgreSQL shared by
        every process of this schema; on SQLite held by the one process there is."""
        if self.config.kind != "postgres":
            return HeldLease(role)
        return PostgresLease(
            self.config.database_url,
            self.config.schema,
            role,
            holder,
            ttl,
            application_name=application_name(f"lease-{role}", self.config.schema),
        )

    def fence_writes(self, lease: Lease) -> None:
        """From now on every write of this store (events, views, logs, keys) is checked
        against ``lease`` in its own transaction, and refused once it is lost."""
        if lease.fence() is None:
            return
        self.log.recorder.fence = lease.fence  # type: ignore[attr-defined]
        for dialect in (self.dialect, self.events_dialect):
            if isinstance(dialect, PostgresDialect):
                dialect.fence = lease.fence

    def projector(self, projection: Projection, batch_size: int = 500) -> Projector:
        return Projector(self.feed, self.views, projection, batch_size)

    def projector_group(
        self, projections: Sequence[Projection], batch_size: int = 500
    ) -> ProjectorGroup:
        return ProjectorGroup(self.feed, self.views, projections, batch_size)

    def close(self) -> None:
        if self.listener is not None:
            self.listener.stop()
        if self.events_dialect is not self.dialect:
            self.events_dialect.close()
        self.dialect.close()
        close_writer = getattr(self.log.recorder, "close_writer", None)
        if close_writer is not None:
            close_writer()
        self.log.close()


def _with_search_path(url: str, schema: str) -> str:
    return make_conninfo(
        url,
        application_name=application_name("migrate", schema),
        options=f"-c search_path={schema}",
    )
