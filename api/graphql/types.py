"""GraphQL object types, each built from one application-layer result (only the fields
named here exist in the schema: nothing sealed can be reached)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.app import results
from domain.runs.states import JobState, StepState


@strawberry.enum(description="The state of a run or a job.")
class RunState(Enum):
    PENDING = "pending"
    SCHEDULING = "scheduling"
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"


@strawberry.enum(description="The state of a step.")
class StepStatusState(Enum):
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"


@strawberry.type(description="A state as a UI shows it.")
class Status:
    label: str
    terminal: bool

    @classmethod
    def of(cls, state: JobState | StepState) -> Status:
        status = results.Status.of(state)
        return cls(label=status.label, terminal=status.terminal)


@strawberry.type
class Step:
    job_id: strawberry.ID
    number: int
    name: str
    command: str
    image: str
    state: StepStatusState
    status: Status
    exit_code: int | None
    log_start: int | None
    log_end: int | None
    reason: str
    started_at: str
    finished_at: str | None
    timeout_seconds: float

    @classmethod
    def of(cls, step: results.StepResult) -> Step:
        return cls(
            job_id=strawberry.ID(step.job_id),
            number=step.number,
            name=step.name,
            command=step.command,
            image=step.image,
            state=StepStatusState(step.state.value),
            status=Status.of(step.state),
            exit_code=step.exit_code,
            log_start=step.log_start,
            log_end=step.log_end,
            reason=step.reason,
            started_at=step.started_at,
            finished_at=step.finished_at,
            timeout_seconds=step.timeout_seconds,
        )


@strawberry.type
class Artifact:
    name: str
    kind: str
    size: int
    sha256: str
    uploaded_at: str | None
    download_url: str

    @classmethod
    def of(cls, artifact: results.ArtifactResult) -> Artifact:
        return cls(
            name=artifact.name,
            kind=artifact.kind,
            size=artifact.size,
            sha256=artifact.sha256,
            uploaded_at=artifact.uploaded_at,
            download_url=f"/api/v1/artifacts/{artifact.job_id}/{artifact.name}",
        )


@strawberry.type
class Job:
    id: strawberry.ID
    run_id: strawberry.ID
    name: str
    pipeline: str
    state: RunState
    status: Status
    reason: str
    requested_at: str
    scheduled_at: str | None
    started_at: str | None
    finished_at: str | None
    step_count: int
    cancel_requested: bool
    secrets_read: list[str]
    reused_from: strawberry.ID | None = strawberry.field(
        description="In a rerun of only the failed jobs: the earlier job this one reuses."
    )
    preloaded_steps: strawberry.Private[list[Step] | None] = None
    preloaded_artifacts: strawberry.Private[list[Artifact] | None] = None

    @strawberry.field(description="The job's steps, in order.")
    async def steps(self, info: Info[Any, None]) -> list[Step]:
        if self.preloaded_steps is not None:
            return self.preloaded_steps
        found: list[results.StepResult] = await info.context["loaders"].steps.load(str(self.id))
        return [Step.of(step) for step in found]

    @strawberry.field(description="What the job uploaded.")
    async def artifacts(self, info: Info[Any, None]) -> list[Artifact]:
        if self.preloaded_artifacts is not None:
            return self.preloaded_artifacts
        found = await info.context["loaders"].artifacts.load(str(self.id))
        return [Artifact.of(artifact) for artifact in found]

    @classmethod
    def of(cls, job: results.JobResult) -> Job:
        return cls(
            id=strawberry.ID(job.id),
            run_id=strawberry.ID(job.run_id),
            name=job.name,
            pipeline=job.pipeline,
            state=RunState(job.state.value),
            status=Status.of(job.state),
            reason=job.reason,
            requested_at=job.requested_at,
            scheduled_at=job.scheduled_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            step_count=job.step_count,
            cancel_requested=job.cancel_requested,
            secrets_read=list(job.secrets_read),
            reused_from=None if job.reused_from is None else strawberry.ID(job.reused_from),
        )


@strawberry.type
class Run:
    id: strawberry.ID
    pipeline: str
    repository: str
    ref: str
    branch: str
    commit_sha: str
    trigger_type: str
    trigger_ref: str
    delivery_id: str
    actor: str
    state: RunState
    status: Status
    cancel_requested: bool
    requested_at: str
    started_at: str | None
    finished_at: str | None
    waiting_reason: str
    version: int = strawberry.field(description="How many events the run has.")
    retry_of: strawberry.ID | None = strawberry.field(description="The run this one retries.")
    job_ids: strawberry.Private[tuple[str, ...]] = ()
    preloaded_jobs: strawberry.Private[list[Job] | None] = None

    @strawberry.field(description="The run's jobs.")
    async def jobs(self, info: Info[Any, None]) -> list[Job]:
        if self.preloaded_jobs is not None:
            return self.preloaded_jobs
        found = await info.context["loaders"].jobs.load_many(list(self.job_ids))
        return [Job.of(job) for job in found if job is not None]

    @classmethod
    def of(cls, run: results.RunResult) -> Run:
        return cls(
            id=strawberry.ID(run.id),
            pipeline=run.pipeline,
            repository=run.repository,
            ref=run.ref,
            branch=run.branch,
            commit_sha=run.commit_sha,
            trigger_type=run.trigger_type,
            trigger_ref=run.trigger_ref,
            delivery_id=run.delivery_id,
            actor=run.actor,
            state=RunState(run.state.value),
            status=Status.of(run.state),
            cancel_requested=run.cancel_requested,
            requested_at=run.requested_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            waiting_reason=run.waiting_reason,
            version=run.version,
            retry_of=None if run.retry_of is None else strawberry.ID(run.retry_of),
            job_ids=run.job_ids,
        )

    @classmethod
    def as_of(cls, snapshot: results.RunAsOf) -> Run:
        """The run as it was, with its jobs, steps and artifacts as they were."""
        run = cls.of(snapshot.run)
        jobs = []
        for job in snapshot.jobs:
            shown = Job.of(job)
            shown.preloaded_steps = [Step.of(s) for s in snapshot.steps if s.job_id == job.id]
            shown.preloaded_artifacts = [
                Artifact.of(a) for a in snapshot.artifacts if a.job_id == job.id
            ]
            jobs.append(shown)
        run.preloaded_jobs = jobs
        return run


@strawberry.enum(description="What one may do with a pipeline; each includes the ones below.")
class PermissionLevel(Enum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


@strawberry.type(description="Who is signed in, as the config in force sees them.")
class Viewer:
    name: str
    email: str
    teams: list[str] = strawberry.field(description="The teams whose members include them.")
    global_admin: bool = strawberry.field(
        description="In a global_admin team: every pipeline, and the system actions."
    )


@strawberry.type
class Pipeline:
    name: str
    repository: str
    configured: bool
    run_count: int
    last_run_id: strawberry.ID | None
    last_state: RunState | None
    last_requested_at: str | None

    @strawberry.field(
        description="What the viewer may do with this pipeline (null: nothing, or signed out)."
    )
    def permission(self, info: Info[Any, None]) -> PermissionLevel | None:
        level = info.context["principal"].level(self.name).permission
        return None if level is None else PermissionLevel(level.value)

    @classmethod
    def of(cls, pipeline: results.PipelineResult) -> Pipeline:
        return cls(
            name=pipeline.name,
            repository=pipeline.repository,
            configured=pipeline.configured,
            run_count=pipeline.run_count,
            last_run_id=None
            if pipeline.last_run_id is None
            else strawberry.ID(pipeline.last_run_id),
            last_state=None if pipeline.last_state is None else RunState(pipeline.last_state.value),
            last_requested_at=pipeline.last_requested_at,
        )


@strawberry.type
class PageInfo:
    end_cursor: str | None
    has_next_page: bool


@strawberry.type
class RunEdge:
    cursor: str
    node: Run


@strawberry.type(description="Runs newest first; `after` takes a `pageInfo.endCursor`.")
class RunConnection:
    edges: list[RunEdge]
    page_info: PageInfo


@strawberry.input
class RunsFilter:
    pipeline: str = ""
    branch: str = ""
    state: RunState | None = None
    trigger: str = ""
    actor: str = ""


@strawberry.type
class QueueEntry:
    position: int
    job: Job
    reason: str


@strawberry.type(description="Bytes of a job log from `offset`, as text.")
class LogChunk:
    offset: int = strawberry.field(description="Byte offset of the chunk's first byte.")
    text: str
    next_offset: int
    complete: bool = strawberry.field(description="The job ended and nothing more will come.")

    @classmethod
    def of(cls, chunk: results.LogChunk) -> LogChunk:
        return cls(
            offset=chunk.offset,
            text=chunk.text,
            next_offset=chunk.next_offset,
            complete=chunk.complete,
        )


@strawberry.type(description="Who did what, when; for runs, the delivery, run and job.")
class AuditEntry:
    id: strawberry.ID
    at: str
    action: str
    actor: str
    pipeline: str
    run_id: str
    job_id: str
    delivery_id: str
    trigger: str
    reason: str
    detail: JSON

    @classmethod
    def of(cls, entry: results.AuditEntry) -> AuditEntry:
        return cls(
            id=strawberry.ID(entry.id),
            at=entry.at,
            action=entry.action,
            actor=entry.actor,
            pipeline=entry.pipeline,
            run_id=entry.run_id,
            job_id=entry.job_id,
            delivery_id=entry.delivery_id,
            trigger=entry.trigger,
            reason=entry.reason,
            detail=cast(JSON, entry.detail),
        )


@strawberry.type
class AuditEdge:
    cursor: str
    node: AuditEntry


@strawberry.type(description="The audit trail newest first; `after` takes `pageInfo.endCursor`.")
class AuditConnection:
    edges: list[AuditEdge]
    page_info: PageInfo


@strawberry.input
class AuditFilter:
    pipeline: str = ""
    actor: str = ""
    run_id: str = ""
    action: str = ""


@strawberry.type(description="One stored event of a run.")
class Event:
    version: int
    type: str
    timestamp: str
    data: JSON


@strawberry.type
class ProjectionLag:
    projection: str
    seconds: float


@strawberry.type
class SystemStatus:
    draining: bool
    config_commit: str | None
    projection_lag: list[ProjectionLag]


# ---- mutation results: success or a named domain failure ---------------------------


@strawberry.type(description="What triggerRun started: its runs and the commit resolved.")
class TriggeredRun:
    pipeline: str
    run_ids: list[strawberry.ID]
    commit: str = strawberry.field(description="The commit SHA the ref resolved to.")
    ref: str = strawberry.field(description="The full ref, e.g. refs/heads/main.")


@strawberry.type
class RunCancelled:
    run: Run


@strawberry.type(description="The new run a rerun started.")
class RerunStarted:
    run: Run


@strawberry.type
class DrainState:
    draining: bool


@strawberry.interface(description="A refusal: what was asked cannot be done.")
class Problem:
    message: str
    code: str


@strawberry.type
class PipelineNotFound(Problem):
    pass


@strawberry.type
class RunNotFound(Problem):
    pass


@strawberry.type(description="The run has ended already: nothing to cancel.")
class RunNotCancellable(Problem):
    pass


@strawberry.type(description="The run has not ended: which of its jobs failed is not known yet.")
class RunNotFinished(Problem):
    pass


@strawberry.type(description="The input was refused (a ref that does not resolve, ...).")
class InvalidInput(Problem):
    pass


@strawberry.type(description="Danube is draining or stopping: try again later.")
class Unavailable(Problem):
    pass


@strawberry.type(description="A secret was set or removed (its value is never returned).")
class SecretChanged:
    pipeline: str = strawberry.field(description='The pipeline it belongs to ("": global).')
    key: str


@strawberry.type(description="No such secret.")
class SecretNotFound(Problem):
    pass


@strawberry.type(description="Every data key is now wrapped by a new master key.")
class SecretsKeyRotated:
    old_key_id: str
    new_key_id: str
    rewrapped: int = strawberry.field(description="How many data keys were re-wrapped.")


@strawberry.type(description="The master key could not be rotated; nothing was lost.")
class RotationFailed(Problem):
    pass


@strawberry.type(description="A job was handed a secret's value (the secrets ledger).")
class SecretRead:
    at: str
    key: str
    scope: str = strawberry.field(description='The pipeline whose secret it was ("": global).')
    pipeline: str
    run_id: strawberry.ID
    job_id: strawberry.ID

    @classmethod
    def of(cls, read: results.SecretReadResult) -> SecretRead:
        return cls(
            at=read.at,
            key=read.key,
            scope=read.scope,
            pipeline=read.pipeline,
            run_id=strawberry.ID(read.run_id),
            job_id=strawberry.ID(read.job_id),
        )


SetSecretResult = Annotated[SecretChanged | InvalidInput, strawberry.union("SetSecretResult")]
RemoveSecretResult = Annotated[
    SecretChanged | SecretNotFound | InvalidInput, strawberry.union("RemoveSecretResult")
]
RotateSecretsKeyResult = Annotated[
    SecretsKeyRotated | RotationFailed, strawberry.union("RotateSecretsKeyResult")
]
TriggerRunResult = Annotated[
    TriggeredRun | PipelineNotFound | InvalidInput | Unavailable,
    strawberry.union("TriggerRunResult"),
]
CancelRunResult = Annotated[
    RunCancelled | RunNotFound | RunNotCancellable | InvalidInput,
    strawberry.union("CancelRunResult"),
]
RerunResult = Annotated[
    RerunStarted | RunNotFound | RunNotFinished | InvalidInput,
    strawberry.union("RerunResult"),
]
