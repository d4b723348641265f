"""A real output sink for the tests: records every (stream, bytes) write, thread-safely."""

from __future__ import annotations

import threading

from domain.execution.ports import Stream


class RecordingSink:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._writes: list[tuple[Stream, bytes]] = []

    def write(self, stream: Stream, data: bytes) -> None:
        assert isinstance(data, bytes)
        with self._lock:
            self._writes.append((stream, data))

    def writes(self) -> list[tuple[Stream, bytes]]:
        with self._lock:
            return list(self._writes)

    def data(self, stream: Stream) -> bytes:
        return b"".join(chunk for s, chunk in self.writes() if s is stream)

    def everything(self) -> bytes:
        return b"".join(chunk for _, chunk in self.writes())

    def system_text(self) -> str:
        return self.data(Stream.SYSTEM).decode()
