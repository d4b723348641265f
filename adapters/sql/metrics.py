"""Prometheus metrics of the store: events appended, log bytes written, and how long
database work takes. Counted in the process that does the work, in the default registry
(or, with ``PROMETHEUS_MULTIPROC_DIR`` set, in that directory's files)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import REGISTRY, Counter, Histogram

_default: StoreMetrics | None = None
_lock = threading.Lock()


class StoreMetrics:
    def __init__(self) -> None:
        self.events_appended = Counter(
            "danube_events_appended_total",
            "Events appended to the event log by this process.",
            registry=REGISTRY,
        )
        self.log_bytes = Counter(
            "danube_log_bytes_written_total",
            "Bytes of job output written to the log store by this process.",
            registry=REGISTRY,
        )
        self.queries = Histogram(
            "danube_db_query_duration_seconds",
            "Database transactions by kind: append (event log), read and write "
            "(read models, logs, keys).",
            ["operation"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
            registry=REGISTRY,
        )

    @contextmanager
    def timed(self, operation: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.queries.labels(operation).observe(time.perf_counter() - started)


def store_metrics() -> StoreMetrics:
    """One set per process, built on first use (nothing is registered at import)."""
    global _default
    if _default is not None:  # every transaction asks: no lock once built
        return _default
    with _lock:
        if _default is None:
            _default = StoreMetrics()
        return _default
