"""Read models of runs, jobs, steps and pipelines, folded from ``Run`` events.

Pipelines appear here as soon as a run of them is seen; configuration adds to them later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.runs.aggregates import Run
from domain.runs.states import JobState, derive_run_state
from projections.model import Column, ColumnType, Rows, Table

INT, JSON = ColumnType.INTEGER, ColumnType.JSON

RUNS = Table(
    "runs",
    (
        Column("pipeline"),
        Column("repository"),
        Column("ref"),
        Column("branch"),
        Column("commit_sha"),
        Column("trigger_type"),
        Column("trigger_ref"),
        Column("delivery_id"),
        Column("actor"),
        Column("state"),
        Column("cancel_requested", INT),
        Column("requested_at"),
        Column("started_at"),
        Column("finished_at"),
        Column("jobs", JSON),
        Column("version", INT),
        Column("waiting_reason"),
        Column("spec", JSON),
        Column("retry_of"),
        Column("changed", INT),
    ),
    indexes=(
        ("pipeline", "requested_at"),
        ("state", "requested_at"),
        ("requested_at",),
        ("changed",),
        ("pipeline", "changed"),
    ),
)
JOBS = Table(
    "jobs",
    (
        Column("run_id"),
        Column("name"),
        Column("pipeline"),
        Column("repository"),
        Column("ref"),
        Column("commit_sha"),
        Column("trigger_type"),
        Column("state"),
        Column("reason"),
        Column("requested_at"),
        Column("scheduled_at"),
        Column("started_at"),
        Column("finished_at"),
        Column("step_count", INT),
        Column("trigger_ref"),
        Column("spec", JSON),
        Column("cancel_requested", INT),
        Column("secrets_read", JSON),
        Column("report", JSON),
        Column("reused_from"),
        Column("log_reaped", JSON),  # {"at", "policy", "size"} once the reaper removed it
        Column("artifacts_reaped", JSON),
    ),
    indexes=(("run_id",), ("pipeline", "requested_at"), ("state", "requested_at")),
)
STEPS = Table(
    "steps",
    (
        Column("job_id"),
        Column("run_id"),
        Column("number", INT),
        Column("name"),
        Column("command"),
        Column("image"),
        Column("state"),
        Column("exit_code", INT),
        Column("log_start", INT),
        Column("log_end", INT),
        Column("reason"),
        Column("started_at"),
        Column("finished_at"),
        Column("timeout_seconds", ColumnType.REAL),
    ),
    indexes=(("job_id", "number"), ("state",)),
    # Never the sealed environment or command: the executor reads those from the run's
    # events. Older versions copied them here; an upgrade drops the columns.
    retired=("env_sealed", "command_sealed"),
)
ARTIFACTS = Table(
    "artifacts",
    (
        Column("job_id"),
        Column("run_id"),
        Column("name"),
        Column("kind"),
        Column("size", INT),
        Column("sha256"),
        Column("uploaded_at"),
    ),
    indexes=(("job_id", "name"),),
)
# One row: how many times a run row changed, in fold order. Each run row carries the value
# at its last change (``changed``), so "runs changed since N" is one indexed read, in the
# order the changes were folded (timestamps from several writers need not be ordered).
# Its row "queue" counts only the changes of what the dispatcher decides on (a run
# requested or cancelled, a job's state, a wait): not steps, artifacts or reports.
SEQUENCE = Table("runs_sequence", (Column("value", INT),))
QUEUE_SEQUENCE = "queue"
PIPELINES = Table(
    "pipelines",
    (
        Column("repository"),
        Column("run_count", INT),
        Column("last_run_id"),
        Column("last_state"),
        Column("last_requested_at"),
    ),
)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def branch_of(ref: str) -> str:
    return ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else ""


class RunsProjection:
    name = "runs"
    tables = (RUNS, JOBS, STEPS, PIPELINES, ARTIFACTS, SEQUENCE)
    topics = frozenset(
        cls.TOPIC
        for cls in (
            Run.Requested,
            Run.JobScheduled,
            Run.JobStarted,
            Run.JobFinished,
            Run.CancelRequested,
            Run.StepStarted,
            Run.StepOutputStarted,
            Run.StepFinished,
            Run.ArtifactUploaded,
            Run.ProvenanceRecorded,
            Run.SecretRead,
            Run.Waiting,
            Run.JobReported,
            Run.LogReaped,
            Run.ArtifactsReaped,
        )
    )

    def apply(self, event: Any, rows: Rows) -> None:
        handler = _HANDLERS.get(type(event).TOPIC)
        if handler is not None:
            handler(event, rows)
            _versioned(event, rows)


def _versioned(event: Any, rows: Rows) -> None:
    """Every event of a run is a change of it: its version is its event count (what time
    travel and the event history number), and live subscribers are told of each (a step,
    an artifact or a provenance record after the job ended changes what the run shows)."""
    run = rows.get("runs", event.originator_id.hex)
    if run is not None and run["version"] != event.originator_version:
        run["version"] = event.originator_version
        _put_run(run, rows, queue=False)  # nothing a dispatcher decides on changed


def _requested(event: Run.Requested, rows: Rows) -> None:
    run_id = event.originator_id.hex
    at = iso(event.timestamp)
    trigger = event.trigger
    states = {_hex(job["id"]): _initial_state(job) for job in event.jobs}
    run_state = derive_run_state(states.values())
    run = RUNS.blank(run_id)
    run.update(
        pipeline=event.pipeline,
        repository=event.repository,
        ref=event.ref,
        branch=branch_of(event.ref),
        commit_sha=event.commit_sha,
        trigger_type=trigger.get("type", ""),
        trigger_ref=trigger.get("ref", event.ref),
        delivery_id=trigger.get("delivery_id", ""),
        actor=event.cause.get("actor", ""),
        state=run_state.value,
        cancel_requested=0,
        requested_at=at,
        finished_at=at if run_state.is_terminal else None,
        jobs={
            _hex(job["id"]): {"name": job["name"], "state": states[_hex(job["id"])].value}
            for job in event.jobs
        },
        version=event.originator_version,
        waiting_reason="",
        spec=event.spec,
        retry_of=trigger.get("retry_of") or None,
    )
    _put_run(run, rows)
    for job in event.jobs:
        row = JOBS.blank(_hex(job["id"]))
        row.update(
            run_id=run_id,
            name=job["name"],
            pipeline=event.pipeline,
            repository=event.repository,
            ref=event.ref,
            commit_sha=event.commit_sha,
            trigger_type=run["trigger_type"],
            state=states[_hex(job["id"])].value,
            reason=f"reused: succeeded in job {job['reused_from']}"
            if job.get("reused_from")
            else "",
            finished_at=at if job.get("reused_from") else None,
            reused_from=job.get("reused_from") or None,
            requested_at=at,
            step_count=0,
            trigger_ref=run["trigger_ref"],
            spec=event.spec,
            cancel_requested=0,
            secrets_read=[],
        )
        rows.put("jobs", row)
    pipeline = rows.get("pipelines", event.pipeline) or PIPELINES.blank(event.pipeline)
    pipeline.update(
        repository=event.repository,
        run_count=(pipeline["run_count"] or 0) + 1,
        last_run_id=run_id,
        last_state=run_state.value,
        last_requested_at=at,
    )
    rows.put("pipelines", pipeline)


def _put_run(run: dict[str, Any], rows: Rows, queue: bool = True) -> None:
    """Store a changed run row, stamped with the next change number; with ``queue``,
    its state, jobs or waits changed too (what the dispatcher decides on): the queue's
    change number moves as well."""
    counter = _next(rows, "runs")
    if queue:
        _next(rows, QUEUE_SEQUENCE)
    run["changed"] = counter
    rows.put("runs", run)


def _next(rows: Rows, key: str) -> int:
    counter = rows.get("runs_sequence", key) or SEQUENCE.blank(key)
    counter["value"] = (counter["value"] or 0) + 1
    rows.put("runs_sequence", counter)
    return int(counter["value"])


def _initial_state(job: dict[str, Any]) -> JobState:
    """A rerun's reused job starts as succeeded; every other job as pending."""
    return JobState.SUCCESS if job.get("reused_from") else JobState.PENDING


