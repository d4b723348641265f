"""The lease itself against the real PostgreSQL: one holder per role and schema, a
standby that takes over when the holder's session ends, and writes fenced by the epoch
in their own transactions (a former holder's write commits before the next holder's
epoch exists, or not at all)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from adapters.sql.lease import HeldLease, LeaseLostError, PostgresLease
from adapters.sql.store import SqlStore, StoreConfig
from domain.cause import Cause
from domain.system.application import SystemService
from tests.support import PG_URL, wait_until

ADMIN = Cause(actor="user:admin")


@pytest.fixture
def second_store(pg_store_config: StoreConfig) -> Iterator[SqlStore]:
    """Another process's view of the same schema."""
    opened = SqlStore(pg_store_config)
    yield opened
    opened.close()


def taken(lease: PostgresLease) -> tuple[threading.Thread, threading.Event, threading.Event]:
    """``lease.acquire`` in a thread: (thread, acquired, stop)."""
    acquired, stop = threading.Event(), threading.Event()

    def take() -> None:
        if lease.acquire(stop):
            acquired.set()

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    return thread, acquired, stop


def terminate(application: str) -> int:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (application,),
        ).fetchall()
    return len(rows)


def lease_of(store: SqlStore, role: str, holder: str, ttl: float = 10.0) -> PostgresLease:
    lease = store.lease(role, holder, ttl)
    assert isinstance(lease, PostgresLease)
    lease.retry_interval = 0.1
    return lease


def test_a_second_holder_stands_by_until_the_first_lets_go(
    pg_store: SqlStore, second_store: SqlStore
) -> None:
    first, second = lease_of(pg_store, "dispatcher", "a"), lease_of(second_store, "dispatcher", "b")
    other_role = lease_of(second_store, "projector", "b")
    assert first.acquire(threading.Event())
    assert other_role.acquire(threading.Event())  # roles do not exclude each other
    thread, acquired, stop = taken(second)
    try:
        assert not acquired.wait(1.0)
        assert first.held() and not second.held()
        first.release()
        assert acquired.wait(10.0), "the standby did not take the released lease"
        assert second.held() and not first.held()
        assert second.epoch == first.epoch + 1
    finally:
        stop.set()
        thread.join(5)
        second.release()
        other_role.release()


def test_a_terminated_lease_session_is_lost_at_once_and_taken_over(
    pg_store: SqlStore, second_store: SqlStore
) -> None:
    first, second = (
        lease_of(pg_store, "pod-adapter", "a"),
        lease_of(second_store, "pod-adapter", "b"),
    )
    assert first.acquire(threading.Event())
    lost: list[tuple[float, str]] = []
    first.keep(lambda why: lost.append((time.monotonic(), why)))
    thread, acquired, stop = taken(second)
    try:
        killed = time.monotonic()
        # Both sessions carry the role's name; the standby's own reconnects.
        assert terminate(f"danube-lease-pod-adapter:{pg_store.config.schema}") >= 1
        wait_until(lambda: lost, timeout=5, what="the holder to notice")
        assert lost[0][0] - killed < 2.0
        assert "session ended" in lost[0][1]
        assert not first.held()
        with pytest.raises(LeaseLostError):
            first.fence()
        assert acquired.wait(10.0)
    finally:
        stop.set()
        thread.join(5)
        second.release()


def test_a_write_of_a_former_holder_commits_before_the_next_epoch_or_not_at_all(
    pg_store: SqlStore, second_store: SqlStore
) -> None:
    first, second = lease_of(pg_store, "scheduler", "a"), lease_of(second_store, "scheduler", "b")
    assert first.acquire(threading.Event())
    pg_store.fence_writes(first)
    old = first.fence()
    assert old is not None
    # The holder still believes it holds epoch N (it was paused): its token says so.
    pg_store.log.recorder.fence = lambda: old  # type: ignore[attr-defined]
    for dialect in (pg_store.dialect,):
        dialect.fence = lambda: old  # type: ignore[attr-defined]
    system = SystemService(pg_store.log)
    system.start_draining(ADMIN)  # fenced, and still the holder: stored
    first.release()  # its session ends: the server lets the lock go
    with pg_store.dialect.write() as cursor:  # a view write in flight under epoch N
        thread, acquired, stop = taken(second)
        assert not acquired.wait(1.0), "the next epoch began while a fenced write was open"
        cursor.execute("SELECT 1")
    try:
        assert acquired.wait(10.0)
        assert second.epoch == old.epoch + 1
        before = pg_store.log.recorder.max_notification_id()
        with pytest.raises(LeaseLostError, match="newer holder"):
            system.stop_draining(ADMIN)
        with pytest.raises(LeaseLostError, match="newer holder"), pg_store.dialect.write():
            pass
        assert second_store.log.recorder.max_notification_id() == before
        assert SystemService(second_store.log).is_draining()  # the refused write is not there
    finally:
        stop.set()
        thread.join(5)
        second.release()


def test_a_silent_holder_loses_the_lease_on_the_servers_clock(
    pg_store: SqlStore, second_store: SqlStore
) -> None:
    """A holder that stops renewing (paused, partitioned) is dropped by the server after
    the TTL, and has stopped counting the lease as its own before that."""
    first, second = (
        lease_of(pg_store, "projector", "a", ttl=3),
        lease_of(second_store, "projector", "b", ttl=3),
    )
    assert first.acquire(threading.Event())  # and never renewed: as if paused
    started = time.monotonic()
    thread, acquired, stop = taken(second)
    try:
        wait_until(lambda: not first.held(), timeout=5, what="the holder to stop counting on it")
        stopped_acting = time.monotonic()
        assert acquired.wait(10.0)
        took_over = time.monotonic()
        assert stopped_acting < took_over
        assert took_over - started < 3 + 2.0
    finally:
        stop.set()
        thread.join(5)
        second.release()
        first.release()


def test_on_sqlite_the_one_process_holds_every_lease(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = SqlStore(StoreConfig(kind="sqlite", data_dir=tmp_path))
    try:
        lease = store.lease("dispatcher", "me")
        assert isinstance(lease, HeldLease)
        assert lease.acquire(threading.Event()) and lease.held() and lease.fence() is None
        store.fence_writes(lease)
        SystemService(store.log).start_draining(ADMIN)
    finally:
        store.close()


def test_a_holder_paused_inside_a_write_transaction_does_not_hold_up_the_next_epoch(
    pg_store: SqlStore, second_store: SqlStore
) -> None:
    ttl = 3.0
    first = lease_of(pg_store, "dispatcher", "a", ttl=ttl)
    second = lease_of(second_store, "dispatcher", "b", ttl=ttl)
    assert first.acquire(threading.Event())  # never renewed from here: as if paused
    pg_store.fence_writes(first)
    resume, outcome = threading.Event(), []

    def paused_inside_a_write() -> None:
        try:
            with pg_store.dialect.write() as cursor:
                cursor.execute("SELECT 1")
                resume.wait(20)  # the process is stopped here, its transaction open
            outcome.append("committed")
        except Exception as error:  # what the woken process would see
            outcome.append(type(error).__name__)

    writer = threading.Thread(target=paused_inside_a_write, daemon=True)
    writer.start()
    started = time.monotonic()
    thread, acquired, stop = taken(second)
    try:
        assert acquired.wait(ttl + 5), "the open transaction held up the next holder"
        assert time.monotonic() - started < ttl + 3
        resume.set()
        writer.join(10)
        assert outcome and outcome[0] != "committed", outcome
    finally:
        stop.set()
        resume.set()
        thread.join(5)
        second.release()
        first.release()
