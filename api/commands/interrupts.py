"""SIGINT (Ctrl-C) and SIGTERM as requests a command polls, rather than exceptions
raised wherever the main thread happens to be (half-way through a database call)."""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    """While entered, SIGINT and SIGTERM are counted instead of ending the process; the
    previous handlers come back on exit. ``exit_code`` is the shell's 128 + signal
    number of the first one (130 for Ctrl-C, 143 for SIGTERM)."""

    def __init__(self) -> None:
        self.received: list[signal.Signals] = []
        self.event = threading.Event()
        self._previous: dict[signal.Signals, object] = {}

    def __enter__(self) -> Interrupts:
        for sig in SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signal.Signals(signum))
        self.event.set()

    @property
    def count(self) -> int:
        return len(self.received)

    @property
    def first(self) -> signal.Signals | None:
        return self.received[0] if self.received else None

    @property
    def exit_code(self) -> int:
        return 128 + int(self.first) if self.first is not None else 0
