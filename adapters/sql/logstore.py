"""Step output: byte chunks keyed by job and byte offset, in the event store's database.

Logs are not events: the pod adapter appends output here as it arrives and events carry
only offsets and sizes. Three coordinate systems, all counted in bytes from 0:

- *job offset*: position in the job's whole log (every step and stream, in append order);
- *step offset*: position in one step's output (its streams interleaved as stored) — the
  offsets of the gRPC ``StepOutput`` messages;
- *stream offset*: position in one stream (e.g. ``stdout``) of one step.

Every row stores all three, so reads in any of them are index range scans. A row may
also store ``source_end``: how many bytes of the stream's *source* (what the writer read
before masking changed lengths) its stored output up to the row's end stands for, so a
writer that restarts resumes reading its source there (``source_position``). A chunk holds
at most ``MAX_CHUNK`` bytes. Offsets are contiguous per job: appends of one job are
serialised by an in-process lock, and the primary key ``(job_id, start_offset)`` turns a
second process's concurrent append into a collision (re-read the heads, retry) instead of
a gap or an overlap. Live fan-out: ``progress(job_id)`` is announced after every append in
this process; on PostgreSQL the append's transaction also sends
``NOTIFY danube_logs, '<job_id>:<size>'``, which a listener hands to ``relay``.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from adapters.sql.dialect import Dialect
from adapters.sql.metrics import store_metrics
from adapters.sql.wakeup import Wakeup

LOGS_CHANNEL = "danube_logs"
TABLE = "danube_log_chunks"
MAX_CHUNK = 256 * 1024
MIB = 1024 * 1024
MAX_OFFSET = 2**62  # offsets and limits beyond are empty reads: offset + limit stays in BIGINT
CACHED_JOBS = 1024
_RETRIES = 50
_COLLISIONS = (sqlite3.IntegrityError, psycopg.errors.UniqueViolation)


class LogAppendConflictError(RuntimeError):
    """Other writers kept appending to the same job; the append was not stored."""


@dataclass(frozen=True)
class Chunk:
    offset: int  # job offset of data[0]
    step: int
    stream: str
    data: bytes = field(repr=False)
    step_offset: int  # step offset of data[0]

    @property
    def end(self) -> int:
        return self.offset + len(self.data)

    @property
    def step_end(self) -> int:
        return self.step_offset + len(self.data)


class _Heads:
    """Where the next byte of one job goes, in each coordinate system."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loaded = False
        self.job = 0
        self.steps: dict[int, int] = {}
        self.streams: dict[tuple[int, str], int] = {}

    def advance(self, step: int, stream: str, size: int) -> None:
        self.job += size
        self.steps[step] = self.steps.get(step, 0) + size
        self.streams[(step, stream)] = self.streams.get((step, stream), 0) + size


