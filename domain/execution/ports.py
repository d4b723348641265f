"""The ports job execution depends on.

The same ``Executor`` contract is implemented by the local process executor (the
embedded default) and by the Kubernetes pod adapter. The reconciler calls it
level-triggered: every method may be called again for the same job or step after a crash
or a restart of the caller, and must then do nothing new.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from domain.execution.git_access import GitAccess
from domain.ids import JobId, RunId
from domain.runs.states import StepState


class Stream(StrEnum):
    STDOUT = "stdout"
    STDERR = "stderr"
    SYSTEM = "system"  # Danube's own lines: step headers, checkout, failure reasons


class OutputSink(Protocol):
    """Where a job's output goes (the log store, masked). Thread-safe."""

    def write(self, stream: Stream, data: bytes) -> None: ...


@dataclass(frozen=True)
class JobLaunch:
    """Everything an executor needs to start one job. ``env`` is the coordinator's
    environment (``DANUBE_*`` context and the master address); the job token is passed
    separately so an executor can keep it out of manifests and logs."""

    job_id: JobId
    run_id: RunId
    pipeline: str
    repository: str
    commit_sha: str
    ref: str
    token: str = field(repr=False)
    env: Mapping[str, str] = field(default_factory=dict)
    script: str = "danubefile.py"
    image: str = ""
    max_duration_seconds: int = 3600
    workspace_size_gb: int = 10
    resources: Mapping[str, str] = field(default_factory=dict)
    # Credentials for the checkout (config.yaml git_authentication); None: none needed.
    git_access: GitAccess | None = field(default=None, repr=False)


class Phase(StrEnum):
    ABSENT = "absent"  # nothing known about this job (never started, or already released)
    # The executor cannot tell yet (e.g. it has not had its first look at the cluster):
    # nothing is started, adopted or failed on its word until it can.
    UNKNOWN = "unknown"
    PREPARING = "preparing"  # workspace, checkout, pod scheduling
    RUNNING = "running"  # the coordinator runs
    EXITED = "exited"  # the coordinator exited: see exit_code
    FAILED = "failed"  # it could not start or was lost: see reason


@dataclass(frozen=True)
class JobStatus:
    phase: Phase
    exit_code: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class StepLaunch:
    number: int
    name: str
    command: str
    env: Mapping[str, str] = field(default_factory=dict)
    image: str = ""
    timeout_seconds: float = 0.0  # 0: none


@dataclass(frozen=True)
class StepOutcome:
    """How a step ended: SUCCESS/FAILURE by exit code, TIMEOUT, or CANCELLED (stopped).
    ``exit_code`` is None when the command never exited on its own."""

    state: StepState
    exit_code: int | None
    reason: str = ""


class Executor(Protocol):
    """Runs jobs somewhere. Every method is idempotent per job id (and step number)."""

    name: str

    def start(self, job: JobLaunch, output: OutputSink) -> None:
        """Begin preparing and starting the job (workspace, checkout, coordinator) and
        return quickly; progress is observed through ``status``. The coordinator's own
        output goes to ``output``. Starting a job that is already known does nothing,
        except that an executor which found the job running from before a restart of its
        caller now sends the coordinator's further output to ``output``."""

    def status(self, job_id: JobId) -> JobStatus: ...

    def run_step(self, job_id: JobId, step: StepLaunch, output: OutputSink) -> StepOutcome:
        """Run one step command as a fresh ``/bin/sh -c`` in the job's workspace (worker)
        with only ``step.env`` added, streaming its output to ``output``; block until it
        exits, times out (``step.timeout_seconds``) or the job is stopped. Called in a
        thread of its own. A repeated call for a step number returns the first run's
        outcome (it never runs twice); a step of an unknown or failed job ends as FAILURE
        with exit code None; after ``stop`` every step ends CANCELLED."""

    def stop(self, job_id: JobId, reason: str) -> None:
        """End everything the job runs (coordinator and steps: whole process groups or
        the pod). Running ``run_step`` calls return CANCELLED; ``status`` then reports
        EXITED or FAILED, never RUNNING. Idempotent."""

    def release(self, job_id: JobId) -> None:
        """Remove what is left (workspace, pod, secrets). Idempotent."""


