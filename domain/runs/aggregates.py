"""The Run aggregate: one triggered execution of a pipeline at one commit.

A run is the consistency boundary for its jobs and their steps: a run's state derives
from its jobs, so jobs live inside it as entities rather than as aggregates of their own.

Invariants:
- job transitions follow ``states.ALLOWED``; a terminal job never changes again;
- a command that would put a job or step into the state it already has records nothing
  and returns False (executors report at least once; commands must be idempotent);
- an illegal command raises a ``RunsError`` before any event is triggered;
- event ``apply`` methods only assign: no validation, clock reads or I/O, because they run
  again on every replay. Times come from the event's own ``timestamp``.
"""

from __future__ import annotations

import copy
from dataclasses import fields, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.cause import Cause
from domain.eventsourcing_compat import PENDING_EVENTS
from domain.ids import JobId, RunId
from domain.runs.entities import PROVENANCE_ARTIFACT, Artifact, Job, Step
from domain.runs.errors import (
    IllegalTransitionError,
    InvalidRunRequestError,
    JobAlreadyFinishedError,
    JobNotFoundError,
    ReservedArtifactNameError,
    RunAlreadyFinishedError,
    StepConflictError,
    StepNotFoundError,
)
from domain.runs.outcome import Ending, after_exit, reported
from domain.runs.states import JobState, StepState, can_transition, derive_run_state

# Values a copy of a run may share with the original: they cannot change in place.
_IMMUTABLE = (str, int, float, bool, type(None), UUID, datetime, Cause, JobState)


# Job fields whose containers are copied but whose items (immutable) are shared.
_SHALLOW_JOB_FIELDS = frozenset({"steps", "artifacts", "secrets_read"})


def _copy_job(job: Job, memo: dict[int, Any]) -> Job:
    changes: dict[str, Any] = {}
    for item in fields(job):
        value = getattr(job, item.name)
        if item.name in _SHALLOW_JOB_FIELDS:
            changes[item.name] = type(value)(value)
        elif not isinstance(value, _IMMUTABLE):
            changes[item.name] = copy.deepcopy(value, memo)
    return replace(job, **changes)


