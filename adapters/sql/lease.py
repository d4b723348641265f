"""Leases: at most one active process per role (projector, dispatcher, scheduler, pod
adapter) when several replicas of it run against one PostgreSQL database.

How a lease is held, and lost:

- **A session advisory lock on a dedicated connection.** The server releases it when
  that session ends: the holder died (its socket closes), the session was terminated
  (``pg_terminate_backend``, a failover), or it stayed silent longer than the lease's
  time to live (``idle_session_timeout``: a paused or partitioned holder loses the lease
  on the server's own clock, without its cooperation).
- **The holder renews** (one query) every ``ttl / 5`` and waits on its socket in
  between, so a terminated session is noticed at once. It counts the lease as its own
  only until ``sent + ttl - margin`` of its last successful renewal: it stops acting
  before the server can hand the lease to anyone else.
- **Every write is fenced by an epoch.** Each acquisition bumps the role's row in
  ``danube_leases``; every write transaction of the holder locks that row ``FOR SHARE``
  and checks the epoch (``check_fence``; the event log's recorder does the same inside
  its insert function). A former holder's write therefore either commits before the next
  holder's bump (which waits for it) or fails with ``LeaseLostError``: whatever a paused
  process does after it wakes up, nothing it writes is accepted. A write transaction
  left idle for half the TTL (its process paused inside it) is ended by the server, so
  it cannot hold up the bump.

On SQLite (the embedded default, one process) there is nothing to share: ``HeldLease``
is always held and fences nothing.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from psycopg import sql as pgsql
from psycopg.conninfo import make_conninfo

log = logging.getLogger(__name__)

LEASES_TABLE = "danube_leases"
FENCE_SQLSTATE = "DN001"  # raised by the event log's fenced insert function
LOCK_NAMESPACE = "danube-lease"


class LeaseLostError(Exception):
    """A write (or an action) was refused: this process no longer holds the role's lease."""


@dataclass(frozen=True)
class Fence:
    """What a write transaction checks: the role's lease still has this epoch. A write
    transaction left idle longer than ``idle_seconds`` (its process paused inside it) is
    ended by the server, so that its lock on the lease row cannot hold up the next
    holder's epoch."""

    role: str
    epoch: int
    idle_seconds: float = 5.0


class Lease(Protocol):
    """Contract: ``acquire`` blocks while another process holds the role (standing by)
    and returns True once this one does, or False when ``stopping`` is set first.
    ``keep`` renews in the background and calls ``on_lost`` once, from another thread,
    when the lease is gone; from then on ``held`` is False and ``fence`` raises
    ``LeaseLostError``. ``fence`` is None where writes need no fencing (SQLite)."""

    role: str

    def acquire(self, stopping: threading.Event) -> bool: ...
    def keep(self, on_lost: Callable[[str], None]) -> None: ...
    def held(self) -> bool: ...
    def fence(self) -> Fence | None: ...
    def release(self) -> None: ...


class HeldLease:
    """SQLite: one process owns the data directory's database, so the lease is its."""

    def __init__(self, role: str) -> None:
        self.role = role

    def acquire(self, stopping: threading.Event) -> bool:
        return True

    def keep(self, on_lost: Callable[[str], None]) -> None:
        pass

    def held(self) -> bool:
        return True

    def fence(self) -> Fence | None:
        return None

    def release(self) -> None:
        pass