@runtime_checkable
class Inventory(Protocol):
    """An executor that can say what it holds, e.g. pods that outlive its own process."""

    def jobs(self) -> Collection[JobId] | None:
        """Every job the executor holds something for (running or left over), or None
        while it cannot tell yet (the reconciler asks again on its next tick). The
        reconciler releases those that are not active: orphans of jobs that ended while
        nobody watched."""


# ---- what the reconciler reads and writes besides the executor ------------------------


class ActiveJob(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def pipeline(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def started_at(self) -> str | None: ...
    @property
    def spec(self) -> Mapping[str, Any] | None: ...
    @property
    def cancel_requested(self) -> int: ...
    @property
    def secrets_read(self) -> Sequence[str] | None: ...
    @property
    def report(self) -> Mapping[str, str] | None:
        """What the coordinator reported: ``{"state": ..., "reason": ...}``."""


class RunningStep(Protocol):
    @property
    def number(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def command(self) -> str: ...
    @property
    def image(self) -> str: ...
    @property
    def timeout_seconds(self) -> float: ...


class RecordedStep(Protocol):
    """A step as its run recorded it (``Run.StepStarted``), sealed material included:
    read from the event log, never from a read model."""

    @property
    def command(self) -> str: ...
    @property
    def env_sealed(self) -> Mapping[str, str] | None: ...
    @property
    def command_sealed(self) -> Mapping[str, str] | None:
        """The command as given, sealed, when ``command`` is masked; else None."""

    @property
    def log_start(self) -> int | None:
        """Where its output begins in the job's log (just past its opening line); None
        while that line is not written yet."""


class ExecutionView(Protocol):
    def active_jobs(self) -> Sequence[ActiveJob]: ...
    def running_steps(self, job_id: str) -> Sequence[RunningStep]: ...
    def job(self, job_id: str) -> ActiveJob | None: ...


class StepMaterial(Protocol):
    """What a step needs to run that the log keeps only sealed: its environment and its
    command as given. Needed only while the job runs; destroyed when it ends.

    Contract: ``open`` raises ``SecretUnreadableError`` when the material can never be
    opened (destroyed, or not sealed by this vault); any other error is transient.
    ``destroy`` makes every piece sealed for the job unreadable for good and is
    idempotent. ``held`` lists the jobs that still have material that could be opened."""

    def open(self, step: RecordedStep) -> tuple[str, dict[str, str]]:
        """(the command as given, the environment)."""

    def destroy(self, job_id: JobId) -> None: ...

    def held(self) -> Collection[JobId]: ...


class JobOutput(Protocol):
    """Where jobs' output goes (the log store, masked by each job's known secrets)."""

    def for_job(self, job_id: JobId) -> OutputSink:
        """The coordinator's own output."""

    def for_step(self, job_id: JobId, number: int) -> OutputSink: ...

    def size(self, job_id: JobId) -> int:
        """The job log's size in bytes, after everything written so far is stored."""

    def opened_steps(self, job_id: JobId) -> Mapping[int, int]:
        """The steps whose opening line (``system_line``) the log holds, each with the
        job offset just past it (for a job taken over from another process)."""

    def mask_secrets(self, job_id: JobId, pipeline: str, keys: Sequence[str]) -> None:
        """Make sure the values of these secrets are masked in this job's output."""

    def mask_token(self, job_id: JobId, token: str) -> None:
        """Mask the job's token in its output (its processes can read it)."""

    def system_line(self, job_id: JobId, text: str) -> int:
        """A line of Danube's own in the job log (step openings and endings, failure
        reasons), after everything written before it; returns the job offset just past
        the line."""

    def close(self, job_id: JobId) -> None:
        """The job ended: flush what is held back and forget it."""
