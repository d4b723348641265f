"""The reaper: removes job logs older than ``retention.logs_days``, artifacts older than
``retention.artifacts_days`` and registry images older than
``retention.registry_images_days``, counted from when the job ended (images: from
their ``created`` time).

Invariants: only ended jobs' data is touched (the read model's ended jobs, and the Run
aggregate refuses the record for a job that has not ended), and no image a queued or
running job names; every removal is recorded before the bytes are deleted, so nothing
is gone without its record (a crash in between leaves a record whose data the next pass
deletes); a dry run records and deletes nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID, uuid4

from domain.cause import Cause
from domain.eventlog import EventLog
from domain.ids import JobId, RunId
from domain.retention.aggregates import Reaping
from domain.retention.ports import EndedJob, EndedJobs, Image, JobData, Registry, RegistryError
from domain.runs.application import RunsService
from domain.runs.errors import RunsError

log = logging.getLogger(__name__)

LOGS, ARTIFACTS, IMAGES = "logs", "artifacts", "registry_images"


@dataclass(frozen=True)
class RetentionDays:
    logs_days: int = 30
    artifacts_days: int = 30
    registry_images_days: int = 90

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Removal:
    kind: str  # logs | artifacts | registry_images
    what: str  # a job id, or repository@digest
    detail: str  # for people: pipeline and end, or tags and creation
    size: int


@dataclass
class ReapReport:
    dry_run: bool
    removals: list[Removal] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reaping_id: str = ""

    def freed(self) -> dict[str, int]:
        totals = dict.fromkeys((LOGS, ARTIFACTS, IMAGES), 0)
        for removal in self.removals:
            totals[removal.kind] += removal.size
        return totals


class QueuedOrRunning(Protocol):
    @property
    def spec(self) -> Mapping[str, Any] | None: ...


class ActiveJobs(Protocol):
    def active_jobs(self) -> Sequence[QueuedOrRunning]: ...
    def queued_jobs(self) -> Sequence[QueuedOrRunning]: ...


class Reaper:
    def __init__(
        self,
        log_: EventLog,
        runs: RunsService,
        jobs: EndedJobs,
        active: ActiveJobs,
        logs: JobData,
        artifacts: JobData,
        registry: Registry | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_reaped: Callable[[str, int], None] = lambda kind, size: None,
    ) -> None:
        self._log, self._runs, self._jobs, self._active = log_, runs, jobs, active
        self._logs, self._artifacts, self._registry = logs, artifacts, registry
        self._clock, self._on_reaped = clock, on_reaped

    def reap(self, days: RetentionDays, cause: Cause, *, dry_run: bool = False) -> ReapReport:
        now = self._clock()
        reaping = uuid4()
        report = ReapReport(dry_run=dry_run, reaping_id="" if dry_run else reaping.hex)
        if not dry_run:
            self._log.create(Reaping.start(reaping, days.as_dict(), cause.to_dict()))
        for kind, store, keep in (
            (LOGS, self._logs, days.logs_days),
            (ARTIFACTS, self._artifacts, days.artifacts_days),
        ):
            cutoff, policy = now - timedelta(days=keep), f"retention.{kind}_days={keep}"
            self._reap_jobs(kind, store, cutoff, policy, reaping, report)
        if self._registry is not None:
            self._reap_images(now - timedelta(days=days.registry_images_days), reaping, report)
        if not dry_run:
            freed = report.freed()
            self._log.update(Reaping, reaping, lambda r: r.finish(freed))
        return report

    # ---- job logs and artifacts ------------------------------------------------------

    def _reap_jobs(
        self,
        kind: str,
        store: JobData,
        cutoff: datetime,
        policy: str,
        reaping: UUID,
        report: ReapReport,
    ) -> None:
        for job in self._jobs.ended_jobs_before(cutoff.isoformat()):
            reaped = job.log_reaped if kind == LOGS else job.artifacts_reaped
            try:
                size = store.size(job.id)
                if size == 0 and not store.names(job.id):
                    continue
                if reaped and not report.dry_run:  # recorded, then interrupted: finish it
                    store.delete(job.id)
                    continue
                if reaped:
                    continue
                detail = f"pipeline {job.pipeline}, ended {job.finished_at}"
                report.removals.append(Removal(kind, job.id, detail, size))
                if not report.dry_run:
                    self._record(kind, job, store, policy, size, reaping)
                    self._on_reaped(kind, store.delete(job.id))
            except (RunsError, OSError) as error:
                report.errors.append(f"{kind} of job {job.id}: {error}")

    def _record(
        self, kind: str, job: EndedJob, store: JobData, policy: str, size: int, reaping: UUID
    ) -> None:
        run_id, job_id = RunId(UUID(job.run_id)), JobId(UUID(job.id))
        if kind == LOGS:
            self._runs.reap_log(run_id, job_id, policy, size, reaping.hex)
        else:
            names = store.names(job.id)
            self._runs.reap_artifacts(
                run_id, job_id, names, policy=policy, size=size, reaping=reaping.hex
            )

    # ---- registry images -------------------------------------------------------------

    def _reap_images(self, cutoff: datetime, reaping: UUID, report: ReapReport) -> None:
        assert self._registry is not None
        in_use = self._images_in_use()
        try:
            images = list(self._registry.images())
        except RegistryError as error:
            report.errors.append(f"registry: {error}")
            return
        for image in images:
            if image.created is None or image.created >= cutoff or _used(image, in_use):
                continue
            tags = ", ".join(image.tags)
            detail = f"tags {tags}, created {image.created.isoformat()}"
            removal = Removal(IMAGES, f"{image.repository}@{image.digest}", detail, image.size)
            report.removals.append(removal)
            if report.dry_run:
                continue
            self._log.update(Reaping, reaping, _deleted(image))
            try:
                self._registry.delete(image.repository, image.digest)
            except RegistryError as error:
                report.errors.append(f"registry image {removal.what}: {error}")
                continue
            self._on_reaped(IMAGES, image.size)

    def _images_in_use(self) -> set[str]:
        jobs: Iterable[QueuedOrRunning] = [*self._active.active_jobs(), *self._active.queued_jobs()]
        return {str((job.spec or {}).get("image", "")) for job in jobs} - {""}


def _deleted(image: Image) -> Callable[[Reaping], bool]:
    created = image.created or datetime.min.replace(tzinfo=UTC)
    return lambda reaping: reaping.image_deleted(
        image.repository, image.digest, list(image.tags), created, image.size
    )


def _used(image: Image, in_use: set[str]) -> bool:
    """A queued or running job names this image (by tag or digest, any registry host)."""
    names = {f"{image.repository}@{image.digest}"} | {f"{image.repository}:{t}" for t in image.tags}
    return any(used == name or used.endswith(f"/{name}") for used in in_use for name in names)
