"""A watch consumed in a background thread, so a test can act while it runs."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import watch

from tests.k8s_double import KubernetesDouble


class WatchRecorder:
    def __init__(
        self, double: KubernetesDouble, func: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> None:
        self.double = double
        self.watch = watch.Watch()
        self.items: queue.Queue[tuple[str, Any]] = queue.Queue()
        kwargs.setdefault("_request_timeout", 10)
        self._thread = threading.Thread(target=self._run, args=(func, args, kwargs), daemon=True)
        self.ended = threading.Event()

    def _run(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            for event in self.watch.stream(func, *args, **kwargs):
                self.items.put(("event", event))
            self.items.put(("end", None))
        except BaseException as exc:  # handed to the test
            self.items.put(("error", exc))
        finally:
            self.ended.set()

    def start(self, open_watches: int = 1) -> WatchRecorder:
        self._thread.start()
        self.double.wait_for(
            lambda: self.double.open_watches >= open_watches, message="the watch to be open"
        )
        return self

    def next(self, timeout: float = 5.0) -> tuple[str, Any]:
        return self.items.get(timeout=timeout)

    def event(self, timeout: float = 5.0) -> dict[str, Any]:
        kind, item = self.next(timeout)
        assert kind == "event", (kind, item)
        return item  # type: ignore[no-any-return]

    def events(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        return [self.event(timeout) for _ in range(count)]

    def stop(self) -> None:
        self.watch.stop()
        self._thread.join(10)


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["raw_object"]["metadata"].get("name", "")) for e in events]