def _job_changed(event: Any, rows: Rows, state: JobState, time_column: str) -> None:
    job = rows.get("jobs", _hex(event.job_id))
    run = rows.get("runs", event.originator_id.hex)
    if job is None or run is None:
        return
    job["state"] = state.value
    job[time_column] = iso(event.timestamp)
    job["reason"] = getattr(event, "reason", job["reason"])
    rows.put("jobs", job)
    jobs = dict(run["jobs"] or {})
    key = _hex(event.job_id)
    jobs[key] = {**jobs.get(key, {}), "state": state.value}
    run["jobs"] = jobs
    run["state"] = derive_run_state(j["state"] for j in jobs.values()).value
    if state == JobState.RUNNING and run["started_at"] is None:
        run["started_at"] = iso(event.timestamp)
    if JobState(run["state"]).is_terminal:
        run["finished_at"] = iso(event.timestamp)
    run["version"] = event.originator_version
    _put_run(run, rows)
    pipeline = rows.get("pipelines", run["pipeline"])
    if pipeline is not None and pipeline["last_run_id"] == run["id"]:
        pipeline["last_state"] = run["state"]
        rows.put("pipelines", pipeline)


def _cancel_requested(event: Run.CancelRequested, rows: Rows) -> None:
    run = rows.get("runs", event.originator_id.hex)
    if run is None:
        return
    run["cancel_requested"] = 1
    run["version"] = event.originator_version
    _put_run(run, rows)
    for job_id in run["jobs"] or {}:
        job = rows.get("jobs", job_id)
        if job is not None:
            job["cancel_requested"] = 1
            rows.put("jobs", job)


