"""The pod adapter's Kubernetes API client: built per adapter from a kubeconfig file and
context, or in-cluster, never through the client's process-global configuration.

Every call goes through ``KubeApi.call``: a metric per attempt, retries with backoff and
jitter for 429/5xx and broken connections, honouring Retry-After (urllib3's own silent
retries are switched off so these are the only ones). Objects are plain dicts.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from kubernetes import config
from kubernetes.client import ApiClient, Configuration, CoreV1Api
from kubernetes.watch.watch import iter_resp_lines
from urllib3.util.retry import Retry

from adapters.kubernetes.errors import ApiError, Backoff, api_error
from adapters.kubernetes.metrics import KubernetesMetrics

T = TypeVar("T")
Obj = dict[str, Any]


@dataclass(frozen=True)
class ClientSettings:
    kubeconfig: str = ""  # empty: in-cluster
    context: str = ""
    request_timeout: float = 30.0
    retry_for: float = 120.0  # how long one call keeps retrying
    pool_size: int = 128  # connections kept: one per API worker


def new_api_client(settings: ClientSettings) -> ApiClient:
    configuration = _configuration(settings)
    configuration.retries = Retry(total=0, read=False, redirect=False, raise_on_status=False)
    configuration.connection_pool_maxsize = settings.pool_size
    return ApiClient(configuration)


def api_server_url(settings: ClientSettings) -> str:
    """The API server these settings lead to (read from the kubeconfig or the pod's
    environment; nothing is contacted)."""
    return str(_configuration(settings).host)


def _configuration(settings: ClientSettings) -> Configuration:
    configuration = Configuration()
    if settings.kubeconfig:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=settings.kubeconfig,
            context=settings.context or None,
            client_configuration=configuration,
            persist_config=False,
        )
    else:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return configuration


class KubeApi:
    def __init__(
        self,
        api_client: ApiClient,
        metrics: KubernetesMetrics,
        settings: ClientSettings,
        stopping: threading.Event,
        backoff: Backoff | None = None,
    ) -> None:
        self.api_client = api_client
        self.core = CoreV1Api(api_client)
        self.metrics = metrics
        self.settings = settings
        self.stopping = stopping
        self.backoff = backoff or Backoff()

    @property
    def timeout(self) -> tuple[float, float]:
        return (min(10.0, self.settings.request_timeout), self.settings.request_timeout)

    def call(
        self,
        operation: str,
        fn: Callable[[], T],
        retry_for: float | None = None,
        ok: str | None = None,
    ) -> T:
        """``fn()``, retried while the failure is retryable and time is left; ``ok`` is
        the status recorded on success (default: the response's)."""
        deadline = time.monotonic() + (self.settings.retry_for if retry_for is None else retry_for)
        attempt = 0
        while True:
            with self.metrics.call(operation) as record:
                try:
                    result = fn()
                    record.status = ok or str(getattr(result, "status", 200))
                    return result
                except Exception as raw:
                    error = api_error(raw)
                    record.status = str(error.status) if error.status else "error"
            delay = self.backoff.delay(attempt, error.retry_after)
            if not error.retryable or time.monotonic() + delay > deadline:
                raise error from None
            if self.stopping.wait(delay):
                raise error
            attempt += 1

    def _json(self, operation: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Obj:
        kwargs.update(_preload_content=False, _request_timeout=self.timeout)
        response = self.call(operation, lambda: fn(*args, **kwargs))
        try:
            body: Obj = json.loads(response.data)
            return body
        finally:
            response.release_conn()

    # objects ---------------------------------------------------------------------------

    def create_pod(self, namespace: str, body: Obj) -> Obj:
        return self._json("create_pod", self.core.create_namespaced_pod, namespace, body)

    def create_secret(self, namespace: str, body: Obj) -> Obj:
        return self._json("create_secret", self.core.create_namespaced_secret, namespace, body)

    def read_pod(self, namespace: str, name: str) -> Obj | None:
        return self._maybe(
            lambda: self._json("read_pod", self.core.read_namespaced_pod, name, namespace)
        )

    def read_secret(self, namespace: str, name: str) -> Obj | None:
        return self._maybe(
            lambda: self._json("read_secret", self.core.read_namespaced_secret, name, namespace)
        )

    def patch_secret(self, namespace: str, name: str, patch: Obj) -> Obj:
        return self._json("patch_secret", self.core.patch_namespaced_secret, name, namespace, patch)

    def delete_pod(self, namespace: str, name: str, uid: str, grace: int | None = None) -> bool:
        """Delete this pod (``uid``: never a namesake); False if it was not there."""
        return self._delete(
            "delete_pod", self.core.delete_namespaced_pod, namespace, name, uid, grace
        )

    def delete_secret(self, namespace: str, name: str, uid: str) -> bool:
        fn = self.core.delete_namespaced_secret
        return self._delete("delete_secret", fn, namespace, name, uid, None)

    def _delete(
        self,
        operation: str,
        fn: Callable[..., Any],
        namespace: str,
        name: str,
        uid: str,
        grace: int | None,
    ) -> bool:
        body: Obj = {"preconditions": {"uid": uid}}
        if grace is not None:
            body["gracePeriodSeconds"] = grace
        extra = {} if grace is None else {"grace_period_seconds": grace}
        try:
            self._json(operation, fn, name, namespace, body=body, **extra)
        except ApiError as error:
            if error.status == 404:
                return False
            if error.status == 409:  # another object of that name now: not ours to delete
                return False
            raise
        return True

    def list(self, kind: str, namespace: str, selector: str) -> tuple[list[Obj], str]:
        """The matching objects and the list's resourceVersion."""
        fn = self.core.list_namespaced_pod if kind == "pods" else self.core.list_namespaced_secret
        body = self._json(f"list_{kind}", fn, namespace, label_selector=selector)
        return list(body.get("items") or []), str(body["metadata"]["resourceVersion"])

    @staticmethod
    def _maybe(fn: Callable[[], Obj]) -> Obj | None:
        try:
            return fn()
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    # streams --------------------------------------------------------------------------

    def watch_pods(
        self, namespace: str, selector: str, version: str, server_timeout: int, read_timeout: float
    ) -> Stream:
        """A watch from ``version``; iterate it for events, ``close()`` it from any thread."""
        response = self.call(
            "watch_pods",
            lambda: self.core.list_namespaced_pod(
                namespace,
                label_selector=selector,
                watch=True,
                resource_version=version,
                allow_watch_bookmarks=True,
                timeout_seconds=server_timeout,
                _preload_content=False,
                _request_timeout=(min(10.0, read_timeout), read_timeout),
            ),
            retry_for=0,
        )
        return Stream(response)

    def pod_log(
        self,
        namespace: str,
        name: str,
        container: str,
        read_timeout: float,
        since_seconds: int | None = None,
    ) -> Stream:
        response = self.call(
            "read_pod_log",
            lambda: self.core.read_namespaced_pod_log(
                name,
                namespace,
                container=container,
                follow=True,
                since_seconds=since_seconds,
                _preload_content=False,
                _request_timeout=(min(10.0, read_timeout), read_timeout),
            ),
            retry_for=0,
        )
        return Stream(response)

    def close(self) -> None:
        self.api_client.close()  # type: ignore[no-untyped-call]


class Stream:
    """A streaming response: its chunks or lines as they arrive."""

    def __init__(self, response: Any) -> None:
        self._response = response

    def chunks(self) -> Iterator[bytes]:
        yield from self._response.stream(amt=None, decode_content=False)

    def events(self) -> Iterator[Obj]:
        for line in iter_resp_lines(self._response):  # type: ignore[no-untyped-call]
            if line.strip():
                yield json.loads(line)

    def interrupt(self) -> None:
        """End the stream from another thread: a reader blocked on it fails at once
        (closing the response would wait for the reader's lock)."""
        connection = getattr(self._response, "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """From the reading thread, when done."""
        with contextlib.suppress(Exception):
            self._response.close()
        with contextlib.suppress(Exception):
            self._response.release_conn()
