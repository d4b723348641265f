"""A command running in a process group of its own, its output pumped into a sink.

The group ends as a whole: when the leader exits (on its own or because it was told
to), whatever it left behind in its group gets SIGTERM and, after the grace period,
SIGKILL. The leader is reaped only after that last SIGKILL, so its pid keeps the group
id reserved while it is signalled and no unrelated process can be hit. Nothing polls:
one thread blocks in ``waitid`` on the leader (or, for a leader the coordinators' zygote
forked, on the zygote's word that it exited), one or two block in ``read`` on its pipes
(one when stderr is merged into stdout, which keeps the order in which they were written);
threads kept for that (``domain.execution.workers``), not started per group.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Protocol

from domain.execution.ports import OutputSink, Stream
from domain.execution.workers import Workers

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
# A pipe's buffer while it is pumped: the command writes on while the sink stores what
# came before, and each store (masking, one append) takes in more at once. 64 pages:
# Linux's default per-user budget (pipe-user-pages-soft, 16384 pages) holds 256 of them.
PIPE_BYTES = 256 * 1024
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
# How long ``terminate`` waits for a SIGKILLed leader to be reaped before giving up;
# only a process stuck in uninterruptible sleep takes that long.
_REAP_LIMIT = 60.0
DRAIN_LIMIT = 30.0  # seconds a pump still moving bytes is waited for after the kill


class Leader(Protocol):
    """A group's leader process, however it was started: ``wait_exited`` blocks until it
    has exited but leaves it unreaped (its pid, the group id, stays reserved); ``reap``
    then reaps it and returns its return code as ``Popen`` has it (-N for signal N)."""

    @property
    def pid(self) -> int: ...

    def wait_exited(self) -> None: ...

    def reap(self) -> int: ...


class _SpawnedLeader:
    """A leader this process started (``subprocess.Popen``), so waits on itself."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process

    @property
    def pid(self) -> int:
        return self._process.pid

    def wait_exited(self) -> None:
        # WNOWAIT: the leader stays a zombie, holding the group id, until reaped.
        with contextlib.suppress(ChildProcessError):
            os.waitid(os.P_PID, self._process.pid, os.WEXITED | os.WNOWAIT)

    def reap(self) -> int:
        return self._process.wait()


