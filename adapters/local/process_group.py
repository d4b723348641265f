"""A command running in a process group of its own, its output pumped into a sink.

The group ends as a whole: when the leader exits (on its own or because it was told
to), whatever it left behind in its group gets SIGTERM and, after the grace period,
SIGKILL. The leader is reaped only after that last SIGKILL, so its pid keeps the group
id reserved while it is signalled and no unrelated process can be hit. Nothing polls:
one thread blocks in ``waitid`` on the leader, one or two block in ``read`` on its pipes
(one when stderr is merged into stdout, which keeps the order in which they were written).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from domain.execution.ports import OutputSink, Stream

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
# How long ``terminate`` waits for a SIGKILLed leader to be reaped before giving up;
# only a process stuck in uninterruptible sleep takes that long.
_REAP_LIMIT = 60.0


class ProcessGroup:
    """One spawned command; ``spawn`` starts it, ``terminate`` ends it, ``wait`` waits."""

    def __init__(self, process: subprocess.Popen[bytes], sink: OutputSink, grace: float) -> None:
        self._process = process
        self._grace = grace
        self._lock = threading.Lock()
        self._leader_exited = False
        self._reaped = False
        self._killed = False
        self._deadline: float | None = None
        self._done = threading.Event()
        self._when_done: list[Callable[[], None]] = []
        assert process.stdout is not None
        self._pumps = [_thread(_pump, process.stdout, Stream.STDOUT, sink)]
        if process.stderr is not None:
            self._pumps.append(_thread(_pump, process.stderr, Stream.STDERR, sink))
        self._watcher = _thread(self._watch)

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
        group = cls(process, sink, grace)
        for thread in (*group._pumps, group._watcher):
            thread.start()
        return group

    def send(self, data: bytes) -> None:
        """Write ``data`` to the stdin pipe and close it. Raises ``OSError`` (e.g. the
        process has gone) or ``ValueError`` (no pipe, or already sent)."""
        pipe = self._process.stdin
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
        return self._process.pid

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
        code = self._process.returncode
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
            os.killpg(self._process.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            log.warning("not allowed to signal process group %d", self._process.pid)

    def _watch(self) -> None:
        # WNOWAIT: the leader stays a zombie, holding the group id, until reaped below.
        with contextlib.suppress(ChildProcessError):
            os.waitid(os.P_PID, self._process.pid, os.WEXITED | os.WNOWAIT)
        with self._lock:
            self._leader_exited = True
        self.request_termination()  # whatever the leader left behind in its group
        for pump in self._pumps:
            pump.join(self._remaining())
        with self._lock:
            self._signal(signal.SIGKILL)
            self._process.wait()
            self._reaped = True
        for pump in self._pumps:  # only a process that left the group still holds a pipe
            pump.join(self._grace)
        with self._lock:
            self._done.set()
            callbacks, self._when_done = self._when_done, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("a callback on the end of process group %d failed", self.pid)


def _thread(target: Callable[..., None], *args: object) -> threading.Thread:
    return threading.Thread(target=target, args=args, daemon=True)


def _pump(pipe: IO[bytes], stream: Stream, sink: OutputSink) -> None:
    """Copy the pipe's bytes to the sink as they come, undecoded, until EOF. A failing
    sink loses output but never stops the draining, or the command would block."""
    fd = pipe.fileno()
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
