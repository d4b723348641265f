"""The few places where SQLite and PostgreSQL differ for Danube's own tables: connections,
transactions, placeholders, types, row locks and notifications."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg import sql as pgsql
from psycopg_pool import ConnectionPool

from adapters.sql.lease import Fence, check_fence
from adapters.sql.metrics import store_metrics
from projections.model import ColumnType


class Cursor(Protocol):
    def execute(self, query: Any, params: Any = ..., /) -> Any: ...
    def executemany(self, query: Any, params_seq: Any, /) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...
    @property
    def description(self) -> Any: ...


class Dialect(Protocol):
    name: str
    placeholder: str
    for_update: str

    def qualify(self, table: str) -> str: ...
    def column_type(self, column_type: ColumnType) -> str: ...
    def read(self) -> Any:
        """Context manager: a cursor in a read transaction with one consistent snapshot."""

    def write(self) -> Any:
        """Context manager: a cursor in a write transaction; commits on success."""

    def notify(self, cursor: Cursor, channel: str, payload: str) -> None: ...
    def lock_ddl(self, cursor: Cursor) -> None:
        """Serialise schema changes with other processes (inside a write transaction)."""

    def close(self) -> None: ...


class SQLiteDialect:
    """One connection per thread; writers serialise with ``BEGIN IMMEDIATE``.

    ``close`` waits for transactions in flight on other threads (closing a connection
    another thread is using can crash the interpreter) and refuses new ones."""

    name = "sqlite"
    placeholder = "?"
    for_update = ""
    CLOSE_WAIT_SECONDS = 5.0

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._closed = False

    @contextmanager
    def _using(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise sqlite3.ProgrammingError(f"{self.path.name} is closed")
            self._in_flight += 1
        try:
            yield self._connection()
        finally:
            with self._lock:
                self._in_flight -= 1
                self._idle.notify_all()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def qualify(self, table: str) -> str:
        return f'"{table}"'

    def column_type(self, column_type: ColumnType) -> str:
        return {ColumnType.INTEGER: "INTEGER", ColumnType.REAL: "REAL"}.get(column_type, "TEXT")

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        with store_metrics().timed("read"), self._using() as conn:
            cursor = conn.cursor()
            cursor.execute("BEGIN")
            try:
                yield cursor
            finally:
                conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[Cursor]:
        with store_metrics().timed("write"), self._using() as conn:
            cursor = conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def notify(self, cursor: Cursor, channel: str, payload: str) -> None:
        """Other processes poll; this process is woken by the caller."""

    def lock_ddl(self, cursor: Cursor) -> None:
        """``BEGIN IMMEDIATE`` already serialises writers."""

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._idle.wait_for(lambda: self._in_flight == 0, self.CLOSE_WAIT_SECONDS)
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


def application_name(role: str, schema: str) -> str:
    """What each PostgreSQL connection of a store calls itself, ``danube-<role>:<schema>``
    (roles: events, writer, views, listen, migrate), so that an operator, or a test,
    can tell one store's connections from another's and act on exactly those."""
    return f"danube-{role}:{schema}"[:63]  # longer names are cut by the server


class PostgresDialect:
    """A small psycopg pool; every write is one transaction."""

    name = "postgres"
    placeholder = "%s"
    for_update = " FOR UPDATE"

    def __init__(self, conninfo: str, schema: str = "public", pool_size: int = 4) -> None:
        self.schema = schema
        # Set in a process holding a role's lease: every write checks it (adapters.sql.lease).
        self.fence: Callable[[], Fence | None] | None = None
        self.pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, "application_name": application_name("views", schema)},
            # A connection the server terminated (failover, admin, idle timeout) is
            # noticed at checkout and replaced instead of failing the caller.
            check=ConnectionPool.check_connection,
            open=True,
        )

    def qualify(self, table: str) -> str:
        return pgsql.Identifier(self.schema, table).as_string()

    def column_type(self, column_type: ColumnType) -> str:
        return {ColumnType.INTEGER: "BIGINT", ColumnType.REAL: "DOUBLE PRECISION"}.get(
            column_type, "TEXT"
        )

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        with (
            store_metrics().timed("read"),
            self.pool.connection() as conn,
            conn.transaction(),
            conn.cursor() as cursor,
        ):
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield cursor

    @contextmanager
    def write(self) -> Iterator[Cursor]:
        fence = self.fence() if self.fence is not None else None  # LeaseLostError
        with (
            store_metrics().timed("write"),
            self.pool.connection() as conn,
            conn.transaction(),
            conn.cursor() as cursor,
        ):
            if fence is not None:
                check_fence(cursor, self.schema, fence)
            yield cursor

    def notify(self, cursor: Cursor, channel: str, payload: str) -> None:
        cursor.execute("SELECT pg_notify(%s, %s)", (channel, payload))

    def lock_ddl(self, cursor: Cursor) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK,))

    def close(self) -> None:
        self.pool.close()


# PostgreSQL's CREATE ... IF NOT EXISTS is not safe against a concurrent identical CREATE
# (two processes starting on an empty database): every DDL of Danube's takes this lock.
DDL_LOCK = 0x44414E55  # "DANU"


@contextmanager
def migration_lock(conninfo: str) -> Iterator[None]:
    """Hold the DDL lock (a session advisory lock) while the body creates tables."""
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (DDL_LOCK,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (DDL_LOCK,))


def create_schema(conninfo: str, schema: str) -> None:
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
        conn.execute(pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pgsql.Identifier(schema)))