class PostgresLease:
    """One role's lease on PostgreSQL (see the module's docstring)."""

    def __init__(
        self,
        database_url: str,
        schema: str,
        role: str,
        holder: str,
        ttl: float = 10.0,
        retry_interval: float = 1.0,
        application_name: str = "danube-lease",
    ) -> None:
        self.role, self.holder, self.schema = role, holder, schema
        self.ttl, self.retry_interval = ttl, retry_interval
        self.renew_interval = ttl / 5
        self.margin = ttl / 5
        seconds = max(int(ttl), 1)
        self._conninfo = make_conninfo(
            database_url,
            application_name=application_name,
            # The server ends a session silent for the TTL, and with it the lock.
            options=f"-c idle_session_timeout={seconds}s "
            f"-c idle_in_transaction_session_timeout={seconds}s "
            f"-c statement_timeout={seconds}s -c search_path={schema}",
            connect_timeout=max(seconds // 2, 2),
            keepalives=1,
            keepalives_idle=max(seconds // 4, 1),
            keepalives_interval=1,
            keepalives_count=3,
            tcp_user_timeout=seconds * 500,  # ms: unacknowledged writes fail after ttl/2
        )
        self._conn: psycopg.Connection[Any] | None = None
        self._epoch = 0
        self._valid_until = 0.0  # time.monotonic() after which this process stops acting
        self._lost = threading.Event()
        self._lock = threading.Lock()
        self._table = pgsql.Identifier(schema, LEASES_TABLE)

    # ---- acquiring -------------------------------------------------------------------

    def acquire(self, stopping: threading.Event) -> bool:
        announced = False
        while not stopping.is_set():
            try:
                if self._try_acquire():
                    log.info("holding the %s lease", self.role, extra={"epoch": self._epoch})
                    return True
            except psycopg.Error as error:
                log.warning("cannot take the %s lease yet: %s", self.role, error)
                self._close()
            if not announced:
                log.info("standing by: another process holds the %s lease", self.role)
                announced = True
            stopping.wait(self.retry_interval)
        return False

    def _try_acquire(self) -> bool:
        conn = self._connection()
        sent = time.monotonic()
        row = conn.execute(
            "SELECT pg_try_advisory_lock(hashtext(%s), hashtext(%s))",
            (LOCK_NAMESPACE, f"{self.schema}.{self.role}"),
        ).fetchone()
        if not row or not row[0]:
            return False
        self._ensure_table(conn)
        # Waits for the former holder's fenced writes in flight (they hold the row FOR
        # SHARE): they commit before this epoch exists, every later one is refused.
        bumped = conn.execute(
            pgsql.SQL(
                "INSERT INTO {table} (role, epoch, holder, acquired_at) "
                "VALUES (%s, 1, %s, now()) ON CONFLICT (role) DO UPDATE SET "
                "epoch = {table}.epoch + 1, holder = EXCLUDED.holder, acquired_at = now() "
                "RETURNING epoch"
            ).format(table=self._table),
            (self.role, self.holder),
        ).fetchone()
        assert bumped is not None
        with self._lock:
            self._epoch = int(bumped[0])
            self._valid_until = sent + self.ttl - self.margin
        return True

    def _ensure_table(self, conn: psycopg.Connection[Any]) -> None:
        statement = pgsql.SQL(
            "CREATE TABLE IF NOT EXISTS {table} (role TEXT PRIMARY KEY, epoch BIGINT NOT NULL, "
            "holder TEXT NOT NULL, acquired_at TIMESTAMPTZ NOT NULL)"
        ).format(table=self._table)
        # another role's holder may create it at the same moment
        with contextlib.suppress(psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable):
            conn.execute(statement)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._conninfo, autocommit=True)
        return self._conn

    # ---- keeping ---------------------------------------------------------------------

    def keep(self, on_lost: Callable[[str], None]) -> None:
        """Renew in one thread; another calls ``on_lost`` when the lease lapsed even if
        renewing hangs (a partitioned network)."""
        reported = threading.Event()

        def lost(why: str) -> None:
            with self._lock:
                self._valid_until = 0.0
                self._lost.set()
            if not reported.is_set():
                reported.set()
                on_lost(why)

        threading.Thread(
            target=self._renew, args=(lost,), name=f"lease-{self.role}", daemon=True
        ).start()
        threading.Thread(
            target=self._watch, args=(lost,), name=f"lease-{self.role}-watch", daemon=True
        ).start()

    def _renew(self, lost: Callable[[str], None]) -> None:
        conn = self._connection()
        while not self._lost.is_set():
            try:
                # Waiting on the socket: a terminated session ends this wait at once.
                for _ in conn.notifies(timeout=self.renew_interval):
                    pass
                sent = time.monotonic()
                conn.execute("SELECT 1")
            except psycopg.Error as error:
                if not self._lost.is_set():  # not released meanwhile
                    lost(f"its database session ended ({_one_line(error)})")
                break
            with self._lock:
                if not self._lost.is_set():
                    self._valid_until = sent + self.ttl - self.margin
        self._close()

    def _watch(self, lost: Callable[[str], None]) -> None:
        while not self._lost.is_set():
            with self._lock:
                left = self._valid_until - time.monotonic()
            if left <= 0:
                lost(f"it was not renewed within {self.ttl - self.margin:.0f}s")
                return
            self._lost.wait(min(left, self.renew_interval))

    # ---- using -----------------------------------------------------------------------

    @property
    def epoch(self) -> int:
        return self._epoch

    def held(self) -> bool:
        with self._lock:
            return time.monotonic() < self._valid_until

    def fence(self) -> Fence:
        if not self.held():
            raise LeaseLostError(f"this process no longer holds the {self.role} lease")
        return Fence(self.role, self._epoch, self.ttl / 2)

    def release(self) -> None:
        with self._lock:
            self._valid_until = 0.0
            self._lost.set()
        self._close()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()  # the session ends: the server releases the lock


def check_fence(cursor: Any, schema: str, fence: Fence) -> None:
    """Inside a write transaction: lock the role's lease row and check its epoch.
    Raises ``LeaseLostError`` (the transaction is rolled back by its owner)."""
    cursor.execute(
        pgsql.SQL(
            "SELECT set_config('idle_in_transaction_session_timeout', %s, true) "
            "FROM {table} WHERE role = %s AND epoch = %s FOR SHARE"
        ).format(table=pgsql.Identifier(schema, LEASES_TABLE)),
        (f"{max(int(fence.idle_seconds * 1000), 1)}ms", fence.role, fence.epoch),
    )
    if cursor.fetchone() is None:
        raise LeaseLostError(f"the {fence.role} lease has a newer holder than epoch {fence.epoch}")


def _one_line(error: BaseException) -> str:
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())
