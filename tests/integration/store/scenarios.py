"""Realistic command sequences for many runs, driven through the real service."""

from __future__ import annotations

import contextlib
import random

from domain.cause import Cause
from domain.ids import job_id_for, new_run_id
from domain.runs.application import RunRequest, RunsService
from domain.runs.errors import RunsError
from domain.runs.states import JobState, StepState

PIPELINES = ["web", "api", "docs", "infra"]
ACTORS = ["user:alice", "user:bob", "webhook:github", "cron"]


def random_runs(runs: RunsService, count: int, seed: int = 7) -> int:
    """Request ``count`` runs and drive each somewhere along its life. Returns the log
    position after the last command."""
    rng = random.Random(seed)
    position = 0
    for _ in range(count):
        position = max(position, _one_run(runs, rng))
    return position


def _one_run(runs: RunsService, rng: random.Random) -> int:
    run_id = new_run_id()
    jobs = ["build"] if rng.random() < 0.7 else ["build", "test"]
    actor = rng.choice(ACTORS)
    cause = Cause(actor=actor, trigger=rng.choice(["push", "manual", "cron"]))
    position = runs.request_run(
        RunRequest(
            run_id=run_id,
            pipeline=rng.choice(PIPELINES),
            repository="https://example.com/org/repo.git",
            ref=rng.choice(["refs/heads/main", "refs/heads/dev", "refs/tags/v1"]),
            commit_sha=f"{rng.getrandbits(160):040x}",
            trigger={"type": cause.trigger},
            job_names=tuple(jobs),
        ),
        cause,
    )
    system = Cause(actor="system:dispatcher")
    for name in jobs:
        job = job_id_for(run_id, name)
        with contextlib.suppress(RunsError):  # e.g. the run was cancelled meanwhile
            position = _drive_job(runs, rng, run_id, job, system)
    if rng.random() < 0.1:
        with contextlib.suppress(RunsError):
            position = runs.cancel_run(run_id, Cause(actor=actor))
    return position


def _drive_job(runs: RunsService, rng: random.Random, run_id, job, cause: Cause) -> int:  # type: ignore[no-untyped-def]
    stop = rng.random()
    position = runs.schedule_job(run_id, job, cause)
    if stop < 0.1:
        return position
    position = runs.start_job(run_id, job, cause)
    offset = 0
    for number in range(1, rng.randint(1, 5) + 1):
        runs.start_step(
            run_id, job, number, name=f"step {number}", command="make", log_offset=offset
        )
        offset += rng.randint(0, 5000)
        if stop < 0.2 and number > 1:
            return runs.finish_job(run_id, job, JobState.TIMEOUT, "too slow", cause)
        exit_code = 0 if rng.random() < 0.85 else 2
        state = StepState.SUCCESS if exit_code == 0 else StepState.FAILURE
        position = runs.finish_step(
            run_id, job, number, state=state, exit_code=exit_code, log_offset=offset
        )
        if exit_code:
            return runs.finish_job(run_id, job, JobState.FAILURE, "step failed", cause)
    if stop < 0.3:
        return position  # still running
    return runs.finish_job(run_id, job, JobState.SUCCESS, "", cause)
