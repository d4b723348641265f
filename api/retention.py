"""The reaper, composed: the log and artifact stores and the registry behind its ports,
the retention days of the config in force, the daily schedule as a supervised worker,
and the freed-bytes counter ``danube_reaper_freed_bytes_total{kind}``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from adapters.artifacts.filesystem import FilesystemArtifactStore
from adapters.cron.croniter_schedule import CroniterSchedule
from adapters.registry.distribution import DistributionRegistry
from adapters.sql.logstore import SqlLogStore
from api.bootstrap import Core
from api.observability.metrics import danube_metrics
from domain.config.application import ConfigService
from domain.retention.reaper import Reaper, RetentionDays
from domain.retention.schedule import ReaperSchedule

log = logging.getLogger(__name__)


def on_reaped(kind: str, size: int) -> None:
    """Freed bytes by kind (logs, artifacts, registry_images), for /metrics."""
    danube_metrics().reaper_freed_bytes.labels(kind).inc(size)


class StoredLogs:
    """The ``JobData`` port over the log store."""

    def __init__(self, store: SqlLogStore) -> None:
        self._store = store

    def size(self, job_id: str) -> int:
        return self._store.size(job_id)

    def names(self, job_id: str) -> list[str]:
        return []

    def delete(self, job_id: str) -> int:
        return self._store.delete(job_id)


class StoredArtifacts:
    """The ``JobData`` port over the artifact store."""

    def __init__(self, store: FilesystemArtifactStore) -> None:
        self._store = store

    def size(self, job_id: str) -> int:
        return sum(artifact.size for artifact in self._store.list(job_id))

    def names(self, job_id: str) -> list[str]:
        return [artifact.name for artifact in self._store.list(job_id)]

    def delete(self, job_id: str) -> int:
        return self._store.delete(job_id)


def retention_days(configs: ConfigService) -> RetentionDays:
    """``retention`` of the config in force; the defaults before the first config."""
    config = configs.current()
    if config is None:
        return RetentionDays()
    days = config.settings.retention
    return RetentionDays(days.logs_days, days.artifacts_days, days.registry_images_days)


def build_reaper(
    danube: Core, artifacts: FilesystemArtifactStore, clock: Callable[[], datetime] | None = None
) -> Reaper:
    """The reaper over the core's stores and ``artifacts``: no key material."""
    url = danube.settings.registry_url
    return Reaper(
        danube.store.log,
        danube.runs,
        danube.views,
        danube.views,
        StoredLogs(danube.store.logs),
        StoredArtifacts(artifacts),
        DistributionRegistry(url) if url else None,
        clock or (lambda: datetime.now(UTC)),
        on_reaped,
    )


def reaper_loop(
    danube: Core, artifacts: FilesystemArtifactStore, clock: Callable[[], datetime] | None = None
) -> Callable[[threading.Event], None]:
    """About once a minute: reap when the scheduled minute (``reaper_schedule``) came."""
    now = clock or (lambda: datetime.now(UTC))
    schedule = ReaperSchedule(
        danube.store.log, danube.settings.reaper_schedule, CroniterSchedule.for_trigger, now
    )
    reaper = build_reaper(danube, artifacts, now)

    def work(stopping: threading.Event) -> None:
        while not stopping.is_set():
            try:
                cause = schedule.due()
                if cause is not None:
                    report = reaper.reap(retention_days(danube.config), cause)
                    log.info("reaper: freed %s; %d problems", report.freed(), len(report.errors))
            except Exception:  # the next scheduled pass may work
                log.exception("the reaper's scheduled pass failed")
            moment = now()
            stopping.wait(60.5 - moment.second - moment.microsecond / 1e6)

    return work