def _job_entry(job_id: JobId, name: str, reused_from: JobId | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": str(job_id), "name": name}
    if reused_from is not None:
        entry["reused_from"] = reused_from.hex
    return entry


class Run(Aggregate):
    TOPIC = "danube:Run"

    class Created(Aggregate.Created):
        """The library's default creation event; unused (runs are ``Requested``), but
        with explicit topics every event class needs one."""

        TOPIC = "danube:Run.Created"

    class Requested(Aggregate.Created):
        TOPIC = "danube:Run.Requested"
        pipeline: str
        repository: str
        ref: str
        commit_sha: str
        trigger: dict[str, str]
        spec: dict[str, Any]
        jobs: list[dict[str, Any]]
        cause: dict[str, str]

    def __init__(
        self,
        pipeline: str,
        repository: str,
        ref: str,
        commit_sha: str,
        trigger: dict[str, str],
        spec: dict[str, Any],
        jobs: list[dict[str, Any]],
        cause: dict[str, str],
    ) -> None:
        self.pipeline = pipeline
        self.repository = repository
        self.ref = ref
        self.commit_sha = commit_sha
        self.trigger = dict(trigger)
        self.spec = dict(spec)
        self.cause = Cause.from_dict(cause)
        self.cancel_requested = False
        self.waiting_reason = ""
        self.jobs: dict[JobId, Job] = {}
        for job in jobs:
            job_id = JobId(UUID(str(job["id"])))
            entity = Job(id=job_id, name=str(job["name"]))
            if job.get("reused_from"):  # a rerun's job that succeeded before: not run again
                entity.state, entity.reused_from = JobState.SUCCESS, str(job["reused_from"])
                entity.reason = f"reused: succeeded in job {entity.reused_from}"
            self.jobs[job_id] = entity

    @classmethod
    def request(
        cls,
        run_id: RunId,
        *,
        pipeline: str,
        repository: str,
        ref: str,
        commit_sha: str,
        trigger: dict[str, str],
        spec: dict[str, Any],
        jobs: list[tuple[JobId, str]],
        cause: Cause,
        reused: dict[str, JobId] | None = None,
    ) -> Run:
        """``reused`` names jobs (by name) of a rerun that succeeded before, with the job
        they reuse: they start as succeeded and never run."""
        if not pipeline:
            raise InvalidRunRequestError("a run needs a pipeline name")
        if not jobs:
            raise InvalidRunRequestError("a run needs at least one job")
        names = [name for _, name in jobs]
        if len(set(names)) != len(names):
            raise InvalidRunRequestError(f"job names must be unique: {names}")
        reused = reused or {}
        if unknown := set(reused) - set(names):
            raise InvalidRunRequestError(f"reused jobs are not jobs of the run: {sorted(unknown)}")
        return cls._create(
            cls.Requested,
            id=run_id,
            pipeline=pipeline,
            repository=repository,
            ref=ref,
            commit_sha=commit_sha,
            trigger=dict(trigger),
            spec=dict(spec),
            jobs=[_job_entry(job_id, name, reused.get(name)) for job_id, name in jobs],
            cause=cause.to_dict(),
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> Run:
        """The repository hands out a copy of its cached run for every command; a generic
        deepcopy dominated command latency. So: values of immutable types are shared,
        the jobs are copied job by job (their steps are immutable and shared), the
        pending events list is copied (events are immutable), and every other attribute
        (one added later included) is deep-copied, so no copy ever shares mutable state
        with the cached original."""
        clone = copy.copy(self)
        state = clone.__dict__
        for name, value in self.__dict__.items():
            if name == "jobs":
                state[name] = {job_id: _copy_job(job, memo) for job_id, job in value.items()}
            elif name == PENDING_EVENTS:
                state[name] = list(value)
            elif not isinstance(value, _IMMUTABLE):
                state[name] = copy.deepcopy(value, memo)
        return clone

    # ---- queries -------------------------------------------------------------------

    @property
    def run_id(self) -> RunId:
        return RunId(self.id)

    @property
    def state(self) -> JobState:
        return derive_run_state(job.state for job in self.jobs.values())

    @property
    def is_finished(self) -> bool:
        return self.state.is_terminal

    @property
    def requested_at(self) -> datetime:
        return self.created_on

    def job(self, job_id: JobId) -> Job:
        try:
            return self.jobs[job_id]
        except KeyError:
            raise JobNotFoundError(f"run {self.id} has no job {job_id}") from None

    # ---- job commands --------------------------------------------------------------

    def schedule_job(self, job_id: JobId, cause: Cause) -> bool:
        if not self._guard(job_id, JobState.SCHEDULING):
            return False
        self.trigger_event(self.JobScheduled, job_id=job_id, cause=cause.to_dict())
        return True

    def start_job(self, job_id: JobId, cause: Cause) -> bool:
        if not self._guard(job_id, JobState.RUNNING):
            return False
        self.trigger_event(self.JobStarted, job_id=job_id, cause=cause.to_dict())
        return True

    def finish_job(self, job_id: JobId, state: JobState, reason: str, cause: Cause) -> bool:
        """End a job in a terminal state. Steps still running end with it."""
        current = self.job(job_id).state
        if not state.is_terminal:
            error = JobAlreadyFinishedError if current.is_terminal else IllegalTransitionError
            raise error(str(job_id), current, state)
        if not self._guard(job_id, state):
            return False
        job = self.jobs[job_id]
        # A step cannot outlive its job; one left running when the job succeeds was abandoned.
        step_state = StepState.CANCELLED if state == JobState.SUCCESS else StepState(state.value)
        for step in list(job.steps.values()):
            if step.state == StepState.RUNNING:
                self.trigger_event(
                    self.StepFinished,
                    job_id=job_id,
                    number=step.number,
                    state=step_state.value,
                    exit_code=None,
                    log_offset=step.log_start,
                    reason=reason or f"job ended: {state.value}",
                )
        self.trigger_event(
            self.JobFinished, job_id=job_id, state=state.value, reason=reason, cause=cause.to_dict()
        )
        return True

    def request_cancel(self, cause: Cause) -> bool:
        """Ask every unfinished job to stop. Jobs that never started end at once;
        scheduling and running jobs end when their executor confirms."""
        if self.is_finished:
            raise RunAlreadyFinishedError(f"run {self.id} already finished: {self.state}")
        if self.cancel_requested:
            return False
        self.trigger_event(self.CancelRequested, cause=cause.to_dict())
        for job in list(self.jobs.values()):
            if job.state == JobState.PENDING:
                self.finish_job(job.id, JobState.CANCELLED, "cancelled before it started", cause)
        return True

    def _guard(self, job_id: JobId, target: JobState) -> bool:
        """True if the transition is legal, False if the job is already there."""
        job = self.job(job_id)
        if job.state == target:
            return False
        if job.state.is_terminal:
            raise JobAlreadyFinishedError(str(job_id), job.state, target)
        if not can_transition(job.state, target):
            raise IllegalTransitionError(str(job_id), job.state, target)
        return True

    # ---- step commands -------------------------------------------------------------

    def start_step(
        self,
        job_id: JobId,
        number: int,
        *,
        name: str,
        command: str,
        image: str = "",
        timeout_seconds: float = 0.0,
        log_offset: int | None = None,
        env_sealed: dict[str, str] | None = None,
        command_sealed: dict[str, str] | None = None,
    ) -> bool:
        """``command`` and ``name`` are as shown (masked). ``env_sealed`` is the step's
        environment and ``command_sealed`` the command as given (when masking changed
        it), both encrypted by the vault: secret values never enter the log in
        plaintext, and what they are sealed with is destroyed when the job ends.
        ``log_offset`` is None: where the step's output begins in the job's log is
        recorded by the process that runs it (``record_step_output_start``); runs
        recorded before that carry the offset their server wrote the step's line at."""
        job = self.job(job_id)
        existing = job.steps.get(number)
        if existing is not None:
            if existing.command != command or existing.name != name:
                raise StepConflictError(f"step {number} of job {job_id} is a different step")
            return False
        if job.state != JobState.RUNNING:
            raise IllegalTransitionError(str(job_id), job.state, "step started")
        if number < 1:
            raise StepConflictError("step numbers start at 1")
        self.trigger_event(
            self.StepStarted,
            job_id=job_id,
            number=number,
            name=name,
            command=command,
            image=image,
            timeout_seconds=float(timeout_seconds),
            log_offset=log_offset,
            env_sealed=env_sealed,
            command_sealed=command_sealed,
        )
        return True

    def record_step_output_start(self, job_id: JobId, number: int, log_offset: int) -> bool:
        """Where the step's output begins in the job's log: just after the step's opening
        line, which the process that runs the step (the only writer of the job's log)
        wrote before the step's first byte. Once per step: the first one stands."""
        step = self.job(job_id).steps.get(number)
        if step is None:
            raise StepNotFoundError(f"job {job_id} has no step {number}")
        if step.log_start is not None:
            return False
        if step.state != StepState.RUNNING:
            raise StepConflictError(f"step {number} of job {job_id} already ended: {step.state}")
        self.trigger_event(
            self.StepOutputStarted, job_id=job_id, number=number, log_offset=log_offset
        )
        return True

    def finish_step(
        self,
        job_id: JobId,
        number: int,
        *,
        state: StepState,
        exit_code: int | None,
        log_offset: int,
        reason: str = "",
        log_start: int | None = None,
    ) -> bool:
        """``log_start``: where the step's output began, when that was not recorded on
        its own (``record_step_output_start``): a short step's start and end are then
        one event."""
        step = self.job(job_id).steps.get(number)
        if step is None:
            raise StepNotFoundError(f"job {job_id} has no step {number}")
        if step.state != StepState.RUNNING:
            if step.state == state and step.exit_code == exit_code:
                return False
            raise StepConflictError(f"step {number} of job {job_id} already ended: {step.state}")
        if state == StepState.RUNNING:
            raise StepConflictError("a step cannot finish as running")
        self.trigger_event(
            self.StepFinished,
            job_id=job_id,
            number=number,
            state=state.value,
            exit_code=exit_code,
            log_offset=log_offset,
            reason=reason,
            log_start=log_start if step.log_start is None else None,
        )
        return True

    # ---- what a running job did ----------------------------------------------------

    def record_artifact(self, job_id: JobId, artifact: Artifact) -> bool:
        job = self.job(job_id)
        if artifact.name == PROVENANCE_ARTIFACT:
            raise ReservedArtifactNameError(
                f"{PROVENANCE_ARTIFACT} is reserved for the provenance Danube signs"
            )
        if job.artifacts.get(artifact.name) == artifact:
            return False
        if job.state != JobState.RUNNING:
            raise IllegalTransitionError(str(job_id), job.state, "artifact uploaded")
        self.trigger_event(
            self.ArtifactUploaded,
            job_id=job_id,
            name=artifact.name,
            kind=artifact.kind,
            size=artifact.size,
            sha256=artifact.sha256,
        )
        return True

    def record_provenance(self, job_id: JobId, artifact: Artifact) -> bool:
        """The signed provenance the control plane wrote for an ended job, stored as one
        of its artifacts. Once per job: the first one recorded stands."""
        job = self.job(job_id)
        if artifact.name in job.artifacts:
            return False
        if not job.state.is_terminal:
            raise IllegalTransitionError(str(job_id), job.state, "provenance recorded")
        self.trigger_event(
            self.ProvenanceRecorded,
            job_id=job_id,
            name=artifact.name,
            kind=artifact.kind,
            size=artifact.size,
            sha256=artifact.sha256,
        )
        return True

    def reap_log(self, job_id: JobId, policy: str, size: int, reaping: str) -> bool:
        """The reaper removes an ended job's log under ``policy`` (e.g. ``logs_days=30``).
        Recorded before the bytes are deleted, so no log is gone without its record."""
        if not self._reapable(job_id, "log reaped") or self.jobs[job_id].log_reaped_at:
            return False
        self.trigger_event(self.LogReaped, job_id=job_id, policy=policy, size=size, reaping=reaping)
        return True

    def reap_artifacts(
        self, job_id: JobId, names: list[str], policy: str, size: int, reaping: str
    ) -> bool:
        job = self.job(job_id)
        if not self._reapable(job_id, "artifacts reaped") or job.artifacts_reaped_at:
            return False
        self.trigger_event(
            self.ArtifactsReaped,
            job_id=job_id,
            names=sorted(names),
            policy=policy,
            size=size,
            reaping=reaping,
        )
        return True

    def _reapable(self, job_id: JobId, what: str) -> bool:
        """Never a running or queued job's data."""
        job = self.job(job_id)
        if not job.state.is_terminal:
            raise IllegalTransitionError(str(job_id), job.state, what)
        return True

    def record_secret_read(self, job_id: JobId, key: str, scope: str) -> bool:
        """Audit: which job read which secret (never the value). Once per job and key."""
        job = self.job(job_id)
        if key in job.secrets_read:
            return False
        if job.state != JobState.RUNNING:
            raise IllegalTransitionError(str(job_id), job.state, "secret read")
        self.trigger_event(self.SecretRead, job_id=job_id, key=key, scope=scope)
        return True

    def record_report(
        self, job_id: JobId, succeeded: bool, message: str, failed_step: int = 0
    ) -> bool:
        """What the job's coordinator says of its outcome (``domain.runs.outcome``
        decides what it means: a failure whose step timed out is a timeout). The job
        ends with it once its processes have exited (so its log is complete before its
        state is final), see ``ending_after_exit``."""
        job = self.job(job_id)
        step = job.steps.get(failed_step) if failed_step else None
        ending = reported(succeeded, message, step.state if step is not None else None)
        if job.report == (ending.state, ending.reason):
            return False
        if job.state != JobState.RUNNING:
            raise IllegalTransitionError(str(job_id), job.state, "outcome reported")
        self.trigger_event(
            self.JobReported, job_id=job_id, state=ending.state.value, reason=ending.reason
        )
        return True

    def ending_after_exit(self, job_id: JobId, exit_code: int | None, why: str) -> Ending:
        """How the job ended, now that its processes exited with ``exit_code``: as its
        coordinator reported, else as the exit code says (``domain.runs.outcome``)."""
        report = self.job(job_id).report
        return after_exit(Ending(*report) if report is not None else None, exit_code, why)

    def wait(self, reason: str) -> bool:
        """Why the run is still queued (capacity, pipeline limit, draining); recorded
        when the reason changes."""
        if reason == self.waiting_reason or self.is_finished:
            return False
        if not any(job.state == JobState.PENDING for job in self.jobs.values()):
            return False
        self.trigger_event(self.Waiting, reason=reason)
        return True

    # ---- events --------------------------------------------------------------------

    class JobScheduled(Aggregate.Event):
        TOPIC = "danube:Run.JobScheduled"
        job_id: UUID
        cause: dict[str, str]

        def apply(self, run: Run) -> None:
            job = run.jobs[JobId(self.job_id)]
            job.state, job.scheduled_at = JobState.SCHEDULING, self.timestamp

    class JobStarted(Aggregate.Event):
        TOPIC = "danube:Run.JobStarted"
        job_id: UUID
        cause: dict[str, str]

        def apply(self, run: Run) -> None:
            job = run.jobs[JobId(self.job_id)]
            job.state, job.started_at = JobState.RUNNING, self.timestamp

    class JobFinished(Aggregate.Event):
        TOPIC = "danube:Run.JobFinished"
        job_id: UUID
        state: str
        reason: str
        cause: dict[str, str]

        def apply(self, run: Run) -> None:
            job = run.jobs[JobId(self.job_id)]
            job.state, job.reason, job.finished_at = (
                JobState(self.state),
                self.reason,
                self.timestamp,
            )

    class CancelRequested(Aggregate.Event):
        TOPIC = "danube:Run.CancelRequested"
        cause: dict[str, str]

        def apply(self, run: Run) -> None:
            run.cancel_requested = True

    class StepStarted(Aggregate.Event):
        TOPIC = "danube:Run.StepStarted"
        job_id: UUID
        number: int
        name: str
        command: str
        image: str
        timeout_seconds: float
        log_offset: int | None  # None since the step's runner records it (below)
        env_sealed: dict[str, str] | None
        command_sealed: dict[str, str] | None = None  # v2: None when command is as given

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Before v2 ``command`` was stored as given and nothing was sealed."""
            state.setdefault("command_sealed", None)

        def apply(self, run: Run) -> None:
            run.jobs[JobId(self.job_id)].steps[self.number] = Step(
                number=self.number,
                name=self.name,
                command=self.command,
                image=self.image,
                timeout_seconds=self.timeout_seconds,
                log_start=self.log_offset,
                started_at=self.timestamp,
                env_sealed=self.env_sealed,
                command_sealed=self.command_sealed,
            )

    class StepOutputStarted(Aggregate.Event):
        TOPIC = "danube:Run.StepOutputStarted"
        job_id: UUID
        number: int
        log_offset: int

        def apply(self, run: Run) -> None:
            steps = run.jobs[JobId(self.job_id)].steps
            steps[self.number] = replace(steps[self.number], log_start=self.log_offset)

    class StepFinished(Aggregate.Event):
        TOPIC = "danube:Run.StepFinished"
        job_id: UUID
        number: int
        state: str
        exit_code: int | None
        log_offset: int | None  # None: a step ended with its job before its output began
        reason: str
        log_start: int | None = None  # v2: where its output began, if not recorded before

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Before v2 a step's output start was recorded only when it started."""
            state.setdefault("log_start", None)

        def apply(self, run: Run) -> None:
            steps = run.jobs[JobId(self.job_id)].steps
            step = steps[self.number]
            steps[self.number] = replace(
                step,
                log_start=step.log_start if self.log_start is None else self.log_start,
                state=StepState(self.state),
                exit_code=self.exit_code,
                log_end=self.log_offset,
                reason=self.reason,
                finished_at=self.timestamp,
            )

    class ArtifactUploaded(Aggregate.Event):
        TOPIC = "danube:Run.ArtifactUploaded"
        job_id: UUID
        name: str
        kind: str
        size: int
        sha256: str

        def apply(self, run: Run) -> None:
            run.jobs[JobId(self.job_id)].artifacts[self.name] = Artifact(
                name=self.name, kind=self.kind, size=self.size, sha256=self.sha256
            )

    class ProvenanceRecorded(ArtifactUploaded):
        """An artifact written by the control plane after the job ended."""

        TOPIC = "danube:Run.ProvenanceRecorded"

    class LogReaped(Aggregate.Event):
        TOPIC = "danube:Run.LogReaped"
        job_id: UUID
        policy: str
        size: int
        reaping: str  # the reaper pass (a Reaping aggregate id, hex)

        def apply(self, run: Run) -> None:
            run.jobs[JobId(self.job_id)].log_reaped_at = self.timestamp

    class ArtifactsReaped(Aggregate.Event):
        TOPIC = "danube:Run.ArtifactsReaped"
        job_id: UUID
        names: list[str]
        policy: str
        size: int
        reaping: str

        def apply(self, run: Run) -> None:
            run.jobs[JobId(self.job_id)].artifacts_reaped_at = self.timestamp

    class SecretRead(Aggregate.Event):
        TOPIC = "danube:Run.SecretRead"
        job_id: UUID
        key: str
        scope: str

        def apply(self, run: Run) -> None:
            run.jobs[JobId(self.job_id)].secrets_read.add(self.key)

    class Waiting(Aggregate.Event):
        TOPIC = "danube:Run.Waiting"
        reason: str

        def apply(self, run: Run) -> None:
            run.waiting_reason = self.reason

    class JobReported(Aggregate.Event):
        TOPIC = "danube:Run.JobReported"
        job_id: UUID
        state: str
        reason: str

        def apply(self, run: Run) -> None:
            run.jobs[JobId(self.job_id)].report = (JobState(self.state), self.reason)
