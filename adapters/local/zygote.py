"""The server's side of the coordinators' zygote (``python -m danube.coordinator.zygote``).

Starting Python and importing the SDK and gRPC is most of what a small job costs in CPU
(about 125 ms a coordinator); the zygote does it once and forks a coordinator per job,
which costs a few milliseconds. ``fork`` gives a ``ProcessGroup`` like a spawned one:
its leader leads a session of its own, its stdin is a pipe the job is sent through and
its stdout (stderr merged) is pumped into the sink. The zygote is not the server's
child's parent, so the group's leader is watched through the zygote: it announces the
leader's exit and reaps it only when asked, after the group has been ended, so that the
group id stays reserved as long as it is signalled.

The zygote holds nothing of any job (a job goes from the server to its child's stdin). It
is started on first use and again whenever it has died; a coordinator whose zygote died
died with it (``PR_SET_PDEATHSIG``) and is reported as killed. ``close`` ends it, and the
zygote kills the groups of the children it still has.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from adapters.local.process_group import ProcessGroup
from domain.execution.ports import OutputSink

log = logging.getLogger(__name__)

_ANSWER_WAIT = 30.0  # for the zygote to fork; it answers in milliseconds unless broken
_KILLED = -signal.SIGKILL
_MESSAGE = 512


class _ForkedLeader:
    """A coordinator the zygote forked, as its ``ProcessGroup`` watches it."""

    def __init__(self, zygote: _Running, pid: int) -> None:
        self._zygote = zygote
        self._pid = pid
        self._exited = threading.Event()
        self._reaped = threading.Event()
        self._returncode = _KILLED

    @property
    def pid(self) -> int:
        return self._pid

    def wait_exited(self) -> None:
        self._exited.wait()

    def reap(self) -> int:
        self._zygote.ask_reap(self._pid)
        self._reaped.wait()
        return self._returncode

    def exited(self) -> None:
        self._exited.set()

    def reaped(self, returncode: int) -> None:
        self._returncode = returncode
        self._exited.set()
        self._reaped.set()


class _Running:
    """One zygote process and its control socket; ``dead`` once either has ended."""

    def __init__(self, command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = subprocess.Popen(
                [*command, str(theirs.fileno())],
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # its children write to their own pipes
                pass_fds=[theirs.fileno()],
                start_new_session=True,
            )
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        self._control = ours
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._asked: dict[int, tuple[threading.Event, list[_ForkedLeader | str]]] = {}
        self._leaders: dict[int, _ForkedLeader] = {}
        self.dead = threading.Event()
        name = f"zygote-{self._process.pid}"
        threading.Thread(target=self._listen, name=name, daemon=True).start()

    def fork(self) -> tuple[_ForkedLeader, int, int]:
        """A new child: its leader, and the server's ends of its stdin and stdout pipes.
        Raises ``OSError`` when the zygote cannot fork one."""
        stdin_r, stdin_w = os.pipe()
        stdout_r, stdout_w = os.pipe()
        answered, answer = threading.Event(), list[_ForkedLeader | str]()
        try:
            with self._lock:
                if self.dead.is_set():
                    raise OSError("the zygote has ended")
                number = next(self._numbers)
                self._asked[number] = (answered, answer)
                socket.send_fds(self._control, [f"fork {number}".encode()], [stdin_r, stdout_w])
        except OSError:
            os.close(stdin_w)
            os.close(stdout_r)
            raise
        finally:
            os.close(stdin_r)
            os.close(stdout_w)
        if not answered.wait(_ANSWER_WAIT) or not isinstance(leader := answer[0], _ForkedLeader):
            os.close(stdin_w)
            os.close(stdout_r)
            reason = answer[0] if answer else f"no answer in {_ANSWER_WAIT:g}s"
            if not answer:
                self.end()
            raise OSError(f"the zygote could not fork a coordinator: {reason}")
        return leader, stdin_w, stdout_r

    def ask_reap(self, pid: int) -> None:
        with self._lock:
            if self.dead.is_set():
                return
            with contextlib.suppress(OSError):  # the listener sees the end: all killed
                self._control.send(f"reap {pid}".encode())

    def end(self) -> None:
        """Close the control socket (the zygote kills its children and exits) and wait
        for the zygote to exit."""
        with contextlib.suppress(OSError):
            self._control.shutdown(socket.SHUT_RDWR)
        try:
            self._process.wait(_ANSWER_WAIT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self.dead.wait(_ANSWER_WAIT)

    def _listen(self) -> None:
        try:
            while message := self._control.recv(_MESSAGE):
                self._handle(message.decode().split(" ", 2))
        except OSError:
            pass
        finally:
            self._died()

    def _handle(self, words: list[str]) -> None:
        verb = words[0]
        if verb in ("forked", "failed"):
            with self._lock:
                answered, answer = self._asked.pop(int(words[1]))
                if verb == "forked":
                    pid = int(words[2])
                    answer.append(self._leaders.setdefault(pid, _ForkedLeader(self, pid)))
                else:
                    answer.append(words[2] if len(words) > 2 else "")
            answered.set()
        elif verb == "exited":
            with self._lock:
                leader = self._leaders.get(int(words[1]))
            if leader is not None:
                leader.exited()
        elif verb == "reaped":
            with self._lock:
                leader = self._leaders.pop(int(words[1]), None)
            if leader is not None:
                leader.reaped(os.waitstatus_to_exitcode(int(words[2])))
        else:
            log.warning("the zygote said %r", " ".join(words))

    def _died(self) -> None:
        with self._lock:
            self.dead.set()
            asked, self._asked = self._asked, {}
            leaders, self._leaders = self._leaders, {}
        for answered, answer in asked.values():
            answer.append("the zygote has ended")
            answered.set()
        for leader in leaders.values():
            leader.reaped(_KILLED)
        self._control.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(_ANSWER_WAIT)  # it exits once its socket has ended


class Zygote:
    """Thread-safe. ``fork`` a coordinator, waiting for its job on stdin; ``close``."""

    def __init__(
        self, command: Sequence[str], cwd: Path, env: Mapping[str, str], grace: float
    ) -> None:
        self._command, self._cwd, self._env, self._grace = tuple(command), cwd, dict(env), grace
        self._lock = threading.Lock()
        self._running: _Running | None = None
        self._closed = False

    def fork(self, sink: OutputSink) -> ProcessGroup:
        """A forked coordinator, its output going to ``sink``, to be sent its job
        (``ProcessGroup.send``). Raises ``OSError`` when none can be forked."""
        leader, stdin, stdout = self._zygote().fork()
        return ProcessGroup(
            leader,
            os.fdopen(stdout, "rb", buffering=0),
            None,
            os.fdopen(stdin, "wb", buffering=0),
            sink,
            self._grace,
        ).start()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            running, self._running = self._running, None
        if running is not None:
            running.end()

    def _zygote(self) -> _Running:
        with self._lock:
            if self._closed:
                raise OSError("the executor is closed")
            if self._running is None or self._running.dead.is_set():
                if self._running is not None:
                    log.warning("the coordinators' zygote has ended; starting it again")
                self._running = _Running(self._command, self._cwd, self._env)
            return self._running
