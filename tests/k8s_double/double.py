"""KubernetesDouble: the API server + scheduler + kubelet double, on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .cluster import Cluster
from .controls import Faults, KubeletControl
from .execstream import ExecApi
from .faults import FaultState
from .kubelet import Kubelet
from .logs import LogsApi
from .loop import LoopThread
from .meta import clone
from .records import RequestRecord
from .rest import RestApi
from .router import Router
from .server import HttpServer
from .store import Store
from .watch import WatchHub

JsonDict = dict[str, Any]
T = TypeVar("T")


@dataclass
class Parts:
    loop: LoopThread
    store: Store
    faults: FaultState
    cluster: Cluster
    kubelet: Kubelet
    watches: WatchHub
    router: Router
    server: HttpServer


class KubernetesDouble:
    """Starts listening at once; `close()` kills every process and stops the server.

    Everything the client sees is produced in one background event loop; the methods
    here are synchronous and safe to call from tests.
    """

    def __init__(
        self,
        token: str | None = None,
        auto: bool = False,
        *,
        history_size: int = 1000,
        bookmark_interval: float | None = None,
        base_dir: Path | None = None,
    ) -> None:
        self.token = token
        self._closed = False
        self._own_dir = base_dir is None
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="k8s-double-"))
        loop = LoopThread()
        try:
            self._p = loop.run(self._build(loop, history_size))
        except BaseException:
            loop.stop()
            raise
        self.kubelet = KubeletControl(self._p)
        self.faults = Faults(self._p)
        if auto:
            self.kubelet.auto = True
        if bookmark_interval:
            loop.spawn(self._bookmarks(bookmark_interval))

    async def _build(self, loop: LoopThread, history_size: int) -> Parts:
        store = Store(history_size)
        faults = FaultState()
        cluster = Cluster(store, faults)
        kubelet = Kubelet(cluster, self.base_dir, store.notify)
        cluster.kubelet = kubelet
        watches = WatchHub(store, faults)
        router = Router(
            RestApi(cluster),
            watches,
            LogsApi(cluster, kubelet),
            ExecApi(cluster, kubelet, faults),
            faults,
            lambda: self.token,
        )
        server = HttpServer(router.handle)
        await server.start()
        return Parts(loop, store, faults, cluster, kubelet, watches, router, server)

    async def _bookmarks(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self._p.watches.send_bookmarks()

    # connection -----------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._p.server.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_kubeconfig(
        self, path: str | Path, token: str | None = None, namespace: str = "default"
    ) -> Path:
        """A kubeconfig for this double (JSON is YAML); `token` defaults to the double's."""
        user: JsonDict = {}
        if (token or self.token) is not None:
            user["token"] = token or self.token
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "k8s-double", "cluster": {"server": self.url}}],
            "users": [{"name": "k8s-double", "user": user}],
            "contexts": [
                {
                    "name": "k8s-double",
                    "context": {
                        "cluster": "k8s-double",
                        "user": "k8s-double",
                        "namespace": namespace,
                    },
                }
            ],
            "current-context": "k8s-double",
        }
        target = Path(path)
        target.write_text(json.dumps(config, indent=2))
        return target

    # what the client did ----------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        if self._closed:
            return list(self._p.router.records)
        return self._p.loop.call(lambda: list(self._p.router.records))

    def requests_matching(self, **attributes: Any) -> list[RequestRecord]:
        """e.g. requests_matching(verb="create", resource="pods")."""
        return [r for r in self.requests if all(getattr(r, k) == v for k, v in attributes.items())]

    def clear_requests(self) -> None:
        self._p.loop.call(self._p.router.records.clear)

    @property
    def server_errors(self) -> list[str]:
        """Tracebacks of unexpected exceptions in the double (should stay empty)."""
        if self._closed:
            return list(self._p.router.errors)
        return self._p.loop.call(lambda: list(self._p.router.errors))

    # state ----------------------------------------------------------------------------

    def _read(self, fn: Callable[[], Any]) -> Any:
        return self._p.loop.call(lambda: clone(fn()))

    @property
    def resource_version(self) -> int:
        return self._p.loop.call(lambda: self._p.store.rv)

    def pods(self, namespace: str | None = None) -> list[JsonDict]:
        return list(self._read(lambda: self._p.store.list("pods", namespace)))

    def pod(self, namespace: str, name: str) -> JsonDict | None:
        return self._read(lambda: self._p.store.get("pods", namespace, name))  # type: ignore[no-any-return]

    def secrets(self, namespace: str | None = None) -> list[JsonDict]:
        return list(self._read(lambda: self._p.store.list("secrets", namespace)))

    def secret(self, namespace: str, name: str) -> JsonDict | None:
        return self._read(lambda: self._p.store.get("secrets", namespace, name))  # type: ignore[no-any-return]

    def namespaces(self) -> list[JsonDict]:
        return list(self._read(lambda: self._p.store.list("namespaces")))

    def events(self, namespace: str | None = None) -> list[JsonDict]:
        return list(self._read(lambda: self._p.store.list("events", namespace)))

    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> JsonDict:
        body: JsonDict = {"metadata": {"name": name, "labels": dict(labels or {})}}
        return self._read(lambda: self._p.cluster.create("namespaces", "", body))  # type: ignore[no-any-return]

    def container_status(self, namespace: str, name: str, container: str) -> JsonDict | None:
        pod = self.pod(namespace, name)
        status = (pod or {}).get("status") or {}
        for entry in (status.get("initContainerStatuses") or []) + (
            status.get("containerStatuses") or []
        ):
            if entry["name"] == container:
                return entry  # type: ignore[no-any-return]
        return None

    def logs(self, namespace: str, name: str, container: str) -> bytes:
        kubelet = self._p.kubelet
        return self._p.loop.call(lambda: kubelet.runtime(namespace, name).logs[container].data())

    def pod_dir(self, namespace: str, name: str) -> Path:
        """The pod's local sandbox directory (volumes/<name>, containers/<name>)."""
        kubelet = self._p.kubelet

        def find() -> Path:
            sandbox = kubelet.runtime(namespace, name).sandbox
            if sandbox is None:
                raise LookupError(f"pod {namespace}/{name} has no sandbox yet")
            return sandbox.root

        return self._p.loop.call(find)

    def volume_dir(self, namespace: str, name: str, volume: str) -> Path:
        return self.pod_dir(namespace, name) / "volumes" / volume

    # watches --------------------------------------------------------------------------

    @property
    def open_watches(self) -> int:
        return self._p.loop.call(lambda: len(self._p.watches.sessions))

    def send_bookmarks(self) -> int:
        """A BOOKMARK on every open watch that allowed them; returns how many got one."""
        return self._p.loop.call(self._p.watches.send_bookmarks)

    # waiting --------------------------------------------------------------------------

    def wait_for(
        self, predicate: Callable[[], T | None], timeout: float = 10.0, message: str = "condition"
    ) -> T:
        """Poll `predicate` (woken by every change) until it returns something truthy."""
        deadline = time.monotonic() + timeout
        changed = self._p.store.changed
        while True:
            last = predicate()
            if last:
                return last
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"timed out after {timeout}s waiting for {message}; last value: {last!r}"
                )
            with changed:
                changed.wait(min(remaining, 0.05))

    def wait_for_pod(
        self,
        namespace: str,
        name: str,
        predicate: Callable[[JsonDict], Any],
        timeout: float = 10.0,
        message: str = "pod condition",
    ) -> JsonDict:
        def check() -> JsonDict | None:
            pod = self.pod(namespace, name)
            return pod if pod is not None and predicate(pod) else None

        try:
            return self.wait_for(check, timeout, message)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; pod status: {self.pod(namespace, name)!r}") from None

    def wait_for_phase(
        self, namespace: str, name: str, phase: str, timeout: float = 10.0
    ) -> JsonDict:
        return self.wait_for_pod(
            namespace,
            name,
            lambda p: p.get("status", {}).get("phase") == phase,
            timeout,
            f"{namespace}/{name} to be {phase}",
        )

    # lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = self._p.loop
        with contextlib.suppress(Exception):
            loop.run(self._shutdown(), 20)
        loop.stop()
        if self._own_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    async def _shutdown(self) -> None:
        await self._p.server.close()
        await self._p.kubelet.shutdown()
        await self._p.loop.cancel_tasks()
        current = asyncio.current_task()
        others = [t for t in asyncio.all_tasks() if t is not current]
        for task in others:
            task.cancel()
        if others:
            await asyncio.wait(others, timeout=5)

    def __enter__(self) -> KubernetesDouble:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
