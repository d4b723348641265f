"""Threads kept for short-lived work that blocks: a step's run, a pipe's pumping, a
process's watching.

Starting a thread costs a handshake with it (``Thread.start`` waits until it runs,
which on a busy interpreter is a wait for the GIL), and a thread that touches the
SQLite store opens a connection of its own on first use. Per step that was several
starts and a connection; here an idle thread takes the work at once, and a new one is
started only when none is idle. Idle threads end after ``IDLE_SECONDS``. Every thread is
a daemon, as the threads this replaces were: none keeps a stopping process alive.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

IDLE_SECONDS = 60.0

Work = tuple[Callable[..., object], tuple[object, ...], threading.Event]


class Workers:
    """Thread-safe. Unbounded: every piece of work starts at once (work items may wait
    for each other, as a step's pumps and watcher do)."""

    def __init__(self, name: str, idle_seconds: float = IDLE_SECONDS) -> None:
        self._name, self._idle_seconds = name, idle_seconds
        self._queue: queue.SimpleQueue[Work] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting for work and not promised any yet
        self._count = 0

    def submit(self, work: Callable[..., object], *args: object) -> threading.Event:
        """Run ``work(*args)`` on an idle thread, else on a new one; the event is set
        once it has returned (or raised: that is logged)."""
        done = threading.Event()
        with self._lock:
            start = self._idle == 0
            if start:
                self._count += 1
                name = f"{self._name}-{self._count}"
            else:
                self._idle -= 1  # promised to one of them
        self._queue.put((work, args, done))
        if start:
            threading.Thread(target=self._serve, name=name, daemon=True).start()
        return done

    def _serve(self) -> None:
        while True:
            try:
                work, args, done = self._queue.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # nobody promised this thread work: it ends
                        self._idle -= 1
                        return
                continue  # work was promised meanwhile: take it
            try:
                work(*args)
            except Exception:
                log.exception("work on a %s thread failed", self._name)
            finally:
                done.set()
            with self._lock:
                self._idle += 1
