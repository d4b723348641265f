"""Long-running processes: supervised worker threads, the HTTP server, and the process
groups behind ``danube up``, ``danube server`` and ``danube projector``.

Stopping (SIGINT or SIGTERM) goes in this order, so nothing is asked of a part that has
already stopped: read-your-writes waits give up; the workers that take in or start work
(HTTP, triggers, dispatcher, reconciler) stop; then what the command stops on its own
(the gRPC server and the executor, whose steps record how they ended); then the
followers (projectors); then the stores close. A component that dies (the HTTP server
cannot listen, a worker that must not end ends) stops the process the same way, and
``run_until_signalled`` raises ``ComponentFailedError`` naming it.

The replicated roles (projector, dispatcher, scheduler, pod adapter) first stand by
for their lease (``hold_lease``); a process that loses it exits at once."""

from __future__ import annotations

import functools
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn

from adapters.sql.lease import Lease
from api.bootstrap import Core
from api.commands.errors import EXIT_FAILED, CommandError

log = logging.getLogger(__name__)

Work = Callable[[threading.Event], None]
STOP_TIMEOUT = 10.0  # for every stage of stopping together, not per thread


class ComponentFailedError(CommandError):
    """A part of the process died or could not start; the process stops, and the
    command line reports it in one line with exit status 1."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_FAILED)


class ComponentDiedError(Exception):
    """Raised by a worker that cannot go on: not restarted, the process stops."""


@dataclass
class _Worker:
    name: str
    thread: threading.Thread
    stopping: threading.Event


class Supervisor:
    """Runs named workers in threads; a worker that raises is restarted with backoff
    (0.1 s doubling to 10 s) until the supervisor stops. A worker raising
    ``ComponentDiedError`` (or ``SystemExit``) is not restarted: it fails the supervisor
    (``failed`` is set, ``failure`` says why), which stops the process.

    Followers (``follower=True``: projectors) are stopped after everything else, so the
    read models keep moving while the rest stops."""

    def __init__(self) -> None:
        self.stopping = threading.Event()  # set once the workers are told to stop
        self._followers_stopping = threading.Event()
        self._workers: list[_Worker] = []
        self._followers: list[_Worker] = []
        self._wakers: list[Callable[[], None]] = []
        self.restarts: dict[str, int] = {}
        self.failed = threading.Event()
        self.failure = ""

    def on_stop(self, waker: Callable[[], None]) -> None:
        """Called when stopping, to wake workers blocked waiting for something."""
        self._wakers.append(waker)

    def add(self, name: str, work: Work, *, follower: bool = False) -> None:
        stopping = self._followers_stopping if follower else self.stopping
        thread = threading.Thread(
            target=self._keep, args=(name, work, stopping), name=name, daemon=True
        )
        (self._followers if follower else self._workers).append(_Worker(name, thread, stopping))
        thread.start()

    def fail(self, message: str) -> None:
        if not self.failed.is_set():
            self.failure = message
            self.failed.set()

    def _keep(self, name: str, work: Work, stopping: threading.Event) -> None:
        delay = 0.1
        while not stopping.is_set():
            try:
                work(stopping)
                return
            except (ComponentDiedError, SystemExit) as error:
                log.error("%s stopped: %s", name, error)
                self.fail(f"{name}: {error}" if str(error) else f"{name} stopped")
                return
            except Exception:
                self.restarts[name] = self.restarts.get(name, 0) + 1
                log.exception("worker %s failed; restarting in %.1fs", name, delay)
                stopping.wait(delay)
                delay = min(delay * 2, 10.0)

    def stop_workers(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop everything but the followers."""
        self._stop(self.stopping, self._workers, timeout)

    def stop_followers(self, timeout: float = STOP_TIMEOUT) -> None:
        self._stop(self._followers_stopping, self._followers, timeout)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        self.stop_workers(timeout / 2)
        self.stop_followers(timeout / 2)

    def _stop(self, stopping: threading.Event, workers: list[_Worker], timeout: float) -> None:
        stopping.set()
        for waker in self._wakers:
            waker()
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.thread.join(max(deadline - time.monotonic(), 0.0))
            if worker.thread.is_alive():
                log.warning("worker %s did not stop within %.0fs", worker.name, timeout)


