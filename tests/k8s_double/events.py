"""core/v1 Events as the scheduler and the kubelet record them."""

from __future__ import annotations

import time
from typing import Any

from .meta import new_uid, rfc3339
from .store import Store

JsonDict = dict[str, Any]


class EventRecorder:
    def __init__(self, store: Store, node: str) -> None:
        self._store = store
        self._node = node
        self._last = 0

    def pod(
        self,
        pod: JsonDict,
        reason: str,
        message: str,
        *,
        warning: bool = False,
        component: str = "kubelet",
        container: str | None = None,
    ) -> None:
        meta = pod["metadata"]
        namespace = self._store.get("namespaces", "", meta["namespace"])
        if namespace is None or namespace.get("status", {}).get("phase") == "Terminating":
            return
        now = rfc3339()
        involved: JsonDict = {
            "kind": "Pod",
            "namespace": meta["namespace"],
            "name": meta["name"],
            "uid": meta["uid"],
            "apiVersion": "v1",
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        if container is not None:
            involved["fieldPath"] = f"spec.containers{{{container}}}"
        source: JsonDict = {"component": component}
        if component == "kubelet":
            source["host"] = self._node
        event: JsonDict = {
            "kind": "Event",
            "apiVersion": "v1",
            "metadata": {
                "name": f"{meta['name']}.{self._suffix()}",
                "namespace": meta["namespace"],
                "uid": new_uid(),
                "creationTimestamp": now,
            },
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": "Warning" if warning else "Normal",
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": self._node if component == "kubelet" else "",
        }
        self._store.add("events", event)

    def _suffix(self) -> str:
        """Like the real names: hex nanoseconds, so names sort by time."""
        self._last = max(self._last + 1, time.time_ns())
        return f"{self._last:x}"
