"""In-process notification of "the log (or a view) moved to position N"."""

from __future__ import annotations

import threading
import time


class Wakeup:
    """Tracks the highest position announced and wakes threads waiting to see more.

    ``announce()`` without a position means "something may have changed" (e.g. a
    PostgreSQL NOTIFY without payload, or a listener that reconnected): every waiter
    wakes and re-reads."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._position = 0
        self._generation = 0
        self._events: set[threading.Event] = set()

    @property
    def position(self) -> int:
        return self._position

    def announce(self, position: int | None = None) -> None:
        with self._cond:
            if position is not None and position > self._position:
                self._position = position
            self._generation += 1
            self._cond.notify_all()
            for event in self._events:
                event.set()

    def subscribe(self, event: threading.Event) -> None:
        """Set ``event`` on every announcement from now on: one thread can wait for
        whichever of several wakeups moves first (clear it, look, then wait on it)."""
        with self._cond:
            self._events.add(event)

    def unsubscribe(self, event: threading.Event) -> None:
        with self._cond:
            self._events.discard(event)

    def generation(self) -> int:
        return self._generation

    def wait(self, generation: int, timeout: float) -> int:
        """Block until an announcement newer than ``generation`` or ``timeout``;
        returns the current generation."""
        with self._cond:
            if self._generation == generation:
                self._cond.wait(timeout)
            return self._generation

    def wait_for_position(self, position: int, timeout: float) -> bool:
        """Block until ``position`` was announced; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._position < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True