def start_projectors(danube: Core, supervisor: Supervisor) -> None:
    supervisor.on_stop(danube.store.commits.announce)
    supervisor.on_stop(danube.store.views.announce_all)
    # One follower for all read models: each batch is read once and folded into every
    # projection in one transaction (three followers tripled the reads and commits).
    projectors = danube.store.projector_group(danube.projections)
    supervisor.add("projectors", projectors.follow, follower=True)


class HttpServer:
    """uvicorn in a worker thread; signals are handled by the process, not uvicorn.

    The socket is bound when this is built, so an address in use stops start-up with
    ``ComponentFailedError`` instead of a server thread that quietly ends."""

    GRACEFUL_SECONDS = 3  # open connections (log streams) get this long to finish

    def __init__(self, app: Any, host: str, port: int) -> None:
        self.socket = listen(host, port)
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=self.GRACEFUL_SECONDS,
            ws_per_message_deflate=False,
        )
        self.server = uvicorn.Server(config)  # off the main thread it leaves signals alone

    def __call__(self, stopping: threading.Event) -> None:
        watcher = threading.Thread(target=self._stop_on, args=(stopping,), daemon=True)
        watcher.start()
        try:
            self.server.run(sockets=[self.socket])
        except SystemExit as error:  # uvicorn exits when it cannot start
            raise ComponentDiedError(f"the HTTP server could not start ({error})") from None
        if not stopping.is_set():
            raise ComponentDiedError("the HTTP server stopped unexpectedly")

    def _stop_on(self, stopping: threading.Event) -> None:
        stopping.wait()
        self.server.should_exit = True


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket, or ``ComponentFailedError`` saying why not."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.create_server((host, port), family=family, backlog=2048)
    except OSError as error:
        # create_server appends where it bound to strerror: take the plain reason
        if error.errno and not isinstance(error, socket.gaierror):
            reason = os.strerror(error.errno)
        else:
            reason = error.strerror or str(error)
        raise ComponentFailedError(f"cannot listen on {host}:{port}: {reason.lower()}") from None
    return sock


class StopSignals:
    """SIGINT and SIGTERM are caught from the moment this is made (in the main thread),
    so one that arrives while the process is still starting stops it cleanly too."""

    def __init__(self) -> None:
        self.received = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        self.received.set()


def run_until_signalled(
    danube: Core,
    supervisor: Supervisor,
    on_stop: Callable[[], None] | None = None,
    signals: StopSignals | None = None,
) -> None:
    """Block until SIGINT or SIGTERM (or a component dies), then stop in order: the
    workers, ``on_stop`` (gRPC, the executor), the followers, the stores. Raises
    ``ComponentFailedError`` after stopping if a component died. Signals that arrive
    while stopping change nothing (every stage has a deadline)."""
    wake = (signals or StopSignals()).received
    threading.Thread(target=_relay, args=(supervisor.failed, wake), daemon=True).start()
    while not wake.wait(0.5):
        pass
    danube.stop()
    supervisor.stop_workers(STOP_TIMEOUT / 2)
    if on_stop is not None:
        on_stop()
    supervisor.stop_followers(STOP_TIMEOUT / 2)
    danube.close()
    if supervisor.failed.is_set():
        log.error("stopped: %s", supervisor.failure)
        raise ComponentFailedError(supervisor.failure)
    log.info("stopped")


def hold_lease(danube: Core, role: str, signals: StopSignals) -> Lease | None:
    """Stand by until this process holds ``role``'s lease (one active process per role
    on PostgreSQL, see ``adapters.sql.lease``; on SQLite at once); None when a stop
    signal came first. From then on every write of the process is fenced with the lease,
    and losing it ends the process at once (``_lease_lost``); its restart stands by."""
    holder = f"{socket.gethostname()}:{os.getpid()}"
    lease = danube.store.lease(role, holder, danube.settings.database_lease_ttl)
    if not lease.acquire(signals.received):
        lease.release()
        return None
    danube.store.fence_writes(lease)
    lease.keep(functools.partial(_lease_lost, role))
    return lease


def _lease_lost(role: str, why: str) -> None:
    """Like Kubernetes' own controllers (client-go's leader election exits when its lease
    is lost), a process that may no longer act stops every thread where it stands rather
    than trusting each to notice: what it was doing is what a kill -9 leaves, which
    the next holder resumes. Its writes after this point would be refused anyway."""
    log.critical("lost the %s lease: %s; exiting so that nothing more is done under it", role, why)
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(EXIT_FAILED)


def _relay(source: threading.Event, target: threading.Event) -> None:
    source.wait()
    target.set()
