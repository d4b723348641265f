"""The pods of this Danube, as the API server last told us: list, then watch from the
list's resourceVersion, tracking every event's version, so a broken or stalled watch
resumes where it stopped; when that version is too old (410 Gone) the list is taken
again. Listeners hear every change; readers get the latest object of each pod.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from adapters.kubernetes.client import KubeApi, Obj, Stream
from adapters.kubernetes.errors import ApiError, Backoff

log = logging.getLogger(__name__)

Listener = Callable[[str, Obj | None], None]  # pod name, pod (None: deleted)


class ResourceExpiredError(Exception):
    """The watch's resourceVersion is too old: list again."""


class PodInformer:
    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        selector: str,
        listener: Listener,
        *,
        server_timeout: int = 300,
        read_timeout: float = 60.0,
    ) -> None:
        self._api, self._namespace, self._selector = api, namespace, selector
        self._listener = listener
        self._server_timeout, self._read_timeout = server_timeout, read_timeout
        self._pods: dict[str, Obj] = {}
        self._lock = threading.Lock()
        self._synced = threading.Event()
        self._stream: Stream | None = None
        self._version: str | None = None
        self._thread = threading.Thread(target=self._run, name="k8s-pod-informer", daemon=True)
        self.relists = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        stream = self._stream
        if stream is not None:
            stream.interrupt()
        self._thread.join(5)

    def wait_synced(self, timeout: float) -> bool:
        return self._synced.wait(timeout)

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    @property
    def resource_version(self) -> str | None:
        """Where the next watch starts: the last version an event or bookmark carried."""
        return self._version

    def get(self, name: str) -> Obj | None:
        with self._lock:
            return self._pods.get(name)

    def pods(self) -> list[Obj]:
        with self._lock:
            return list(self._pods.values())

    def offer(self, pod: Obj) -> None:
        """A pod we just created: known before the watch reports it."""
        name = pod["metadata"]["name"]
        with self._lock:
            if name in self._pods:
                return
            self._pods[name] = pod
        self._listener(name, pod)

    # the loop -------------------------------------------------------------------------

    def _run(self) -> None:
        backoff, failures = Backoff(base=0.1, cap=5.0), 0
        while not self._api.stopping.is_set():
            try:
                if self._version is None:
                    self._relist()
                self._watch()
                failures = 0
            except ResourceExpiredError:
                self._version = None
            except ApiError as error:
                if error.status == 410:
                    self._version = None
                    continue
                log.warning("watching pods failed (%s); retrying", error.explain())
                delay = backoff.delay(failures, error.retry_after)
                failures += 1
                self._api.stopping.wait(delay)
            except Exception as error:  # a dropped or timed-out stream: resume from the version
                log.debug("pod watch ended: %s", error)
                delay = backoff.delay(failures, None)
                failures += 1
                self._api.stopping.wait(delay)

    def _relist(self) -> None:
        items, version = self._api.list("pods", self._namespace, self._selector)
        fresh = {pod["metadata"]["name"]: pod for pod in items}
        with self._lock:
            gone = [name for name in self._pods if name not in fresh]
            self._pods = dict(fresh)
        self._version = version
        self.relists += 1
        for name in gone:
            self._listener(name, None)
        for name, pod in fresh.items():
            self._listener(name, pod)
        self._synced.set()

    def _watch(self) -> None:
        assert self._version is not None
        stream = self._api.watch_pods(
            self._namespace,
            self._selector,
            self._version,
            self._server_timeout,
            self._read_timeout,
        )
        self._stream = stream
        try:
            for event in stream.events():
                if self._api.stopping.is_set():
                    return
                self._apply(event)
        finally:
            self._stream = None
            stream.close()

    def _apply(self, event: dict[str, Any]) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise ResourceExpiredError(obj.get("message", ""))
            raise ApiError(int(obj.get("code") or 0), str(obj.get("message", "watch error")))
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if kind == "BOOKMARK":  # a plain object: only its version matters
            self._version = str(version) if version else self._version
            return
        name = obj["metadata"]["name"]
        with self._lock:
            if kind == "DELETED":
                self._pods.pop(name, None)
            else:
                self._pods[name] = obj
        if version:
            self._version = str(version)
        self._listener(name, None if kind == "DELETED" else obj)