def _step_started(event: Run.StepStarted, rows: Rows) -> None:
    job_id = _hex(event.job_id)
    step = STEPS.blank(f"{job_id}:{event.number:06d}")
    step.update(
        job_id=job_id,
        run_id=event.originator_id.hex,
        number=event.number,
        name=event.name,
        command=event.command,
        image=event.image,
        state="running",
        log_start=event.log_offset,
        reason="",
        started_at=iso(event.timestamp),
        timeout_seconds=event.timeout_seconds,
    )
    rows.put("steps", step)
    job = rows.get("jobs", job_id)
    if job is not None:
        job["step_count"] = max(job["step_count"] or 0, event.number)
        rows.put("jobs", job)


def _step_output_started(event: Run.StepOutputStarted, rows: Rows) -> None:
    step = rows.get("steps", f"{_hex(event.job_id)}:{event.number:06d}")
    if step is not None:
        step["log_start"] = event.log_offset
        rows.put("steps", step)


def _step_finished(event: Run.StepFinished, rows: Rows) -> None:
    step = rows.get("steps", f"{_hex(event.job_id)}:{event.number:06d}")
    if step is None:
        return
    if event.log_start is not None:  # its start and end recorded at once
        step["log_start"] = event.log_start
    step.update(
        state=event.state,
        exit_code=event.exit_code,
        log_end=event.log_offset,
        reason=event.reason,
        finished_at=iso(event.timestamp),
    )
    rows.put("steps", step)


def _artifact_uploaded(event: Run.ArtifactUploaded, rows: Rows) -> None:
    job_id = _hex(event.job_id)
    row = ARTIFACTS.blank(f"{job_id}:{event.name}")
    row.update(
        job_id=job_id,
        run_id=event.originator_id.hex,
        name=event.name,
        kind=event.kind,
        size=event.size,
        sha256=event.sha256,
        uploaded_at=iso(event.timestamp),
    )
    rows.put("artifacts", row)


def _secret_read(event: Run.SecretRead, rows: Rows) -> None:
    job = rows.get("jobs", _hex(event.job_id))
    if job is not None:
        job["secrets_read"] = sorted({*(job["secrets_read"] or []), event.key})
        rows.put("jobs", job)


def _job_reported(event: Run.JobReported, rows: Rows) -> None:
    job = rows.get("jobs", _hex(event.job_id))
    if job is not None:
        job["report"] = {"state": event.state, "reason": event.reason}
        rows.put("jobs", job)


def _reaped(column: str) -> Any:
    def fold(event: Run.LogReaped | Run.ArtifactsReaped, rows: Rows) -> None:
        job = rows.get("jobs", _hex(event.job_id))
        if job is not None:
            job[column] = {"at": iso(event.timestamp), "policy": event.policy, "size": event.size}
            rows.put("jobs", job)

    return fold


def _waiting(event: Run.Waiting, rows: Rows) -> None:
    run = rows.get("runs", event.originator_id.hex)
    if run is not None:
        run["waiting_reason"] = event.reason
        run["version"] = event.originator_version
        _put_run(run, rows)


def _hex(value: Any) -> str:
    return str(value).replace("-", "")


_HANDLERS: dict[str, Any] = {
    Run.Requested.TOPIC: _requested,
    Run.JobScheduled.TOPIC: lambda e, r: _job_changed(e, r, JobState.SCHEDULING, "scheduled_at"),
    Run.JobStarted.TOPIC: lambda e, r: _job_changed(e, r, JobState.RUNNING, "started_at"),
    Run.JobFinished.TOPIC: lambda e, r: _job_changed(e, r, JobState(e.state), "finished_at"),
    Run.CancelRequested.TOPIC: _cancel_requested,
    Run.StepStarted.TOPIC: _step_started,
    Run.StepOutputStarted.TOPIC: _step_output_started,
    Run.StepFinished.TOPIC: _step_finished,
    Run.ArtifactUploaded.TOPIC: _artifact_uploaded,
    Run.ProvenanceRecorded.TOPIC: _artifact_uploaded,
    Run.SecretRead.TOPIC: _secret_read,
    Run.Waiting.TOPIC: _waiting,
    Run.JobReported.TOPIC: _job_reported,
    Run.LogReaped.TOPIC: _reaped("log_reaped"),
    Run.ArtifactsReaped.TOPIC: _reaped("artifacts_reaped"),
}
