"""What queries answer: typed, allow-listed results. Each result names its fields
explicitly and is built field by field, so a column added to a read model (sealed step
material, say) never reaches a caller unless a result here names it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.runs.aggregates import Run
from domain.runs.states import JobState, StepState
from projections.runs_view import ArtifactView, JobView, RunView, StepView

_LABELS = {
    JobState.PENDING: "Queued",
    JobState.SCHEDULING: "Starting",
    JobState.RUNNING: "Running",
    JobState.SUCCESS: "Succeeded",
    JobState.FAILURE: "Failed",
    JobState.TIMEOUT: "Timed out",
    JobState.CANCELLED: "Cancelled",
}


@dataclass(frozen=True)
class Status:
    """A state as a UI shows it."""

    label: str
    terminal: bool

    @classmethod
    def of(cls, state: JobState | StepState) -> Status:
        job_state = JobState(state.value)
        return cls(label=_LABELS[job_state], terminal=job_state.is_terminal)


@dataclass(frozen=True)
class StepResult:
    job_id: str
    number: int
    name: str
    command: str
    image: str
    state: StepState
    exit_code: int | None
    log_start: int | None
    log_end: int | None
    reason: str
    started_at: str
    finished_at: str | None
    timeout_seconds: float

    @classmethod
    def of(cls, view: StepView) -> StepResult:
        return cls(
            job_id=view.job_id,
            number=view.number,
            name=view.name,
            command=view.command,
            image=view.image,
            state=StepState(view.state),
            exit_code=view.exit_code,
            log_start=view.log_start,
            log_end=view.log_end,
            reason=view.reason,
            started_at=view.started_at,
            finished_at=view.finished_at,
            timeout_seconds=view.timeout_seconds,
        )


@dataclass(frozen=True)
class ArtifactResult:
    job_id: str
    name: str
    kind: str
    size: int
    sha256: str
    uploaded_at: str | None

    @classmethod
    def of(cls, view: ArtifactView) -> ArtifactResult:
        return cls(view.job_id, view.name, view.kind, view.size, view.sha256, view.uploaded_at)


@dataclass(frozen=True)
class JobResult:
    id: str
    run_id: str
    name: str
    pipeline: str
    state: JobState
    reason: str
    requested_at: str
    scheduled_at: str | None
    started_at: str | None
    finished_at: str | None
    step_count: int
    cancel_requested: bool
    secrets_read: tuple[str, ...]
    reused_from: str | None = None
    repository: str = ""
    ref: str = ""
    commit_sha: str = ""
    trigger_type: str = ""
    trigger_ref: str = ""
    log_reaped: dict[str, Any] | None = None
    artifacts_reaped: dict[str, Any] | None = None

    @classmethod
    def of(cls, view: JobView) -> JobResult:
        return cls(
            id=view.id,
            run_id=view.run_id,
            name=view.name,
            pipeline=view.pipeline,
            state=JobState(view.state),
            reason=view.reason,
            requested_at=view.requested_at,
            scheduled_at=view.scheduled_at,
            started_at=view.started_at,
            finished_at=view.finished_at,
            step_count=view.step_count or 0,
            cancel_requested=bool(view.cancel_requested),
            secrets_read=tuple(view.secrets_read or ()),
            reused_from=view.reused_from,
            repository=view.repository,
            ref=view.ref,
            commit_sha=view.commit_sha,
            trigger_type=view.trigger_type,
            trigger_ref=view.trigger_ref,
            log_reaped=view.log_reaped,
            artifacts_reaped=view.artifacts_reaped,
        )


@dataclass(frozen=True)
class RunResult:
    id: str
    pipeline: str
    repository: str
    ref: str
    branch: str
    commit_sha: str
    trigger_type: str
    trigger_ref: str
    delivery_id: str
    actor: str
    state: JobState
    cancel_requested: bool
    requested_at: str
    started_at: str | None
    finished_at: str | None
    waiting_reason: str
    version: int
    job_ids: tuple[str, ...]
    retry_of: str | None = None

    @classmethod
    def of(cls, view: RunView) -> RunResult:
        return cls(
            id=view.id,
            pipeline=view.pipeline,
            repository=view.repository,
            ref=view.ref,
            branch=view.branch,
            commit_sha=view.commit_sha,
            trigger_type=view.trigger_type,
            trigger_ref=view.trigger_ref,
            delivery_id=view.delivery_id,
            actor=view.actor,
            state=JobState(view.state),
            cancel_requested=bool(view.cancel_requested),
            requested_at=view.requested_at,
            started_at=view.started_at,
            finished_at=view.finished_at,
            waiting_reason=view.waiting_reason,
            version=view.version,
            job_ids=tuple(sorted(view.jobs or {})),
            retry_of=view.retry_of,
        )


@dataclass(frozen=True)
class RunAsOf:
    """A run as it was after one of its events (time travel), from the event log itself."""

    run: RunResult
    jobs: tuple[JobResult, ...]
    steps: tuple[StepResult, ...]
    artifacts: tuple[ArtifactResult, ...]

    @classmethod
    def of(cls, run: Run) -> RunAsOf:
        jobs = [(job, _job_of(run, job)) for job in run.jobs.values()]
        started = min((j.started_at for j, _ in jobs if j.started_at), default=None)
        ended = [j.finished_at for j, _ in jobs if j.finished_at]
        finished = max(ended) if run.is_finished and ended else None
        result = RunResult(
            id=run.id.hex,
            pipeline=run.pipeline,
            repository=run.repository,
            ref=run.ref,
            branch=run.ref.removeprefix("refs/heads/") if run.ref.startswith("refs/heads/") else "",
            commit_sha=run.commit_sha,
            trigger_type=str(run.trigger.get("type", "")),
            trigger_ref=str(run.trigger.get("ref", run.ref)),
            delivery_id=str(run.trigger.get("delivery_id", "")),
            actor=run.cause.actor,
            state=run.state,
            cancel_requested=run.cancel_requested,
            requested_at=_iso(run.requested_at) or "",
            started_at=_iso(started),
            finished_at=_iso(finished),
            waiting_reason=run.waiting_reason,
            version=run.version,
            job_ids=tuple(sorted(job_id.hex for job_id in run.jobs)),
            retry_of=str(run.trigger.get("retry_of", "")) or None,
        )
        steps = tuple(
            StepResult(
                job_id=job.id.hex,
                number=step.number,
                name=step.name,
                command=step.command,
                image=step.image,
                state=step.state,
                exit_code=step.exit_code,
                log_start=step.log_start,
                log_end=step.log_end,
                reason=step.reason,
                started_at=_iso(step.started_at) or "",
                finished_at=_iso(step.finished_at),
                timeout_seconds=step.timeout_seconds,
            )
            for job, _ in jobs
            for step in sorted(job.steps.values(), key=lambda s: s.number)
        )
        artifacts = tuple(
            ArtifactResult(job.id.hex, a.name, a.kind, a.size, a.sha256, None)
            for job, _ in jobs
            for a in sorted(job.artifacts.values(), key=lambda a: a.name)
        )
        return cls(result, tuple(j for _, j in jobs), steps, artifacts)


def _job_of(run: Run, job: Any) -> JobResult:
    return JobResult(
        id=job.id.hex,
        run_id=run.id.hex,
        name=job.name,
        pipeline=run.pipeline,
        state=job.state,
        reason=job.reason,
        requested_at=_iso(run.requested_at) or "",
        scheduled_at=_iso(job.scheduled_at),
        started_at=_iso(job.started_at),
        finished_at=_iso(job.finished_at),
        step_count=max(job.steps, default=0),
        cancel_requested=run.cancel_requested,
        secrets_read=tuple(sorted(job.secrets_read)),
        reused_from=job.reused_from or None,
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True)
class PipelineResult:
    name: str
    repository: str
    configured: bool
    run_count: int
    last_run_id: str | None
    last_state: JobState | None
    last_requested_at: str | None


@dataclass(frozen=True)
class QueueEntry:
    position: int
    job: JobResult
    reason: str


@dataclass(frozen=True)
class LogChunk:
    """Bytes of a job log from ``offset`` (the byte offset of the first byte), as text
    (invalid UTF-8 replaced), and where the next read continues."""

    offset: int
    text: str
    next_offset: int
    complete: bool


@dataclass(frozen=True)
class EventRecord:
    """One stored event of a run, for audit: its version, type and recorded fields
    (sealed material left out)."""

    version: int
    type: str
    timestamp: str
    data: dict[str, Any]


@dataclass(frozen=True)
class SystemStatus:
    draining: bool
    config_commit: str | None
    projection_lag_seconds: dict[str, float]


@dataclass(frozen=True)
class Page:
    items: list[Any]
    end_cursor: str | None
    has_next_page: bool


@dataclass(frozen=True)
class AuditEntry:
    """Who did what, when: ``action`` (``Run.CancelRequested``), ``actor``
    (``user:alice``, ``webhook:github``, ``job:<id>``, ``cron``), and the causal chain of
    a run's entries: the delivery that triggered it, the run, the job."""

    id: str
    at: str
    action: str
    actor: str
    pipeline: str
    run_id: str
    job_id: str
    delivery_id: str
    trigger: str
    reason: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class SecretReadResult:
    """One entry of the secrets ledger: a job was handed a secret's value."""

    at: str
    key: str
    scope: str  # the pipeline whose secret it was, "" for a global one
    pipeline: str
    run_id: str
    job_id: str
