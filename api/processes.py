"""Long-running processes: supervised worker threads, the HTTP server, and the process
groups behind ``danube up``, ``danube server`` and ``danube projector``."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

import uvicorn

from api.bootstrap import Danube

log = logging.getLogger(__name__)

Work = Callable[[threading.Event], None]


class Supervisor:
    """Runs named workers in threads; a worker that raises is restarted with backoff
    (0.1 s doubling to 10 s) until the supervisor stops."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._wakers: list[Callable[[], None]] = []
        self.restarts: dict[str, int] = {}

    def on_stop(self, waker: Callable[[], None]) -> None:
        """Called when stopping, to wake workers blocked waiting for something."""
        self._wakers.append(waker)

    def add(self, name: str, work: Work) -> None:
        thread = threading.Thread(target=self._keep, args=(name, work), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _keep(self, name: str, work: Work) -> None:
        delay = 0.1
        while not self.stopping.is_set():
            try:
                work(self.stopping)
                return
            except Exception:
                self.restarts[name] = self.restarts.get(name, 0) + 1
                log.exception("worker %s failed; restarting in %.1fs", name, delay)
                self.stopping.wait(delay)
                delay = min(delay * 2, 10.0)

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        for waker in self._wakers:
            waker()
        for thread in self._threads:
            thread.join(timeout)


def start_projectors(danube: Danube, supervisor: Supervisor) -> None:
    supervisor.on_stop(danube.store.commits.announce)
    supervisor.on_stop(danube.store.views.announce_all)
    for projection in danube.projections:
        projector = danube.store.projector(projection)
        supervisor.add(f"projector-{projection.name}", projector.follow)


class HttpServer:
    """uvicorn in a worker thread; signals are handled by the process, not uvicorn."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
        self.server = uvicorn.Server(config)  # off the main thread it leaves signals alone

    def __call__(self, stopping: threading.Event) -> None:
        watcher = threading.Thread(target=self._stop_on, args=(stopping,), daemon=True)
        watcher.start()
        self.server.run()
        if not stopping.is_set() and not self.server.should_exit:
            raise RuntimeError("HTTP server stopped unexpectedly")

    def _stop_on(self, stopping: threading.Event) -> None:
        stopping.wait()
        self.server.should_exit = True


def run_until_signalled(
    danube: Danube, supervisor: Supervisor, on_stop: Callable[[], None] | None = None
) -> None:
    """Block until SIGINT or SIGTERM, then stop every worker and close the stores."""
    signalled = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        signalled.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handle)
    while not signalled.wait(0.5):
        pass
    supervisor.stop()
    if on_stop is not None:
        on_stop()
    danube.close()
    log.info("stopped")
