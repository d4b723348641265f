"""The object store: one global resourceVersion, a bounded event history, listeners.

Lives in the double's loop thread. Every write bumps the global resourceVersion (kept
as an int here, served as a string) and appends a `Change` to the history that watches
replay from. When the history overflows, or a test compacts it, older versions become
"too old" (410 Expired).

Copy on write: an object handed to the store is the store's and is never changed
afterwards (every writer builds a new object, sharing what it does not change), so the
history and the watches hold the stored objects themselves instead of copies.
"""

from __future__ import annotations

import builtins
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]
Key = tuple[str, str]


@dataclass(frozen=True)
class Change:
    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    resource: str
    namespace: str
    name: str
    obj: JsonDict
    old: JsonDict | None


class Store:
    def __init__(self, history_size: int = 1000) -> None:
        self.rv = 1
        self.compacted = 1
        self._objects: dict[str, dict[Key, JsonDict]] = {}
        self._history: deque[Change] = deque()
        self._history_size = history_size
        self._listeners: list[Callable[[Change], None]] = []
        self.changed = threading.Condition()

    # reads ------------------------------------------------------------------------

    def get(self, resource: str, namespace: str, name: str) -> JsonDict | None:
        return self._objects.get(resource, {}).get((namespace, name))

    def list(self, resource: str, namespace: str | None = None) -> list[JsonDict]:
        items = self._objects.get(resource, {})
        keys = sorted(k for k in items if namespace is None or k[0] == namespace)
        return [items[k] for k in keys]

    def since(self, rv: int) -> builtins.list[Change]:
        return [c for c in self._history if c.rv > rv]

    # writes -----------------------------------------------------------------------

    def add(self, resource: str, obj: JsonDict) -> JsonDict:
        return self._write("ADDED", resource, obj, None)

    def modify(self, resource: str, obj: JsonDict) -> JsonDict:
        meta = obj["metadata"]
        old = self.get(resource, meta.get("namespace", ""), meta["name"])
        return self._write("MODIFIED", resource, obj, old)

    def remove(self, resource: str, namespace: str, name: str) -> JsonDict:
        old = self._objects.get(resource, {}).get((namespace, name))
        if old is None:
            raise KeyError((resource, namespace, name))
        return self._write("DELETED", resource, {**old, "metadata": {**old["metadata"]}}, old)

    def _write(self, kind: str, resource: str, obj: JsonDict, old: JsonDict | None) -> JsonDict:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        namespace, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
        table = self._objects.setdefault(resource, {})
        if kind == "DELETED":
            table.pop((namespace, name), None)
        else:
            table[(namespace, name)] = obj
        change = Change(self.rv, kind, resource, namespace, name, obj, old)
        self._history.append(change)
        while len(self._history) > self._history_size:
            self.compacted = self._history.popleft().rv
        for listener in list(self._listeners):
            listener(change)
        self.notify()
        return obj

    def compact(self) -> None:
        """Forget the history: every version older than the current one is too old."""
        self._history.clear()
        self.compacted = self.rv

    # listeners ----------------------------------------------------------------------

    def subscribe(self, listener: Callable[[Change], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Change], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def notify(self) -> None:
        """Wake up threads waiting in `KubernetesDouble.wait_for`."""
        with self.changed:
            self.changed.notify_all()