class ProcessGroup:
    """One started command; ``spawn`` starts it, ``terminate`` ends it, ``wait`` waits."""

    def __init__(
        self,
        leader: Leader,
        stdout: IO[bytes],
        stderr: IO[bytes] | None,
        stdin: IO[bytes] | None,
        sink: OutputSink,
        grace: float,
    ) -> None:
        """A group whose ``leader`` leads a session of its own, its output read from
        ``stdout`` (and ``stderr`` unless merged); ``start`` starts watching it."""
        self._leader = leader
        self._stdin = stdin
        self._grace = grace
        self._lock = threading.Lock()
        self._leader_exited = False
        self._reaped = False
        self._killed = False
        self._returncode = 0
        self._deadline: float | None = None
        self._done = threading.Event()
        self._when_done: list[Callable[[], None]] = []
        self._pipes = [(stdout, Stream.STDOUT)] + ([(stderr, Stream.STDERR)] if stderr else [])
        self._sink = _Moving(sink)
        self._drained: list[threading.Event] = []

    def start(self) -> ProcessGroup:
        """Start pumping its output and watching its leader; returns the group."""
        workers = _workers()
        self._drained = [
            workers.submit(_pump, pipe, name, self._sink) for pipe, name in self._pipes
        ]
        workers.submit(self._watch)
        return self

    @classmethod
    def spawn(
        cls,
        argv: Sequence[str],
        *,
        cwd: Path | None,
        env: Mapping[str, str],
        sink: OutputSink,
        grace: float,
        merge_stderr: bool = False,
        stdin_pipe: bool = False,
    ) -> ProcessGroup:
        """Start ``argv`` in a new session (its own process group), stdin from /dev/null.
        With ``merge_stderr`` its stderr is its stdout pipe: one stream (STDOUT), in the
        order the process wrote it. With ``stdin_pipe`` its stdin is a pipe that ``send``
        writes once. Raises ``OSError`` when it cannot be started."""
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            bufsize=0,
            start_new_session=True,
        )
        assert process.stdout is not None
        leader = _SpawnedLeader(process)
        return cls(leader, process.stdout, process.stderr, process.stdin, sink, grace).start()

    def send(self, data: bytes) -> None:
        """Write ``data`` to the stdin pipe and close it. Raises ``OSError`` (e.g. the
        process has gone) or ``ValueError`` (no pipe, or already sent)."""
        pipe = self._stdin
        if pipe is None or pipe.closed:
            raise ValueError("no stdin pipe to send to")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(pipe.fileno(), view) :]
        finally:
            with contextlib.suppress(OSError):
                pipe.close()

    @property
    def pid(self) -> int:
        """The leader's pid, which is also the process group id."""
        return self._leader.pid

    @property
    def killed(self) -> bool:
        """Termination was requested while the leader was still running."""
        with self._lock:
            return self._killed

    @property
    def exit_code(self) -> int | None:
        """The leader's exit code once the group has ended; 128+N for signal N."""
        if not self._done.is_set():
            return None
        code = self._returncode
        return 128 - code if code < 0 else code

    def when_done(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the group's watcher thread) once the group has ended; at
        once if it has. It must not block."""
        with self._lock:
            if not self._done.is_set():
                self._when_done.append(callback)
                return
        callback()

    def wait(self, timeout: float | None = None) -> bool:
        """Whether the group has ended (leader reaped, output drained) within ``timeout``."""
        return self._done.wait(timeout)

    def request_termination(self) -> None:
        """SIGTERM the whole group once and start the grace period; returns at once."""
        with self._lock:
            if self._reaped:
                return
            if not self._leader_exited:
                self._killed = True
            if self._deadline is None:
                self._deadline = time.monotonic() + self._grace
                self._signal(signal.SIGTERM)

    def terminate(self) -> None:
        """End the group: SIGTERM, then SIGKILL once the grace period is over. Blocks
        until the leader is reaped. Safe to call from several threads, and repeatedly."""
        self.request_termination()
        if not self._done.wait(self._remaining()):
            with self._lock:
                self._signal(signal.SIGKILL)
            if not self._done.wait(_REAP_LIMIT):
                log.error("process group %d did not end after SIGKILL", self.pid)

    def _remaining(self) -> float:
        with self._lock:
            deadline = self._deadline
        return 0.0 if deadline is None else max(0.0, deadline - time.monotonic())

    def _signal(self, sig: signal.Signals) -> None:
        """Signal the group; the caller holds the lock, so the leader is not reaped yet
        and the group id cannot have been reused."""
        if self._reaped:
            return
        try:
            os.killpg(self._leader.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            log.warning("not allowed to signal process group %d", self._leader.pid)

    def _watch(self) -> None:
        self._leader.wait_exited()  # it stays a zombie, holding the group id, until reaped
        with self._lock:
            self._leader_exited = True
        self.request_termination()  # whatever the leader left behind in its group
        for drained in self._drained:
            drained.wait(self._remaining())
        with self._lock:
            self._signal(signal.SIGKILL)
            self._returncode = self._leader.reap()
            self._reaped = True
        # Only a process that left the group still holds a pipe open: given up on once
        # no byte has moved for the grace period. A pump still storing what the group
        # wrote (a slow store) is waited for, up to DRAIN_LIMIT: the output is complete
        # before the end (a process that left the group printing for ever is not).
        limit = time.monotonic() + DRAIN_LIMIT
        for drained in self._drained:
            while not drained.wait(max(self._sink.quiet_until(self._grace), 0.01)):
                if self._sink.quiet_until(self._grace) <= 0 or time.monotonic() > limit:
                    break
        with self._lock:
            self._done.set()
            callbacks, self._when_done = self._when_done, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("a callback on the end of process group %d failed", self.pid)


class _Moving:
    """The sink, remembering when a byte last went through it."""

    def __init__(self, sink: OutputSink) -> None:
        self._sink, self._moved = sink, time.monotonic()

    def write(self, stream: Stream, data: bytes) -> None:
        self._moved = time.monotonic()
        self._sink.write(stream, data)
        self._moved = time.monotonic()

    def quiet_until(self, grace: float) -> float:
        """Seconds left until nothing has moved for ``grace`` (<= 0: quiet that long)."""
        return self._moved + grace - time.monotonic()


_shared: Workers | None = None
_shared_lock = threading.Lock()


def _workers() -> Workers:
    """The threads every group of this process pumps and watches on (built on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Workers("process-group")
        return _shared


def _pump(pipe: IO[bytes], stream: Stream, sink: OutputSink) -> None:
    """Copy the pipe's bytes to the sink as they come, undecoded, until EOF. A failing
    sink loses output but never stops the draining, or the command would block."""
    fd = pipe.fileno()
    with contextlib.suppress(OSError):  # over the user's budget: the default size
        fcntl.fcntl(fd, F_SETPIPE_SZ, PIPE_BYTES)
    failed = False
    try:
        while chunk := os.read(fd, CHUNK):
            try:
                sink.write(stream, chunk)
            except Exception:
                if not failed:
                    log.exception("output sink failed; dropping %s output", stream)
                failed = True
    except OSError:
        log.exception("reading %s failed", stream)
    finally:
        pipe.close()
