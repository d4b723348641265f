"""The entities inside a run: its jobs, their steps and artifacts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from domain.ids import JobId
from domain.runs.states import JobState, StepState


@dataclass(frozen=True)
class Step:
    """A step as recorded. Immutable: an event replaces it, so copies of a run (one
    per command) can share their steps instead of copying each one."""

    number: int
    name: str
    command: str
    image: str
    timeout_seconds: float
    log_start: int | None  # None until its runner recorded where its output begins
    started_at: datetime
    state: StepState = StepState.RUNNING
    exit_code: int | None = None
    log_end: int | None = None
    reason: str = ""
    finished_at: datetime | None = None
    # The environment and the command as given, sealed (``api.execution.material``): kept
    # in the run for the executor only; no read model or query result copies them.
    env_sealed: Mapping[str, str] | None = field(default=None, repr=False)
    command_sealed: Mapping[str, str] | None = field(default=None, repr=False)


# Written by the control plane when a job ends (signed provenance); never by the job.
PROVENANCE_ARTIFACT = "provenance.json"


@dataclass(frozen=True)
class Artifact:
    name: str
    kind: str  # "file" or "directory" (stored as tar.gz)
    size: int
    sha256: str


@dataclass
class Job:
    id: JobId
    name: str
    state: JobState = JobState.PENDING
    reason: str = ""
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    steps: dict[int, Step] = field(default_factory=dict)
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    secrets_read: set[str] = field(default_factory=set)
    report: tuple[JobState, str] | None = None
    reused_from: str = ""  # a rerun's job that succeeded before: the job (hex) it reuses
    log_reaped_at: datetime | None = None  # removed by the reaper (retention)
    artifacts_reaped_at: datetime | None = None
