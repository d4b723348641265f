"""Prometheus metrics of the pod adapter's Kubernetes API use."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

_default: KubernetesMetrics | None = None
_default_lock = threading.Lock()


class KubernetesMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter(
            "danube_k8s_api_calls_total",
            "Kubernetes API calls by operation and HTTP status (error: no response).",
            ["operation", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "danube_k8s_api_call_duration_seconds",
            "Duration of Kubernetes API calls (for streams: until the response started).",
            ["operation"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.pods_active = Gauge(
            "danube_k8s_pods_active",
            "Job pods of this Danube that exist and are not being deleted.",
            registry=registry,
        )

    @contextmanager
    def call(self, operation: str) -> Iterator[CallRecord]:
        record = CallRecord()
        started = time.perf_counter()
        try:
            yield record
        finally:
            self.duration.labels(operation).observe(time.perf_counter() - started)
            self.calls.labels(operation, record.status).inc()


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
