"""Identifiers shared across contexts.

Ids are UUIDs. Run ids may be derived deterministically (``run_id_for``) so that the same
trigger (pipeline, commit, trigger kind, ref) can never start a second run: the second
request collides with the first run's stream in the event store. Job ids are derived from
their run and job name, so pods and tokens can be named before anything is stored.
"""

from __future__ import annotations

from typing import NewType
from uuid import UUID, uuid4, uuid5

RunId = NewType("RunId", UUID)
JobId = NewType("JobId", UUID)

_RUNS = UUID("6f0c2a52-3c1e-4d7e-9a55-2d5f7c1b9e01")
_JOBS = UUID("b7e4d1a0-58a3-4f4e-8c6d-0f2b9a7c3e12")
_SCHEDULED_RUNS = UUID("3d9b7e21-84c5-4f6a-b0d2-6e1f8a4c5b37")


def new_run_id() -> RunId:
    return RunId(uuid4())


def run_id_for(pipeline: str, commit_sha: str, trigger: str, ref: str) -> RunId:
    """The run id of a deduplicated trigger: same inputs, same id."""
    return RunId(uuid5(_RUNS, f"{pipeline}\x00{commit_sha}\x00{trigger}\x00{ref}"))


def scheduled_run_id_for(pipeline: str, trigger_key: str, minute: str) -> RunId:
    """The run id of one scheduled minute of one cron trigger. The commit is left out on
    purpose: a branch that moves between two replicas' (or a retry's) resolutions must
    not turn one minute into two runs."""
    return RunId(uuid5(_SCHEDULED_RUNS, f"{pipeline}\x00{trigger_key}\x00{minute}"))


def job_id_for(run_id: RunId, job_name: str) -> JobId:
    return JobId(uuid5(_JOBS, f"{run_id.hex}\x00{job_name}"))