class SqlLogStore:
    def __init__(
        self,
        dialect: Dialect,
        poll_interval: float | None = None,
        cached_jobs: int = CACHED_JOBS,
    ) -> None:
        self.dialect = dialect
        self._cached_jobs = cached_jobs  # jobs whose heads (sizes) are kept in memory
        self.table = dialect.qualify(TABLE)
        # SQLite has no NOTIFY: followers re-read this often to see other processes.
        self.poll_interval = poll_interval or (1.0 if dialect.name == "postgres" else 0.1)
        self.collisions = 0  # appends retried because another process appended first
        self._lock = threading.Lock()
        self._heads: OrderedDict[str, _Heads] = OrderedDict()
        self._wakeups: weakref.WeakValueDictionary[str, Wakeup] = weakref.WeakValueDictionary()

    def ensure(self) -> None:
        blob = "BYTEA" if self.dialect.name == "postgres" else "BLOB"
        with self.dialect.write() as cur:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} (job_id TEXT NOT NULL, "
                "start_offset BIGINT NOT NULL, step INTEGER NOT NULL, stream TEXT NOT NULL, "
                "step_offset BIGINT NOT NULL, stream_offset BIGINT NOT NULL, "
                f"size INTEGER NOT NULL, data {blob} NOT NULL, source_end BIGINT, "
                "PRIMARY KEY (job_id, start_offset))"
            )
            cur.execute(f"SELECT * FROM {self.table} WHERE 1 = 0")
            if "source_end" not in {column[0] for column in cur.description or ()}:
                cur.execute(f"ALTER TABLE {self.table} ADD COLUMN source_end BIGINT")
            cur.execute(
                f'CREATE INDEX IF NOT EXISTS "{TABLE}_step_idx" '
                f"ON {self.table} (job_id, step, step_offset)"
            )
            cur.execute(
                f'CREATE INDEX IF NOT EXISTS "{TABLE}_stream_idx" '
                f"ON {self.table} (job_id, step, stream, stream_offset)"
            )

    # ---- writing -------------------------------------------------------------------

    def append(
        self, job_id: str, step: int, stream: str, data: bytes, source_end: int | None = None
    ) -> tuple[int, int]:
        """Store ``data`` at the end of the job's log; returns its (start, end) job
        offsets. Large data is split into chunks of at most ``MAX_CHUNK`` bytes, all
        committed in one transaction; ``source_end`` goes with the last of them."""
        heads = self._heads_of(job_id)
        with heads.lock:
            for _ in range(_RETRIES):
                if not heads.loaded:
                    self._load(job_id, heads)
                start = heads.job
                if not data:
                    return start, start
                try:
                    self._insert(job_id, step, stream, data, heads, source_end)
                except _COLLISIONS:
                    self.collisions += 1
                    heads.loaded = False  # another process appended: re-read, retry
                    continue
                heads.advance(step, stream, len(data))
                break
            else:
                raise LogAppendConflictError(f"job {job_id}: {_RETRIES} append collisions")
        end = start + len(data)
        store_metrics().log_bytes.inc(len(data))
        self._announce(job_id, end)
        return start, end

    def _insert(
        self,
        job_id: str,
        step: int,
        stream: str,
        data: bytes,
        heads: _Heads,
        source_end: int | None,
    ) -> None:
        job, in_step = heads.job, heads.steps.get(step, 0)
        in_stream = heads.streams.get((step, stream), 0)
        rows = []
        for at in range(0, len(data), MAX_CHUNK):
            piece = data[at : at + MAX_CHUNK]
            end = source_end if at + MAX_CHUNK >= len(data) else None
            offsets = (job + at, step, stream, in_step + at, in_stream + at)
            rows.append((job_id, *offsets, len(piece), piece, end))
        p = self.dialect.placeholder
        with self.dialect.write() as cur:
            cur.executemany(
                f"INSERT INTO {self.table} (job_id, start_offset, step, stream, step_offset, "
                f"stream_offset, size, data, source_end) VALUES ({', '.join([p] * 9)})",
                rows,
            )
            self.dialect.notify(cur, LOGS_CHANNEL, f"{job_id}:{job + len(data)}")

    def _load(self, job_id: str, heads: _Heads) -> None:
        with self.dialect.read() as cur:
            cur.execute(
                "SELECT step, stream, MAX(start_offset + size), MAX(step_offset + size), "
                f"MAX(stream_offset + size) FROM {self.table} "
                f"WHERE job_id = {self.dialect.placeholder} GROUP BY step, stream",
                (job_id,),
            )
            rows = cur.fetchall()
        heads.job = max((int(r[2]) for r in rows), default=0)
        heads.steps = {}
        for step, _, _, step_end, _ in rows:
            heads.steps[step] = max(heads.steps.get(step, 0), int(step_end))
        heads.streams = {(r[0], r[1]): int(r[4]) for r in rows}
        heads.loaded = True

    def _heads_of(self, job_id: str) -> _Heads:
        with self._lock:
            heads = self._heads.get(job_id)
            if heads is None:
                heads = self._heads[job_id] = _Heads()
            # Forgetting heads is always safe (they are re-read); the primary key, not
            # this cache, is what keeps offsets contiguous.
            for old in list(self._heads)[: max(0, len(self._heads) - self._cached_jobs)]:
                if old != job_id and not self._heads[old].lock.locked():
                    del self._heads[old]
            self._heads.move_to_end(job_id)
            return heads

    def delete(self, job_id: str) -> int:
        """Remove the job's log; returns the bytes freed. Not for a job still running."""
        p = self.dialect.placeholder
        with self.dialect.write() as cur:
            cur.execute(
                f"SELECT COALESCE(SUM(size), 0) FROM {self.table} WHERE job_id = {p}", (job_id,)
            )
            freed = int(cur.fetchone()[0])
            cur.execute(f"DELETE FROM {self.table} WHERE job_id = {p}", (job_id,))
        with self._lock:
            self._heads.pop(job_id, None)
        return freed

    # ---- reading -------------------------------------------------------------------

    def size(self, job_id: str) -> int:
        return self._last_end("start_offset", {"job_id": job_id})

    def step_size(self, job_id: str, step: int) -> int:
        return self._last_end("step_offset", {"job_id": job_id, "step": step})

    def source_position(self, job_id: str, step: int, stream: str) -> int:
        """Where the stream's source continues after what is stored: the last row's
        ``source_end``, or the stream's stored size if it was written without one."""
        p = self.dialect.placeholder
        with self.dialect.read() as cur:
            cur.execute(
                f"SELECT source_end, stream_offset + size FROM {self.table} "
                f"WHERE job_id = {p} AND step = {p} AND stream = {p} "
                "ORDER BY stream_offset DESC LIMIT 1",
                (job_id, step, stream),
            )
            row = cur.fetchone()
        if row is None:
            return 0
        return int(row[1] if row[0] is None else row[0])

    def bytes_total(self) -> int:
        with self.dialect.read() as cur:
            cur.execute(f"SELECT COALESCE(SUM(size), 0) FROM {self.table}")
            return int(cur.fetchone()[0])

    def read(
        self, job_id: str, offset: int = 0, limit: int = MIB, step: int | None = None
    ) -> list[Chunk]:
        """Chunks holding the job's bytes from job offset ``offset``, at most ``limit``
        bytes in all (the first chunk trimmed to start at ``offset``). With ``step``,
        only that step's chunks at or after ``offset``."""
        if step is None:
            return self._range("start_offset", {"job_id": job_id}, offset, limit)
        p = self.dialect.placeholder
        with self.dialect.read() as cur:
            cur.execute(
                f"SELECT start_offset, step_offset FROM {self.table} WHERE job_id = {p} "
                f"AND step = {p} AND start_offset + size > {p} ORDER BY step_offset LIMIT 1",
                (job_id, step, offset),
            )
            first = cur.fetchone()
        if first is None:
            return []
        return self.read_step(job_id, step, int(first[1]) + max(0, offset - first[0]), limit)

    def read_step(
        self, job_id: str, step: int, offset: int = 0, limit: int = MIB, stream: str | None = None
    ) -> list[Chunk]:
        """Like ``read`` in step offsets, or in stream offsets when ``stream`` is given."""
        if stream is None:
            return self._range("step_offset", {"job_id": job_id, "step": step}, offset, limit)
        where = {"job_id": job_id, "step": step, "stream": stream}
        return self._range("stream_offset", where, offset, limit)

    def step_output(
        self, job_id: str, step: int, offset: int = 0, stream: str | None = None
    ) -> bytes:
        """A step's output from ``offset`` (step offsets; stream offsets with ``stream``)."""
        parts: list[bytes] = []
        while chunks := self.read_step(job_id, step, offset, 4 * MIB, stream):
            parts.extend(c.data for c in chunks)
            offset += sum(len(c.data) for c in chunks)
        return b"".join(parts)

    def _range(self, coord: str, where: dict[str, Any], offset: int, limit: int) -> list[Chunk]:
        p = self.dialect.placeholder
        offset, limit = max(0, offset), min(limit, MAX_OFFSET)
        if offset >= MAX_OFFSET or limit <= 0:
            return []
        # A chunk holding ``offset`` starts after offset - MAX_CHUNK: a bounded range scan.
        query = (
            f"SELECT {coord}, start_offset, step, stream, step_offset, data FROM {self.table} "
            f"WHERE {' AND '.join(f'{c} = {p}' for c in where)} AND {coord} > {p} "
            f"AND {coord} < {p} AND {coord} + size > {p} ORDER BY {coord}"
        )
        with self.dialect.read() as cur:
            cur.execute(query, (*where.values(), offset - MAX_CHUNK, offset + limit, offset))
            rows: Sequence[Any] = cur.fetchall()
        chunks = []
        for position, start, step, stream, step_offset, data in rows:
            lo, hi = max(0, offset - position), min(len(data), offset + limit - position)
            chunks.append(Chunk(start + lo, step, stream, bytes(data[lo:hi]), step_offset + lo))
        return chunks

    def _last_end(self, coord: str, where: dict[str, Any]) -> int:
        p = self.dialect.placeholder
        with self.dialect.read() as cur:
            cur.execute(
                f"SELECT {coord} + size FROM {self.table} "
                f"WHERE {' AND '.join(f'{c} = {p}' for c in where)} "
                f"ORDER BY {coord} DESC LIMIT 1",
                tuple(where.values()),
            )
            row = cur.fetchone()
        return int(row[0]) if row else 0

    # ---- live fan-out --------------------------------------------------------------

    def progress(self, job_id: str) -> Wakeup:
        """Announces the job's log size after every append in this process (and what
        ``relay`` hands over from others). Kept only while someone holds it: its
        position is the highest size announced since then, a lower bound."""
        with self._lock:
            wakeup = self._wakeups.get(job_id)
            if wakeup is None:
                wakeup = self._wakeups[job_id] = Wakeup()
            return wakeup

    def relay(self, payload: str | None) -> None:
        """Hand over a ``danube_logs`` NOTIFY payload; None wakes every follower."""
        if payload is None:
            with self._lock:
                wakeups = list(self._wakeups.values())
            for wakeup in wakeups:
                wakeup.announce()
            return
        job_id, _, size = payload.rpartition(":")
        if size.isdigit():
            self._announce(job_id, int(size))

    def _announce(self, job_id: str, size: int) -> None:
        with self._lock:
            wakeup = self._wakeups.get(job_id)
        if wakeup is not None:
            wakeup.announce(size)

    def follow(
        self,
        job_id: str,
        offset: int,
        stop: threading.Event,
        *,
        step: int | None = None,
        limit: int = MIB,
    ) -> Iterator[Chunk]:
        """Yield chunks from ``offset`` (job offsets; step offsets with ``step``) as they
        are stored. Once ``stop`` is set, yields what is stored by then and returns:
        set it after the last append (e.g. when the step or job finished) and nothing is
        missed. Waits on ``progress(job_id)`` between reads, re-reading at least every
        ``poll_interval``; announce it to end a wait early after setting ``stop``."""
        wakeup = self.progress(job_id)
        while True:
            generation = wakeup.generation()
            stopping = stop.is_set()
            if step is None:
                chunks = self.read(job_id, offset, limit)
            else:
                chunks = self.read_step(job_id, step, offset, limit)
            for chunk in chunks:
                yield chunk
                offset = chunk.end if step is None else chunk.step_end
            if not chunks:
                if stopping:
                    return
                wakeup.wait(generation, self.poll_interval)
