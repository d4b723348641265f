"""Appends keep every job's log contiguous, byte-exact, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from adapters.sql.dialect import Dialect, SQLiteDialect
from adapters.sql.logstore import MAX_CHUNK, SqlLogStore
from adapters.sql.store import SqlStore, StoreConfig
from tests.integration.logstore.conftest import OpenLogs


def new_job() -> str:
    return str(uuid.uuid4())


def whole_log(logs: SqlLogStore, job: str) -> bytes:
    parts, offset = [], 0
    while chunks := logs.read(job, offset):
        parts.extend(c.data for c in chunks)
        offset = chunks[-1].end
    return b"".join(parts)


def appended_concurrently(
    stores: list[SqlLogStore], job: str, writers: int, appends: int
) -> list[tuple[int, int, bytes, int]]:
    """(start, end, data, step) of every append made by ``writers`` threads at once."""
    barrier = threading.Barrier(writers)

    def writer(number: int) -> list[tuple[int, int, bytes, int]]:
        rng = random.Random(number)
        store = stores[number % len(stores)]
        barrier.wait()
        done = []
        for i in range(appends):
            data = bytes([65 + number]) * rng.randint(1, 3000) + f"<{number}.{i}>".encode()
            step = number % 3 + 1
            start, end = store.append(job, step, "stdout", data)
            done.append((start, end, data, step))
        return done

    with ThreadPoolExecutor(writers) as pool:
        results = list(pool.map(writer, range(writers)))
    return sorted(entry for result in results for entry in result)


def assert_contiguous(logs: SqlLogStore, job: str, done: list[tuple[int, int, bytes, int]]) -> None:
    position = 0
    for start, end, data, _ in done:
        assert start == position, "a gap or an overlap in the job's offsets"
        assert end - start == len(data)
        position = end
    log = whole_log(logs, job)
    assert log == b"".join(data for _, _, data, _ in done)
    assert logs.size(job) == position
    for step in {step for *_, step in done}:
        expected = b"".join(data for *_, data, s in done if s == step)
        assert logs.step_output(job, step) == expected
        assert logs.step_size(job, step) == len(expected)


def test_eight_threads_appending_to_one_job_get_contiguous_offsets(logs: SqlLogStore) -> None:
    job = new_job()
    done = appended_concurrently([logs], job, writers=8, appends=40)
    assert_contiguous(logs, job, done)


def test_two_stores_appending_to_one_job_as_two_processes_would_never_overlap(
    open_logs: OpenLogs,
) -> None:
    first, second = open_logs(), open_logs()
    job = new_job()
    first.append(job, 1, "stdout", b"warm the first store's cache\n")
    second.append(job, 1, "stdout", b"then the second writes behind its back\n")
    first.append(job, 1, "stdout", b"the first collides, re-reads and retries\n")
    assert first.collisions == 1
    done = appended_concurrently([first, second], job, writers=4, appends=25)
    assert done[0][0] == first.size(job) - sum(len(d) for _, _, d, _ in done)
    assert whole_log(second, job).endswith(b"".join(d for _, _, d, _ in done))
    step_1 = second.step_output(job, 1)
    assert step_1.startswith(b"warm the first store's cache\nthen the second writes behind")


def test_odd_bytes_and_a_one_mebibyte_line_round_trip_exactly(logs: SqlLogStore) -> None:
    job = new_job()
    odd = bytes(range(256)) + b"\x1b[31mred\x1b[0m \xff\xfe\xc3\x28 \xe2\x82 \r\n\x00tail"
    printable = bytes(32 + i % 95 for i in range(256))
    line = random.Random(1).randbytes(1024 * 1024).translate(printable)  # no newline
    assert logs.append(job, 1, "stderr", odd) == (0, len(odd))
    assert logs.append(job, 1, "stdout", line) == (len(odd), len(odd) + len(line))
    chunks = logs.read(job, 0, limit=4 * 1024 * 1024)
    assert all(len(c.data) <= MAX_CHUNK for c in chunks)
    assert b"".join(c.data for c in chunks) == odd + line
    assert logs.step_output(job, 1, stream="stdout") == line
    assert logs.step_output(job, 1, stream="stderr") == odd


def test_an_empty_append_stores_nothing(logs: SqlLogStore) -> None:
    job = new_job()
    logs.append(job, 1, "stdout", b"abc")
    assert logs.append(job, 1, "stdout", b"") == (3, 3)
    assert len(logs.read(job)) == 1


def test_deleting_a_job_frees_its_bytes_and_spares_the_others(logs: SqlLogStore) -> None:
    kept, dropped = new_job(), new_job()
    before = logs.bytes_total()
    logs.append(kept, 1, "stdout", b"k" * 10)
    logs.append(dropped, 1, "stdout", b"d" * 700_000)
    assert logs.bytes_total() == before + 700_010
    assert logs.delete(dropped) == 700_000
    assert logs.size(dropped) == 0
    assert logs.read(dropped) == []
    assert logs.bytes_total() == before + 10
    assert logs.append(dropped, 1, "stdout", b"again") == (0, 5)


def test_the_log_lives_beside_the_event_log(store_config: StoreConfig) -> None:
    store = SqlStore(store_config)
    try:
        if store_config.kind == "sqlite":
            assert store_config.data_dir is not None
            dialect: Dialect = SQLiteDialect(store_config.data_dir / "events.sqlite3")
            tables = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            dialect = store.dialect
            tables = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        logs = SqlLogStore(dialect)
        logs.ensure()
        job = new_job()
        logs.append(job, 1, "stdout", b"hello\n")
        assert logs.step_output(job, 1) == b"hello\n"
        with dialect.read() as cur:
            cur.execute(tables)
            names = {row[0] for row in cur.fetchall()}
        assert {store.log.recorder.events_table_name, "danube_log_chunks"} <= names  # type: ignore[attr-defined]
    finally:
        if store_config.kind == "sqlite":
            dialect.close()
        store.close()


def test_forgotten_heads_are_read_again_from_the_database(open_logs: OpenLogs) -> None:
    logs = open_logs(cached_jobs=2)
    jobs = [new_job() for _ in range(5)]
    for round_ in range(3):
        for job in jobs:
            assert logs.append(job, round_ + 1, "stdout", b"12345") == (5 * round_, 5 * round_ + 5)
    assert all(logs.size(job) == 15 for job in jobs)
    assert logs.step_output(jobs[0], 3) == b"12345"
    assert logs.read_step(jobs[0], 3)[0].step_offset == 0


def test_a_stream_resumes_where_its_stored_output_says_its_source_ended(
    logs: SqlLogStore,
) -> None:
    job = new_job()
    assert logs.source_position(job, 1, "stdout") == 0
    logs.append(job, 1, "stdout", b"token: ***\n", source_end=23)  # a secret masked
    logs.append(job, 1, "stderr", b"err\n", source_end=4)
    assert logs.source_position(job, 1, "stdout") == 23
    logs.append(job, 1, "stdout", b"y" * (MAX_CHUNK + 10), source_end=23 + MAX_CHUNK + 10)
    assert logs.source_position(job, 1, "stdout") == 23 + MAX_CHUNK + 10
    assert logs.source_position(job, 1, "stderr") == 4
    assert logs.source_position(job, 2, "stdout") == 0
    logs.append(job, 2, "stdout", b"written without a position")
    assert logs.source_position(job, 2, "stdout") == len(b"written without a position")


def test_a_log_table_from_before_source_positions_gains_the_column(
    open_logs: OpenLogs,
) -> None:
    logs = open_logs()
    job = new_job()
    logs.append(job, 1, "stdout", b"old row\n")
    with logs.dialect.write() as cur:
        cur.execute(f"ALTER TABLE {logs.table} DROP COLUMN source_end")
    again = open_logs()  # ensure() runs again, as on the next start
    assert again.source_position(job, 1, "stdout") == len(b"old row\n")
    again.append(job, 1, "stdout", b"***\n", source_end=30)
    assert again.source_position(job, 1, "stdout") == 30
