"""Job output: masked, then stored in the log store and fanned out.

Implements the reconciler's ``JobOutput`` port and what the gRPC and HTTP layers read.
Each job has one masker over its log: every step's streams interleaved as written, the
order the log shows them in (a secret split between stdout and stderr, or between two
steps running side by side, is still one secret). Its secret values are the secrets
the job read and the job's token. What a job says
about itself outside its output (a step's command and name, its outcome) is masked with
the same set (``mask_text``) before it is recorded.

A job's state (its masker and the secret values it masks) lives until the job ends:
the reconciler closes it when it ends the job, and ``release`` drops the state of jobs
that are no longer active (in a process without a reconciler, e.g. ``danube server``, where
the JobService fills it on every call; see ``api.execution.lifetimes``).

A masker holds back the end of the output that begins some form of a secret until the
next bytes complete or rule it out, or the step ends (``size``, ``system_line``,
``close``): never released by a timer, so no pause lets a secret through. After
``IDLE_FLUSH_SECONDS`` of silence (``flush_idle``) an unfinished line is let out up to
what may still become a secret or a token, so prompts and progress bars still flow live.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from adapters.sql.logstore import MIB, Chunk, SqlLogStore
from adapters.sql.wakeup import Wakeup
from domain.execution.ports import OutputSink, Stream
from domain.ids import JobId
from domain.logs.masking import LogMasker, SecretSet, StreamKey, mask_text
from domain.secrets.application import SecretsService
from domain.secrets.errors import SecretsError

log = logging.getLogger(__name__)

IDLE_FLUSH_SECONDS = 0.2
CLOSED_REMEMBERED = 65_536  # ended jobs whose late output is recognised (~6 MB)
JOB_LEVEL = 0  # the coordinator's output and Danube's own lines
STEP_OPENING = re.compile(r"── step (\d+): ".encode())  # a step's first line
TOKEN_KEY = "\0job-token"  # never a secret key (see domain.secrets.aggregates.KEY_PATTERN)


@dataclass
class _JobState:
    secrets: SecretSet = field(default_factory=SecretSet)
    keys: set[str] = field(default_factory=set)  # those whose values are in ``secrets``
    masker: LogMasker = field(init=False)
    held: dict[StreamKey, float] = field(default_factory=dict)  # stream -> last write
    closed: bool = False  # the job ended: its masker stores nothing more

    def __post_init__(self) -> None:
        self.masker = LogMasker(self.secrets)

    lock: threading.Lock = field(default_factory=threading.Lock)


class _Sink:
    def __init__(self, outputs: LogOutputs, job_id: JobId, step: int) -> None:
        self._outputs, self._job_id, self._step = outputs, job_id, step

    def write(self, stream: Stream, data: bytes) -> None:
        self._outputs.write(self._job_id, self._step, stream, data)


class LogOutputs:
    def __init__(self, store: SqlLogStore, secrets: SecretsService) -> None:
        self.store = store
        self._secrets = secrets
        self._jobs: dict[str, _JobState] = {}
        # Jobs whose state was closed (most recent first out): output that arrives for
        # them afterwards (a pipe drained late) is dropped, never stored through a new
        # masker that no longer knows the job's secrets and token.
        self._closed: OrderedDict[str, None] = OrderedDict()
        self._late: set[str] = set()  # closed jobs whose late output was dropped (logged once)
        self._lock = threading.Lock()

    def _state(self, job_id: JobId) -> _JobState:
        with self._lock:
            if job_id.hex in self._closed:  # its secrets are gone: never remembered again
                return self._jobs.get(job_id.hex) or _JobState()
            return self._jobs.setdefault(job_id.hex, _JobState())

    # ---- writing (the JobOutput port) ------------------------------------------------

    def for_job(self, job_id: JobId) -> OutputSink:
        return _Sink(self, job_id, JOB_LEVEL)

    def for_step(self, job_id: JobId, number: int) -> OutputSink:
        return _Sink(self, job_id, number)

    def write(self, job_id: JobId, step: int, stream: Stream, data: bytes) -> None:
        key = (step, stream.value)
        if self._is_closed(job_id):
            self._after_end(job_id, key, data)
            return
        state = self._state(job_id)
        with state.lock:
            if state.closed:  # closed while this write waited for it
                self._after_end(job_id, key, data)
                return
            if not state.masker.is_open(key):  # a stream resumed after a restart
                start = self.store.source_position(job_id.hex, step, stream.value)
                state.masker.open(key, start)  # continues its positions
            self._store(job_id, state.masker, state.masker.feed(key, data))
            state.held[key] = time.monotonic()

    def _is_closed(self, job_id: JobId) -> bool:
        with self._lock:
            return job_id.hex in self._closed

    def _after_end(self, job_id: JobId, key: StreamKey, data: bytes) -> None:
        """Output for a job whose state was closed: its secrets and token are forgotten,
        so the job's own output is dropped (said once), never stored unmasked; a line of
        Danube's own (e.g. a step's end written after its job's) holds no secret and is
        stored."""
        if key[1] == Stream.SYSTEM.value:
            masker = LogMasker(SecretSet())
            masker.open(key, self.store.source_position(job_id.hex, key[0], key[1]))
            self._store(job_id, masker, masker.feed(key, data) + masker.flush({key}))
            return
        with self._lock:
            first = job_id.hex not in self._late
            self._late.add(job_id.hex)
        if first:
            log.warning("output of job %s after its end was dropped", job_id.hex)

    def _store(
        self, job_id: JobId, masker: LogMasker, parts: list[tuple[StreamKey, bytes]]
    ) -> int | None:
        """Append each part; returns the job offset just past the last one (None: none)."""
        end = None
        for (step, stream), safe in parts:
            _, end = self.store.append(
                job_id.hex, step, stream, safe, masker.position((step, stream))
            )
        return end

    def system_line(self, job_id: JobId, text: str) -> int:
        """A line of Danube's own, after everything written before it (the maskers may
        hold back the end of earlier output). Returns the job offset just past the line:
        where what follows it begins, whatever other streams append meanwhile."""
        state = self._state(job_id)
        key = (JOB_LEVEL, Stream.SYSTEM.value)
        with state.lock:
            masker = state.masker
            if not masker.is_open(key):  # after a restart: continue its positions
                masker.open(key, self.store.source_position(job_id.hex, *key))
            self._store(job_id, masker, masker.flush(set(state.held)))
            state.held.clear()
            line = (text.rstrip("\n") + "\n").encode()
            parts = masker.feed(key, line) + masker.flush({key})
            end = self._store(job_id, masker, parts)
        return self.store.size(job_id.hex) if end is None else end

    def flush(self, job_id: JobId) -> None:
        """Emit everything the masker holds back (the output ended here)."""
        state = self._state(job_id)
        with state.lock:
            if state.held:
                self._store(job_id, state.masker, state.masker.flush(set(state.held)))
                state.held.clear()

    def flush_idle(self) -> None:
        """Let out unfinished lines of streams silent for ``IDLE_FLUSH_SECONDS``, up to
        what may still become a secret or a token (that waits for its next bytes or the
        step's end)."""
        with self._lock:
            states = list(self._jobs.items())
        now = time.monotonic()
        for job, state in states:
            with state.lock:
                if state.closed:
                    continue
                idle = {k for k, last in state.held.items() if now - last >= IDLE_FLUSH_SECONDS}
                if idle:
                    lines = state.masker.release_lines(idle)
                    self._store(JobId(UUID(job)), state.masker, lines)

    def opened_steps(self, job_id: JobId) -> dict[int, int]:
        """The steps whose opening line (``── step N: ``) the job's log holds, each with
        the job offset just past its first such line."""
        opened: dict[int, int] = {}
        line, offset = b"", 0
        while chunks := self.store.read_step(job_id.hex, JOB_LEVEL, offset, MIB, "system"):
            for chunk in chunks:
                at = 0
                while (newline := chunk.data.find(b"\n", at)) >= 0:
                    line += chunk.data[at : newline + 1]
                    found = STEP_OPENING.match(line)
                    if found is not None:
                        opened.setdefault(int(found[1]), chunk.offset + newline + 1)
                    line, at = b"", newline + 1
                line += chunk.data[at:]
                offset += len(chunk.data)
        return opened

    def size(self, job_id: JobId) -> int:
        self.flush(job_id)
        return self.store.size(job_id.hex)

    def stored_size(self, job_id: str) -> int:
        """What is stored now (without flushing: for readers)."""
        return self.store.size(job_id)

    def add_secret(self, job_id: JobId, value: str, key: str | None = None) -> None:
        """Mask ``value`` in the job's output from now on; ``key`` names it, so that
        ``mask_secrets`` need not fetch it again."""
        state = self._state(job_id)
        state.secrets.add(value)
        if key is not None:
            state.keys.add(key)

    def mask_token(self, job_id: JobId, token: str) -> None:
        """Mask the job's token (its processes can read it, e.g. in /proc). Cheap when
        already done: every call the job makes registers it."""
        if TOKEN_KEY not in self._state(job_id).keys:
            self.add_secret(job_id, token, TOKEN_KEY)

    def mask_text(self, job_id: JobId, text: str) -> str:
        """``text`` with the job's secrets and its token, and token patterns, masked."""
        return mask_text(text, self._state(job_id).secrets) if text else text

    def mask_secrets(self, job_id: JobId, pipeline: str, keys: Sequence[str]) -> None:
        state = self._state(job_id)
        for key in set(keys) - state.keys:
            try:
                _, value = self._secrets.find(pipeline, key)
            except SecretsError:
                continue  # removed since: nothing left to mask
            state.secrets.add(value)
            state.keys.add(key)

    def close(self, job_id: JobId) -> None:
        state = self._state(job_id)
        with state.lock:
            if state.held:
                self._store(job_id, state.masker, state.masker.flush(set(state.held)))
                state.held.clear()
            state.closed = True
        with self._lock:
            self._jobs.pop(job_id.hex, None)
            self._closed[job_id.hex] = None
            self._closed.move_to_end(job_id.hex)
            while len(self._closed) > CLOSED_REMEMBERED:
                self._late.discard(self._closed.popitem(last=False)[0])

    def held(self) -> set[str]:
        """The jobs (hex ids) whose state this process holds now."""
        with self._lock:
            return set(self._jobs)

    def release(self, jobs: Collection[str]) -> None:
        """Close the state of each of ``jobs`` (hex ids) that ended: what it holds back
        is stored, and its secret values are dropped."""
        for job in jobs:
            self.close(JobId(UUID(job)))

    # ---- reading ---------------------------------------------------------------------

    def read_bytes(self, job_id: str, offset: int, limit: int) -> bytes:
        return b"".join(chunk.data for chunk in self.store.read(job_id, offset, limit))

    def step_chunks(self, job_id: JobId, step: int, offset: int) -> list[Chunk]:
        """Chunks of one step's output from a step offset (``Chunk.step_offset``)."""
        return [
            Chunk(c.step_offset, c.step, c.stream, c.data, c.step_offset)
            for c in self.store.read_step(job_id.hex, step, offset)
        ]

    def resume_offset(self, job_id: JobId, step: int, stream: str) -> int:
        """Where a writer that lost what it had not stored yet (a restarted pod adapter)
        resumes reading a step's stream: the unmasked bytes its stored output stands
        for. Not the stored length: masking changes lengths, and what the masker held
        back was never stored."""
        return self.store.source_position(job_id.hex, step, stream)

    def step_bytes(self, job_id: JobId, step: int, stream: str) -> bytes:
        return self.store.step_output(job_id.hex, step, stream=stream)

    def progress(self, job_id: JobId) -> Wakeup:
        return self.store.progress(job_id.hex)
