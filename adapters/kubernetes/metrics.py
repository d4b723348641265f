"""Prometheus metrics of the pod adapter's Kubernetes API use.

Calls are counted as ``danube_k8s_api_calls_total{verb,resource,code}`` in the API
server's own words (RBAC verbs and resources: ``create``/``pods``, ``get``/``pods/log``,
``create``/``pods/exec``), so they read like the API server's audit log. ``code`` is the
HTTP status, or ``error`` when no response came."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

_default: KubernetesMetrics | None = None
_default_lock = threading.Lock()

# The client's operation names that do not follow ``<verb>_<resource>``.
_SPECIAL = {
    "exec": ("create", "pods/exec"),
    "read_pod_log": ("get", "pods/log"),
    "watch_pods": ("watch", "pods"),
}
_VERBS = {"read": "get"}


def verb_and_resource(operation: str) -> tuple[str, str]:
    """``create_pod`` -> (``create``, ``pods``); ``list_secrets`` -> (``list``, ``secrets``)."""
    if operation in _SPECIAL:
        return _SPECIAL[operation]
    verb, _, resource = operation.partition("_")
    if not resource:
        return verb, ""
    return _VERBS.get(verb, verb), resource if resource.endswith("s") else resource + "s"


class KubernetesMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter(
            "danube_k8s_api_calls_total",
            "Kubernetes API calls by verb, resource and HTTP status (error: no response).",
            ["verb", "resource", "code"],
            registry=registry,
        )
        self.duration = Histogram(
            "danube_k8s_api_call_duration_seconds",
            "Duration of Kubernetes API calls (for streams: until the response started).",
            ["verb", "resource"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.pods_active = Gauge(
            "danube_k8s_pods_active",
            "Job pods of this Danube that exist and are not being deleted.",
            registry=registry,
            multiprocess_mode="livesum",
        )

    @contextmanager
    def call(self, operation: str) -> Iterator[CallRecord]:
        record = CallRecord()
        verb, resource = verb_and_resource(operation)
        started = time.perf_counter()
        try:
            yield record
        finally:
            self.duration.labels(verb, resource).observe(time.perf_counter() - started)
            self.calls.labels(verb, resource, record.status).inc()


class CallRecord:
    """What the caller learnt about one call: its HTTP status, or "error"."""

    def __init__(self) -> None:
        self.status = "error"


def default_metrics() -> KubernetesMetrics:
    """One set of metrics in the default registry per process, built on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = KubernetesMetrics(REGISTRY)
        return _default
