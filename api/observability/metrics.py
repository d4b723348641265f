"""Danube's Prometheus metrics (README "Metrics").

Two kinds, so that nothing is counted twice and totals survive restarts:

* **What a process does** (job and step durations it recorded, events it appended, log
  bytes it wrote, Kubernetes calls, webhooks, config syncs, secret reads) lives in the
  process's default registry, and with ``PROMETHEUS_MULTIPROC_DIR`` set in that
  directory's files, summed over the worker processes of one role at scrape time.
* **What the read models say** (jobs by pipeline and final status, timeouts, active
  jobs, the queue, projection lag) is read from the read models at each scrape by the
  API server only: a restart keeps the totals, and several processes never report the
  same job twice.

Labels are bounded: pipeline names come from configuration; never a job, run or commit
id."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from adapters.kubernetes.metrics import default_metrics as kubernetes_metrics
from adapters.sql.metrics import store_metrics
from api.observability.lag import lag_seconds
from api.observability.options import observability_of
from domain.runs.states import ACTIVE, TERMINAL

if TYPE_CHECKING:
    from api.bootstrap import Core

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
DURATION_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400)
REAPED_KINDS = ("logs", "artifacts", "registry_images")
SUBSCRIPTION_KINDS = ("runs", "job", "log")

_default: DanubeMetrics | None = None
_lock = threading.Lock()


class DanubeMetrics:
    """What this process does. Built once per process (``danube_metrics()``)."""

    def __init__(self) -> None:
        self.job_duration = Histogram(
            "danube_job_duration_seconds",
            "Time from a job's start to its end, by pipeline (observed where it ended).",
            ["pipeline"],
            buckets=DURATION_BUCKETS,
        )
        self.step_duration = Histogram(
            "danube_step_duration_seconds",
            "Time from a step's start to its end, by pipeline.",
            ["pipeline"],
            buckets=(0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600),
        )
        self.webhook_deliveries = Counter(
            "danube_webhook_deliveries_total",
            "Webhook deliveries received, by forge and what became of them.",
            ["forge", "result"],
        )
        self.config_sync = Counter(
            "danube_config_sync_total",
            "Config repository syncs by outcome (accepted, unchanged, rejected, "
            "fetch-failed, force-pushed, error).",
            ["status"],
        )
        self.config_sync_last_success = Gauge(
            "danube_config_sync_last_success_timestamp_seconds",
            "When the config repository was last fetched and read without error.",
            multiprocess_mode="max",
        )
        self.secret_requests = Counter(
            "danube_secret_requests_total", "Secret values handed to running jobs."
        )
        self.subscriptions_active = Gauge(
            "danube_subscriptions_active",
            "Live subscriptions open (GraphQL subscriptions and SSE log streams), by kind: "
            "runs (runUpdated), job (jobUpdated), log (logAppended and log streams).",
            ["kind"],
            multiprocess_mode="livesum",
        )
        for kind in SUBSCRIPTION_KINDS:
            self.subscriptions_active.labels(kind)
        # Registered ahead of the feature, so dashboards and alerts can be written now:
        # authentication (issue: OIDC/RBAC) does not exist yet, so this stays 0.
        self.auth_denied = Counter(
            "danube_auth_denied_total",
            "Requests refused: unauthenticated (401) or not allowed (403).",
        )
        # Counted by the reaper (issue 17 part B); 0 for each kind until it frees something.
        self.reaper_freed_bytes = Counter(
            "danube_reaper_freed_bytes_total",
            "Bytes freed by the retention reaper, by kind of data.",
            ["kind"],
        )
        for kind in REAPED_KINDS:
            self.reaper_freed_bytes.labels(kind)
        for status in ("accepted", "unchanged", "rejected", "fetch-failed"):
            self.config_sync.labels(status)
        kubernetes_metrics()  # the pod adapter's, exported (at 0) by every process
        store_metrics()

    def subscription_changed(self, kind: str, change: int) -> None:
        """A live subscription of ``kind`` opened (+1) or closed (-1)."""
        self.subscriptions_active.labels(kind).inc(change)

    def observe_config_sync(self, outcome: str, now: float) -> None:
        self.config_sync.labels(outcome).inc()
        if outcome in ("accepted", "unchanged", "rejected", "force-pushed"):
            self.config_sync_last_success.set(now)  # the same outcomes as SyncHealth


def danube_metrics() -> DanubeMetrics:
    global _default
    if _default is not None:
        return _default
    with _lock:
        if _default is None:
            _default = DanubeMetrics()
        return _default


class ReadModelCollector(Collector):
    """Metrics read from the read models at scrape time (the API server's only)."""

    def __init__(self, danube: Core) -> None:
        self.danube = danube

    def collect(self) -> Iterator[Metric]:
        counts = self._job_counts()
        ended = CounterMetricFamily(
            "danube_jobs",
            "Jobs that ended, by pipeline and final status (from the read models).",
            labels=["pipeline", "status"],
        )
        timeouts = CounterMetricFamily(
            "danube_job_timeouts", "Jobs that ended because they ran out of time."
        )
        for (pipeline, state), count in sorted(counts.items()):
            if state in TERMINAL:
                ended.add_metric([pipeline, state], count)
        timeouts.add_metric([], sum(n for (_, s), n in counts.items() if s == "timeout"))
        yield ended
        yield timeouts
        yield _gauge(
            "danube_active_jobs",
            "Jobs being scheduled or running.",
            sum(n for (_, s), n in counts.items() if s in ACTIVE),
        )
        yield _gauge(
            "danube_job_queue_size",
            "Jobs waiting for capacity.",
            sum(n for (_, s), n in counts.items() if s == "pending"),
        )
        yield from self._lag()

    def _job_counts(self) -> dict[tuple[str, str], int]:
        views = self.danube.store.views
        with views.dialect.read() as cur:
            cur.execute(
                f"SELECT pipeline, state, COUNT(*) FROM {views.table_name('jobs')} "
                "GROUP BY pipeline, state"
            )
            return {(str(p or ""), str(s or "")): int(n) for p, s, n in cur.fetchall()}

    def _lag(self) -> Iterator[Metric]:
        events = GaugeMetricFamily(
            "danube_projection_lag_events",
            "Notifications in the event log not yet folded into the read model "
            "(ids may have gaps on PostgreSQL: an upper bound).",
            labels=["projection"],
        )
        seconds = GaugeMetricFamily(
            "danube_projection_lag_seconds",
            "How long ago the oldest event the read model has not folded happened.",
            labels=["projection"],
        )
        head = self.danube.store.feed.max_position()
        for projection in self.danube.projections:
            position = self.danube.store.views.position(projection.name)
            events.add_metric([projection.name], max(head - position, 0))
            seconds.add_metric([projection.name], lag_seconds(self.danube, position, head))
        yield events
        yield seconds


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


def process_registry() -> CollectorRegistry:
    """This process's metrics; with ``PROMETHEUS_MULTIPROC_DIR``, every process's of
    that directory (the worker processes of one role), summed."""
    danube_metrics()
    if not os.environ.get(MULTIPROC_DIR):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def read_model_registry(danube: Core) -> CollectorRegistry:
    """A registry over the read models, read at scrape time (cheap to make per scrape)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReadModelCollector(danube))
    return registry


def metrics_enabled(danube: Core) -> bool:
    """``observability.metrics_enabled`` of the config in force (default: on)."""
    return observability_of(danube.config.current()).metrics_enabled


def exposition(danube: Core, *, read_models: bool) -> bytes:
    """The text format of this process's metrics (and the read models', when asked)."""
    body = generate_latest(process_registry())
    if read_models:
        body += generate_latest(read_model_registry(danube))
    return body
