"""Live fan-out: in-process wakeups, relayed notifications, and PostgreSQL NOTIFY."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from adapters.sql.listen import PostgresListener
from adapters.sql.logstore import LOGS_CHANNEL, Chunk, SqlLogStore
from adapters.sql.store import StoreConfig
from tests.integration.logstore.conftest import OpenLogs, conninfo_for
from tests.support import wait_until

SLOW_POLL = 60.0  # so only a wakeup, never the poll, can deliver in time


class Follower:
    """Runs ``follow`` in a thread and keeps what it yields."""

    def __init__(self, chunks: Iterator[Chunk]) -> None:
        self.chunks: list[Chunk] = []
        self.thread = threading.Thread(target=lambda: self.chunks.extend(chunks), daemon=True)
        self.thread.start()

    def data(self) -> bytes:
        return b"".join(c.data for c in list(self.chunks))


def new_job() -> str:
    return str(uuid.uuid4())


def test_a_follower_sees_each_append_as_it_is_stored(open_logs: OpenLogs) -> None:
    logs = open_logs(poll_interval=SLOW_POLL)
    job, stop = new_job(), threading.Event()
    follower = Follower(logs.follow(job, 0, stop))
    expected = b""
    for i in range(20):
        line = f"line {i} \x1b[32mok\x1b[0m\n".encode()
        logs.append(job, 1 + i % 2, "stdout", line)
        expected += line
        wait_until(lambda e=expected: follower.data() == e, timeout=5, what=f"line {i}")  # type: ignore[misc]
    stop.set()
    logs.progress(job).announce()  # end the wait now rather than at the next poll
    follower.thread.join(timeout=5)
    assert not follower.thread.is_alive()
    offsets = [c.offset for c in follower.chunks]
    assert offsets == sorted(offsets) and offsets[0] == 0


def test_following_a_step_resumes_at_a_step_offset(logs: SqlLogStore) -> None:
    job, stop = new_job(), threading.Event()
    logs.append(job, 1, "stdout", b"first step\n")
    logs.append(job, 2, "stdout", b"0123456789")
    logs.append(job, 2, "stderr", b"abc")
    stop.set()  # everything is stored: drain and return
    chunks = list(logs.follow(job, 4, stop, step=2))
    assert b"".join(c.data for c in chunks) == b"456789abc"
    assert [c.step_offset for c in chunks] == [4, 10]
    assert [c.offset for c in chunks] == [15, 21]


def test_a_stopped_follower_still_drains_what_was_stored(logs: SqlLogStore) -> None:
    job, stop = new_job(), threading.Event()
    logs.append(job, 1, "stdout", b"x" * 3_000_000)
    stop.set()
    chunks = list(logs.follow(job, 100, stop, limit=1024 * 1024))
    assert sum(len(c.data) for c in chunks) == 3_000_000 - 100


def test_progress_announces_the_new_size_after_each_append(logs: SqlLogStore) -> None:
    job = new_job()
    progress = logs.progress(job)
    logs.append(job, 1, "stdout", b"12345")
    assert progress.position == 5
    logs.append(job, 1, "stderr", b"678")
    assert progress.wait_for_position(8, timeout=1)


def test_relayed_notifications_wake_followers(logs: SqlLogStore) -> None:
    job, other = new_job(), new_job()
    progress, unrelated = logs.progress(job), logs.progress(other)
    logs.relay(f"{job}:42")
    assert progress.position == 42
    assert unrelated.position == 0
    logs.relay("garbage")
    logs.relay(f"{job}:not-a-number")
    assert progress.position == 42
    generation = unrelated.generation()
    logs.relay(None)  # the listener reconnected: anything may have changed
    assert unrelated.wait(generation, timeout=1) != generation


@pytest.fixture
def postgres_only(store_config: StoreConfig) -> StoreConfig:
    assert store_config.kind == "postgres"
    return store_config


ON_POSTGRES = pytest.mark.parametrize("store_config", ["postgres"], indirect=True)


@ON_POSTGRES
def test_an_append_notifies_listeners_on_postgres(
    postgres_only: StoreConfig, logs: SqlLogStore
) -> None:
    job = new_job()
    with psycopg.connect(conninfo_for(postgres_only), autocommit=True) as listen:
        listen.execute(f"LISTEN {LOGS_CHANNEL}")
        logs.append(job, 1, "stdout", b"hello")
        logs.append(job, 1, "stdout", b" world")
        seen: list[str] = []
        deadline = time.monotonic() + 10
        while f"{job}:11" not in seen and time.monotonic() < deadline:
            seen += [n.payload for n in listen.notifies(timeout=0.5) if n.payload.startswith(job)]
    assert seen == [f"{job}:5", f"{job}:11"]


@ON_POSTGRES
def test_a_follower_in_another_process_is_woken_by_notify(
    postgres_only: StoreConfig, open_logs: OpenLogs
) -> None:
    writer, reader = open_logs(), open_logs(poll_interval=SLOW_POLL)
    listener = PostgresListener(conninfo_for(postgres_only), {LOGS_CHANNEL: reader.relay})
    listener.start()
    try:
        assert listener.connected.wait(10)
        job, stop = new_job(), threading.Event()
        follower = Follower(reader.follow(job, 0, stop))
        for i in range(3):
            writer.append(job, 1, "stdout", f"{i}\n".encode())
            wait_until(lambda n=i: follower.data().endswith(f"{n}\n".encode()), timeout=5)  # type: ignore[misc]
        stop.set()
        reader.relay(None)
        follower.thread.join(timeout=5)
        assert follower.data() == b"0\n1\n2\n"
    finally:
        listener.stop()
