"""Reads by job offset, by step offset and by stream offset."""

from __future__ import annotations

import uuid

import pytest

from adapters.sql.logstore import Chunk, SqlLogStore


@pytest.fixture
def job(logs: SqlLogStore) -> str:
    """Two steps, interleaved streams. Job log:
    0  step 1 stdout "one-out-a\n"   (10 bytes)
    10 step 1 stderr "one-err\n"     (8)
    18 step 2 stdout "two-out\n"     (8)
    26 step 1 stdout "one-out-b\n"   (10)
    36 step 2 stderr "two-err\n"     (8)   -> size 44
    """
    job = str(uuid.uuid4())
    for step, stream, data in [
        (1, "stdout", b"one-out-a\n"),
        (1, "stderr", b"one-err\n"),
        (2, "stdout", b"two-out\n"),
        (1, "stdout", b"one-out-b\n"),
        (2, "stderr", b"two-err\n"),
    ]:
        logs.append(job, step, stream, data)
    return job


def joined(chunks: list[Chunk]) -> bytes:
    return b"".join(c.data for c in chunks)


def test_reading_from_any_offset_gives_the_bytes_from_there(logs: SqlLogStore, job: str) -> None:
    log = joined(logs.read(job))
    assert len(log) == logs.size(job) == 44
    for offset in range(46):
        chunks = logs.read(job, offset)
        assert joined(chunks) == log[offset:]
        assert [c.offset for c in chunks] == sorted(c.offset for c in chunks)
        if chunks:
            assert chunks[0].offset == offset


def test_a_read_returns_at_most_limit_bytes(logs: SqlLogStore, job: str) -> None:
    log = joined(logs.read(job))
    for offset in range(0, 44, 3):
        for limit in (1, 7, 10, 11, 100):
            assert joined(logs.read(job, offset, limit)) == log[offset : offset + limit]


def test_chunks_carry_their_step_stream_and_both_offsets(logs: SqlLogStore, job: str) -> None:
    chunks = logs.read(job, 3)
    assert chunks[0] == Chunk(3, 1, "stdout", b"-out-a\n", 3)
    assert [(c.offset, c.step, c.stream, c.step_offset) for c in chunks[1:]] == [
        (10, 1, "stderr", 10),
        (18, 2, "stdout", 0),
        (26, 1, "stdout", 18),
        (36, 2, "stderr", 8),
    ]


def test_filtering_by_step_keeps_job_offsets(logs: SqlLogStore, job: str) -> None:
    assert [(c.offset, c.data) for c in logs.read(job, step=2)] == [
        (18, b"two-out\n"),
        (36, b"two-err\n"),
    ]
    assert [(c.offset, c.data) for c in logs.read(job, 20, step=2)] == [
        (20, b"o-out\n"),
        (36, b"two-err\n"),
    ]
    assert [c.data for c in logs.read(job, 27, step=2)] == [b"two-err\n"]
    assert logs.read(job, 44, step=2) == []
    assert logs.read(job, step=3) == []


def test_a_step_is_read_in_its_own_offsets(logs: SqlLogStore, job: str) -> None:
    step_1 = b"one-out-a\none-err\none-out-b\n"
    assert logs.step_size(job, 1) == len(step_1)
    for offset in range(len(step_1) + 2):
        assert logs.step_output(job, 1, offset) == step_1[offset:]
        chunks = logs.read_step(job, 1, offset)
        if chunks:
            assert chunks[0].step_offset == offset
    assert [c.step_offset for c in logs.read_step(job, 1)] == [0, 10, 18]
    assert joined(logs.read_step(job, 1, 5, limit=10)) == step_1[5:15]


def test_one_stream_of_a_step_is_read_in_that_streams_offsets(logs: SqlLogStore, job: str) -> None:
    assert logs.step_output(job, 1, stream="stdout") == b"one-out-a\none-out-b\n"
    assert logs.step_output(job, 1, 11, stream="stdout") == b"ne-out-b\n"
    assert logs.step_output(job, 2, stream="stderr") == b"two-err\n"
    assert logs.step_output(job, 3, stream="stdout") == b""


def test_an_unknown_job_is_empty(logs: SqlLogStore) -> None:
    job = str(uuid.uuid4())
    assert logs.size(job) == 0
    assert logs.read(job) == []
    assert logs.step_output(job, 1) == b""
