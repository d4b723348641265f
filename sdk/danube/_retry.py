"""How long and how often to retry a call that failed transiently."""

from __future__ import annotations

import random
import time
from typing import Protocol

from danube.errors import MasterUnavailableError

INITIAL_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 2.0


class Clock(Protocol):
    """Time source for retries; tests may inject one."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class RetryBudget:
    """The retry window of one call.

    The window opens with `start()` (a unary call opens it when the call begins) or at
    the first failure, and `progress()` closes it again: a RunStep stream that keeps
    delivering messages may run for hours and still gets a full budget after a break.
    `failed()` sleeps an exponential, jittered backoff, or raises `MasterUnavailableError`
    once the window has lasted `seconds`.
    """

    def __init__(self, seconds: float, address: str, clock: Clock) -> None:
        self._seconds = seconds
        self._address = address
        self._clock = clock
        self._deadline: float | None = None
        self._backoff = INITIAL_BACKOFF_SECONDS

    def start(self) -> None:
        """Open the window now, if it is not open yet."""
        if self._deadline is None:
            self._deadline = self._clock.monotonic() + self._seconds

    def progress(self) -> None:
        """The master answered: the next failure opens a fresh window."""
        self._deadline = None
        self._backoff = INITIAL_BACKOFF_SECONDS

    def remaining(self) -> float:
        """Seconds left in the open window (the full budget when none is open)."""
        if self._deadline is None:
            return self._seconds
        return max(0.0, self._deadline - self._clock.monotonic())

    def failed(self, call: str, cause: str) -> None:
        """Record a transient failure of `call`: back off, or give up when out of time."""
        self.start()
        remaining = self.remaining()
        if remaining <= 0:
            raise MasterUnavailableError(
                f"could not reach the Danube master at {self._address} (calling {call}, "
                f"retried for {self._seconds:g}s); last error: {cause}"
            )
        delay = self._backoff * random.uniform(0.5, 1.0)
        self._backoff = min(self._backoff * 2, MAX_BACKOFF_SECONDS)
        self._clock.sleep(min(delay, remaining))
