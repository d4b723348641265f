"""Commands of the runs context. Thin: load, act, save; each returns the log position of
what it recorded, so a caller can wait for a read model to reach it (read-your-writes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import RecordConflictError

from domain.cause import Cause
from domain.eventlog import EventLog
from domain.ids import JobId, RunId, job_id_for
from domain.runs.aggregates import Run
from domain.runs.entities import Artifact
from domain.runs.errors import RunAlreadyExistsError, RunNotFinishedError, RunNotFoundError
from domain.runs.outcome import Ending
from domain.runs.states import JobState, StepState


@dataclass(frozen=True)
class RunRequest:
    """What a trigger asks for. ``trigger`` holds the trigger kind (``type``) and
    what the forge or user said about it (``ref``, ``delivery_id``, ``event``, ``sender``)."""

    run_id: RunId
    pipeline: str
    repository: str
    ref: str
    commit_sha: str
    trigger: dict[str, str]
    spec: dict[str, Any] = field(default_factory=dict)
    job_names: tuple[str, ...] = ("main",)
    reused: dict[str, JobId] = field(default_factory=dict)
    """Jobs of a rerun (by name) that succeeded before, with the job each reuses."""


class RunsService:
    def __init__(self, log: EventLog) -> None:
        self._log = log

    def request_run(self, request: RunRequest, cause: Cause) -> int:
        """Record a requested run. Raises ``RunAlreadyExistsError`` if a run with this id
        exists (a deduplicated trigger fired again)."""
        run = Run.request(
            request.run_id,
            pipeline=request.pipeline,
            repository=request.repository,
            ref=request.ref,
            commit_sha=request.commit_sha,
            trigger=request.trigger,
            spec=request.spec,
            jobs=[(job_id_for(request.run_id, name), name) for name in request.job_names],
            cause=cause,
            reused=request.reused,
        )
        try:
            return self._log.create(run)
        except RecordConflictError:
            raise RunAlreadyExistsError(f"run {request.run_id} already exists") from None

    def rerun(self, run_id: RunId, new_run_id: RunId, cause: Cause, *, only_failed: bool) -> int:
        """Request a new run of what ``run_id`` ran (same pipeline, commit and spec) that
        records the run it retries (``trigger["retry_of"]``). With ``only_failed``, jobs
        that succeeded are reused (start as succeeded, never run again); a run still
        running cannot be rerun that way (its outcome is not known yet)."""
        original = self.get(run_id)
        if only_failed and not original.is_finished:
            raise RunNotFinishedError(
                f"run {run_id} has not finished: nothing is known to have failed"
            )
        reused = {
            job.name: job.id
            for job in original.jobs.values()
            if only_failed and job.state == JobState.SUCCESS
        }
        trigger = {k: v for k, v in original.trigger.items() if k != "delivery_id"}
        trigger["retry_of"] = original.id.hex
        return self.request_run(
            RunRequest(
                run_id=new_run_id,
                pipeline=original.pipeline,
                repository=original.repository,
                ref=original.ref,
                commit_sha=original.commit_sha,
                trigger=trigger,
                spec=dict(original.spec),
                job_names=tuple(job.name for job in original.jobs.values()),
                reused=reused,
            ),
            cause,
        )

    def get(self, run_id: RunId, version: int | None = None) -> Run:
        """The run as it is now, or as it was after its ``version``-th event."""
        try:
            return self._log.load(Run, run_id, version=version)
        except AggregateNotFoundError:
            raise RunNotFoundError(f"no run {run_id}") from None

    def schedule_job(self, run_id: RunId, job_id: JobId, cause: Cause) -> int:
        return self._update(run_id, lambda run: run.schedule_job(job_id, cause))

    def start_job(self, run_id: RunId, job_id: JobId, cause: Cause) -> int:
        return self._update(run_id, lambda run: run.start_job(job_id, cause))

    def finish_job(
        self, run_id: RunId, job_id: JobId, state: JobState, reason: str, cause: Cause
    ) -> int:
        return self._update(run_id, lambda run: run.finish_job(job_id, state, reason, cause))

    def cancel_run(self, run_id: RunId, cause: Cause) -> int:
        return self._update(run_id, lambda run: run.request_cancel(cause))

    def start_step(
        self,
        run_id: RunId,
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
    ) -> int:
        return self._update(
            run_id,
            lambda run: run.start_step(
                job_id,
                number,
                name=name,
                command=command,
                image=image,
                timeout_seconds=timeout_seconds,
                log_offset=log_offset,
                env_sealed=env_sealed,
                command_sealed=command_sealed,
            ),
        )

    def record_step_output_start(
        self, run_id: RunId, job_id: JobId, number: int, log_offset: int
    ) -> int:
        return self._update(
            run_id, lambda run: run.record_step_output_start(job_id, number, log_offset)
        )

    def finish_step(
        self,
        run_id: RunId,
        job_id: JobId,
        number: int,
        *,
        state: StepState,
        exit_code: int | None,
        log_offset: int,
        reason: str = "",
        log_start: int | None = None,
    ) -> int:
        return self._update(
            run_id,
            lambda run: run.finish_step(
                job_id,
                number,
                state=state,
                exit_code=exit_code,
                log_offset=log_offset,
                reason=reason,
                log_start=log_start,
            ),
        )

    def record_artifact(self, run_id: RunId, job_id: JobId, artifact: Artifact) -> int:
        return self._update(run_id, lambda run: run.record_artifact(job_id, artifact))

    def record_provenance(self, run_id: RunId, job_id: JobId, artifact: Artifact) -> int:
        return self._update(run_id, lambda run: run.record_provenance(job_id, artifact))

    def reap_log(self, run_id: RunId, job_id: JobId, policy: str, size: int, reaping: str) -> int:
        return self._update(run_id, lambda run: run.reap_log(job_id, policy, size, reaping))

    def reap_artifacts(
        self,
        run_id: RunId,
        job_id: JobId,
        names: list[str],
        *,
        policy: str,
        size: int,
        reaping: str,
    ) -> int:
        return self._update(
            run_id, lambda run: run.reap_artifacts(job_id, names, policy, size, reaping)
        )

    def record_secret_read(self, run_id: RunId, job_id: JobId, key: str, scope: str) -> int:
        return self._update(run_id, lambda run: run.record_secret_read(job_id, key, scope))

    def record_report(
        self, run_id: RunId, job_id: JobId, succeeded: bool, message: str, failed_step: int = 0
    ) -> int:
        return self._update(
            run_id, lambda run: run.record_report(job_id, succeeded, message, failed_step)
        )

    def ending_after_exit(
        self, run_id: RunId, job_id: JobId, exit_code: int | None, why: str
    ) -> Ending:
        """How a job whose processes exited ended (from what the run recorded)."""
        return self.get(run_id).ending_after_exit(job_id, exit_code, why)

    def wait(self, run_id: RunId, reason: str) -> int:
        return self._update(run_id, lambda run: run.wait(reason))

    def _update(self, run_id: RunId, act: Any) -> int:
        try:
            return self._log.update(Run, run_id, act)
        except AggregateNotFoundError:
            raise RunNotFoundError(f"no run {run_id}") from None
