"""The coordinators' zygote: `python -m danube.coordinator.zygote <control fd>`.

One process, started once by the local executor, with the SDK (and gRPC's Python
modules) imported but no gRPC channel, server or thread ever made: gRPC and ``fork`` do
not mix once gRPC's core runs. It forks a coordinator per request; the child is then a
warm coordinator (``danube.coordinator.warm``): it starts gRPC's core, reads its job
(environment and workspace) from its stdin and runs it. The zygote never sees a job: a
job's environment and token go from the server to the child's stdin pipe, so nothing of
one job is in the memory the next child is forked from.

The control socket (a ``SOCK_SEQPACKET`` pair, one message a datagram) carries:

- ``fork <n>`` with two descriptors (the child's stdin, and the stdout its stderr joins):
  the zygote forks; the child becomes the leader of a session (its own process group) of
  its own before the zygote answers ``forked <n> <pid>`` (or ``failed <n> <reason>``);
- ``exited <pid>`` when a child has exited; it stays a zombie, so its pid (and process
  group id) cannot be reused while the server ends what it left in its group;
- ``reap <pid>`` from the server, then: the zygote reaps it and answers
  ``reaped <pid> <wait status>``.

End of the control socket (the server has gone or closed it) kills every child's process
group and ends the zygote. A child dies with the zygote (``PR_SET_PDEATHSIG``). The
zygote is single-threaded: it waits in ``select`` on the socket and on SIGCHLD.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import os
import select
import signal
import socket
import sys
from typing import NoReturn

# Imported here, before any fork, so that no child imports them again.
import danube
import danube._client
import danube.coordinator._main  # noqa: F401
from danube.coordinator import warm
from danube.coordinator._main import EXIT_INFRASTRUCTURE

_PR_SET_PDEATHSIG = 1
_MESSAGE = 512


def serve(control: socket.socket) -> int:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: dict[int, bool] = {}  # pid -> whether its exit was announced
    gc.freeze()  # what is imported stays shared with the children (no copy on write)
    try:
        while True:
            ready, _, _ = select.select([control.fileno(), wake_r], [], [])
            if wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    while os.read(wake_r, 512):
                        pass
            _announce_exits(control, children)
            if control.fileno() in ready and not _serve_one(control, children, (wake_r, wake_w)):
                return 0
    finally:
        for pid in children:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _serve_one(
    control: socket.socket, children: dict[int, bool], inherited: tuple[int, int]
) -> bool:
    """Serve one request; False when the control socket has ended."""
    try:
        message, fds, _, _ = socket.recv_fds(control, _MESSAGE, 2)
    except ConnectionError:
        return False
    if not message:
        for fd in fds:
            os.close(fd)
        return False
    verb, _, rest = message.decode().partition(" ")
    if verb == "fork":
        answer = _fork(rest, fds, control, children, inherited)
    elif verb == "reap":
        for fd in fds:
            os.close(fd)
        pid = int(rest)
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = signal.SIGKILL  # not ours (or reaped already): say it was killed
        children.pop(pid, None)
        answer = f"reaped {pid} {status}"
    else:
        for fd in fds:
            os.close(fd)
        answer = f"unknown {verb}"
    _send(control, answer)
    return True


def _fork(
    number: str,
    fds: list[int],
    control: socket.socket,
    children: dict[int, bool],
    inherited: tuple[int, int],
) -> str:
    if len(fds) != 2:
        for fd in fds:
            os.close(fd)
        return f"failed {number} expected 2 descriptors, got {len(fds)}"
    stdin, stdout = fds
    ready_r, ready_w = os.pipe()
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError as error:
        for fd in (stdin, stdout, ready_r, ready_w):
            os.close(fd)
        return f"failed {number} fork: {error.strerror}"
    if pid == 0:
        _child(parent, stdin, stdout, ready_w, control, (*inherited, ready_r))
    os.close(ready_w)
    os.close(stdin)
    os.close(stdout)
    children[pid] = False
    with contextlib.suppress(OSError):  # EOF once the child leads its own session
        os.read(ready_r, 1)
    os.close(ready_r)
    return f"forked {number} {pid}"


def _child(
    parent: int,
    stdin: int,
    stdout: int,
    ready: int,
    control: socket.socket,
    inherited: tuple[int, ...],
) -> NoReturn:
    """The forked coordinator; it never returns into the zygote's loop. ``inherited``:
    the zygote's descriptors it has no use for."""
    code = EXIT_INFRASTRUCTURE
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        control.close()
        for fd in inherited:
            os.close(fd)
        os.setsid()
        _die_with(parent)
        os.dup2(stdin, 0)
        os.dup2(stdout, 1)
        os.dup2(stdout, 2)
        for fd in (stdin, stdout, ready):  # closing ``ready`` tells the zygote: set up
            os.close(fd)
        code = warm.run()
        warm.leave(code)
    except BaseException as error:  # whatever it was, the child ends here
        with contextlib.suppress(Exception):
            print(f"danube: the forked coordinator failed: {error!r}", file=sys.stderr)
            sys.stderr.flush()
    os._exit(code)


def _die_with(parent: int) -> None:
    """SIGKILL this process when the zygote ends (and at once if it already has)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os._exit(EXIT_INFRASTRUCTURE)


def _announce_exits(control: socket.socket, children: dict[int, bool]) -> None:
    for pid, announced in list(children.items()):
        if announced:
            continue
        try:
            exited = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            exited = None
        if exited is not None and exited.si_pid == pid:
            children[pid] = True
            _send(control, f"exited {pid}")


def _send(control: socket.socket, message: str) -> None:
    try:
        control.send(message.encode())
    except OSError as error:
        if error.errno not in (errno.EPIPE, errno.ECONNRESET):
            raise


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].isdigit():
        print("usage: python -m danube.coordinator.zygote <control fd>", file=sys.stderr)
        return 2
    control = socket.socket(fileno=int(argv[0]))
    with control:
        return serve(control)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
