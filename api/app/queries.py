"""Queries: one answer to each question, whichever transport asks.

Reads the read models (runs, config) and, for time travel and audit, the event log
itself. Every answer is a typed result from ``api.app.results``; runs are paged newest
first with keyset cursors (stable while new runs arrive)."""

from __future__ import annotations

import base64
import codecs
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, Protocol
from uuid import UUID

from api.app.access import Access
from api.app.errors import GoneError, InvalidInputError, NotFoundError, translated
from api.app.principal import Principal
from api.app.results import (
    ArtifactResult,
    AuditEntry,
    EventRecord,
    JobResult,
    LogChunk,
    Page,
    PipelineResult,
    QueueEntry,
    RunAsOf,
    RunResult,
    SecretReadResult,
    StepResult,
    SystemStatus,
)
from domain.auth.policy import Action
from domain.eventlog import EventLog
from domain.ids import RunId
from domain.runs.application import RunsService
from domain.runs.states import JobState
from domain.system.application import SystemService
from projections.audit import AuditView
from projections.config_view import ConfigView, DeliveriesView
from projections.runs_view import RunsView

MAX_PAGE = 100
MAX_LOG_CHUNK = 1024 * 1024
AUDIT_FIELDS = ("id", "at", "action", "actor", "pipeline", "run_id", "job_id", "delivery_id",
                "trigger", "reason", "detail")  # fmt: skip
SEALED_FIELDS = frozenset({"env_sealed", "command_sealed"})
_EVENT_META = frozenset({"originator_id", "originator_version", "timestamp"})


@dataclass(frozen=True)
class AuditFilter:
    pipeline: str = ""
    actor: str = ""
    run_id: str = ""
    action: str = ""


@dataclass(frozen=True)
class RunFilter:
    pipeline: str = ""
    branch: str = ""
    state: str = ""
    trigger: str = ""
    actor: str = ""


class LogReader(Protocol):
    """What queries read of job logs (``api.execution.outputs.LogOutputs``)."""

    def read_bytes(self, job_id: str, offset: int, limit: int) -> bytes: ...
    def stored_size(self, job_id: str) -> int: ...


class ArtifactFiles(Protocol):
    """Where artifacts are stored (``adapters.artifacts``)."""

    def open(self, job_id: str, name: str) -> BinaryIO: ...


class Queries:
    """Every public method takes the principal asking first and makes the one check its
    question needs (``Access``); lists are narrowed to what the principal may read in
    the read model's query itself. The batch getters (``jobs``, ``steps_of``,
    ``artifacts_of``) serve fields of runs and jobs already checked."""

    def __init__(
        self,
        runs_view: RunsView,
        artifact_files: ArtifactFiles,
        config_view: ConfigView,
        logs: LogReader,
        runs: RunsService,
        system: SystemService,
        log: EventLog,
        lag: Callable[[], dict[str, float]],
        audit: AuditView,
        access: Access,
        deliveries: DeliveriesView,
    ) -> None:
        self._views, self._config, self._logs = runs_view, config_view, logs
        self._files, self._audit, self._access = artifact_files, audit, access
        self._deliveries = deliveries
        self._runs, self._system, self._log, self._lag = runs, system, log, lag

    @property
    def access(self) -> Access:
        return self._access

    # ---- pipelines -------------------------------------------------------------------

    def pipelines(self, principal: Principal) -> list[PipelineResult]:
        """Configured pipelines with their last run, and pipelines seen only in runs:
        those the principal may read."""
        self._access.authenticated(principal, "pipelines")
        names = principal.readable()
        seen = {p.name: p for p in self._views.pipelines(names)}
        results = []
        for row in self._config.pipelines(names):
            results.append(_pipeline(row["id"], row["repository"], True, seen.pop(row["id"], None)))
        results += [_pipeline(name, p.repository, False, p) for name, p in seen.items()]
        return sorted(results, key=lambda p: p.name)

    def pipeline(self, principal: Principal, name: str) -> PipelineResult:
        self._access.require(principal, Action.READ, "pipeline", name)
        row = self._config.pipeline(name)
        seen = self._views.pipeline(name)
        if row is not None:
            return _pipeline(name, row["repository"], True, seen)
        if seen is not None:
            return _pipeline(name, seen.repository, False, seen)
        raise NotFoundError(f"no pipeline {name!r}")

    # ---- runs, jobs, steps -----------------------------------------------------------

    def runs(
        self, principal: Principal, filter: RunFilter, first: int = 20, after: str | None = None
    ) -> Page:
        self._access.authenticated(principal, "runs")
        if not 1 <= first <= MAX_PAGE:
            raise InvalidInputError(f"first must be between 1 and {MAX_PAGE}, got {first}")
        self.valid_run_filter(filter)
        filters = {
            "pipeline": filter.pipeline,
            "branch": filter.branch,
            "state": filter.state,
            "trigger_type": filter.trigger,
            "actor": filter.actor,
        }
        page = self._views.runs(
            after=_decode_cursor(after), limit=first, pipelines=principal.readable(), **filters
        )
        items = [RunResult.of(view) for view in page.items]
        cursor = _encode_cursor(page.next_cursor) if page.next_cursor else None
        return Page(items=items, end_cursor=cursor, has_next_page=page.next_cursor is not None)

    def jobs_list(
        self, principal: Principal, pipeline: str = "", state: str = "", limit: int = 50
    ) -> list[JobResult]:
        """Jobs newest first (of pipelines the principal may read)."""
        self._access.authenticated(principal, "jobs")
        if state and state not in {s.value for s in JobState}:
            states = ", ".join(sorted(s.value for s in JobState))
            raise InvalidInputError(f"invalid state {state!r}: one of {states}")
        page = self._views.jobs(
            pipeline=pipeline, state=state, limit=limit, pipelines=principal.readable()
        )
        return [JobResult.of(view) for view in page.items]

    @staticmethod
    def valid_run_filter(filter: RunFilter) -> None:
        """``InvalidInputError`` unless the filter's state (if any) is a state."""
        if filter.state and filter.state not in {s.value for s in JobState}:
            states = ", ".join(s.value for s in JobState)
            raise InvalidInputError(f"invalid state {filter.state!r}: one of {states}")

    def last_run_change(self) -> int:
        """Where "runs changed since" starts for a subscriber that starts now."""
        return self._views.last_change()

    def runs_changed_since(self, change: int, filter: RunFilter) -> tuple[list[RunResult], int]:
        """Runs matching ``filter`` whose latest change came after ``change``, in the
        order they changed, and the change number to continue from. (For the live feed,
        shared by subscribers: each subscriber's principal is checked as it receives.)"""
        views = self._views.changed_since(change, pipeline=filter.pipeline)
        last = max((view.changed for view in views), default=change)
        wanted = {
            "branch": filter.branch,
            "state": filter.state,
            "trigger_type": filter.trigger,
            "actor": filter.actor,
        }
        matching = [
            RunResult.of(view)
            for view in views
            if all(not value or getattr(view, key) == value for key, value in wanted.items())
        ]
        return matching, last

    def run(self, principal: Principal, run_id: str) -> RunResult:
        self._access.authenticated(principal, "run")
        view = self._views.run(_uuid(run_id, "run"))
        if view is None:
            raise NotFoundError(f"no run {run_id}")
        self._access.require(principal, Action.READ, "run", view.pipeline)
        return RunResult.of(view)

    def run_as_of(self, principal: Principal, run_id: str, version: int) -> RunAsOf:
        """The run exactly as it was after its ``version``-th event (time travel)."""
        self.run(principal, run_id)
        if version < 1:
            raise InvalidInputError(f"asOfVersion starts at 1, got {version}")
        with translated():
            run = self._runs.get(RunId(_uuid(run_id, "run")))
            if version > run.version:
                raise InvalidInputError(f"run {run_id} has only {run.version} events")
            return RunAsOf.of(self._runs.get(RunId(run.id), version=version))

    def job(self, principal: Principal, job_id: str) -> JobResult:
        self._access.authenticated(principal, "job")
        view = self._views.job(_uuid(job_id, "job"))
        if view is None:
            raise NotFoundError(f"no job {job_id}")
        self._access.require(principal, Action.READ, "job", view.pipeline)
        return JobResult.of(view)

    def jobs(self, job_ids: Sequence[str]) -> list[JobResult | None]:
        """Batch getter (for DataLoaders), one query: a result per id, None if unknown."""
        keys = [_uuid(job_id, "job").hex for job_id in job_ids]
        found = self._views.jobs_by_id(keys)
        return [JobResult.of(found[key]) if key in found else None for key in keys]

    def steps_of(self, job_ids: Sequence[str]) -> list[list[StepResult]]:
        """Batch getter: each job's steps, in one query."""
        keys = [_uuid(job_id, "job").hex for job_id in job_ids]
        found = self._views.steps_of(keys)
        return [[StepResult.of(view) for view in found[key]] for key in keys]

    def artifacts_of(self, job_ids: Sequence[str]) -> list[list[ArtifactResult]]:
        """Batch getter: each job's artifacts, in one query."""
        keys = [_uuid(job_id, "job").hex for job_id in job_ids]
        found = self._views.artifacts_of(keys)
        return [[ArtifactResult.of(view) for view in found[key]] for key in keys]

    def steps(self, principal: Principal, job_id: str) -> list[StepResult]:
        job = self.job(principal, job_id)
        return [StepResult.of(view) for view in self._views.steps(job.id)]

    def artifacts(self, principal: Principal, job_id: str) -> list[ArtifactResult]:
        job = self.job(principal, job_id)
        return [ArtifactResult.of(view) for view in self._views.artifacts(job.id)]

    def artifact(
        self, principal: Principal, job_id: str, name: str
    ) -> tuple[ArtifactResult, BinaryIO]:
        """An artifact's record and its stored bytes, opened for reading."""
        job = self.job(principal, job_id)
        key = job.id
        view = self._views.artifact(key, name)
        if view is None:
            raise NotFoundError(f"job {job_id} has no artifact {name!r}")
        reaped = job.artifacts_reaped
        if reaped:
            what = f"artifact {name!r} of job {key}"
            message = f"{what} was removed by the reaper on {reaped['at']} under {reaped['policy']}"
            raise GoneError(message, str(reaped["at"]))
        try:
            return ArtifactResult.of(view), self._files.open(key, name)
        except (OSError, ValueError) as error:
            raise NotFoundError(
                f"the artifact {name!r} of job {job_id} cannot be read: {error}"
            ) from None

    def queue(self, principal: Principal) -> list[QueueEntry]:
        """Waiting jobs of the pipelines the principal may read, each with its place in
        the whole queue."""
        self._access.authenticated(principal, "queue")
        readable = principal.readable()
        entries = []
        for position, view in enumerate(self._views.queued_jobs(), start=1):
            if readable is not None and view.pipeline not in readable:
                continue  # still counted: positions are places in the whole queue
            run = self._views.run(view.run_id)
            reason = run.waiting_reason if run is not None else ""
            entries.append(QueueEntry(position, JobResult.of(view), reason))
        return entries

    # ---- logs ------------------------------------------------------------------------

    def log(
        self, principal: Principal, job_id: str, offset: int = 0, limit: int = MAX_LOG_CHUNK
    ) -> LogChunk:
        job = self.job(principal, job_id)
        if offset < 0:
            raise InvalidInputError(f"fromOffset must not be negative, got {offset}")
        if not 1 <= limit <= MAX_LOG_CHUNK:
            raise InvalidInputError(f"limit must be between 1 and {MAX_LOG_CHUNK}, got {limit}")
        data = self._logs.read_bytes(job.id, offset, limit)
        end = offset + len(data)
        complete = job.state.is_terminal and end >= self._logs.stored_size(job.id)
        # A character cut by the limit is left for the next read (unless nothing follows).
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        text = decoder.decode(data, final=complete)
        held = len(decoder.getstate()[0])
        return LogChunk(offset, text, end - held, complete)

    def log_bytes(
        self, principal: Principal, job_id: str, offset: int, limit: int
    ) -> tuple[bytes, int, bool]:
        """The log's bytes as stored from ``offset``: (data, next offset, complete)."""
        job = self.job(principal, job_id)
        reaped = job.log_reaped
        if reaped:
            message = (
                f"the log of job {job.id} was removed by the reaper on {reaped['at']} "
                f"under {reaped['policy']}"
            )
            raise GoneError(message, str(reaped["at"]))
        data = self._logs.read_bytes(job.id, offset, limit)
        end = offset + len(data)
        return data, end, job.state.is_terminal and end >= self._logs.stored_size(job.id)

    def log_size(self, principal: Principal, job_id: str) -> int:
        return self._logs.stored_size(self.job(principal, job_id).id)

    # ---- audit and system ------------------------------------------------------------

    def events(self, principal: Principal, run_id: str) -> list[EventRecord]:
        """The run's stored events, oldest first (sealed step material left out)."""
        self.run(principal, run_id)  # NotFound for an unknown run
        stored = self._log.events.get(_uuid(run_id, "run"))
        return [_event_record(event) for event in stored]

    def audit_trail(
        self, principal: Principal, filter: AuditFilter, first: int = 50, after: str | None = None
    ) -> Page:
        """Newest first: who did what, when, and for runs the delivery, run and job.
        A global admin sees every entry; anyone else those about pipelines they read."""
        self._access.authenticated(principal, "auditTrail")
        if not 1 <= first <= MAX_PAGE:
            raise InvalidInputError(f"first must be between 1 and {MAX_PAGE}, got {first}")
        run_id = _uuid(filter.run_id, "run").hex if filter.run_id else ""
        rows, cursor = self._audit.entries(
            after=_decode_cursor(after),
            limit=first,
            pipelines=principal.readable(),
            pipeline=filter.pipeline,
            actor=filter.actor,
            run_id=run_id,
            action=filter.action,
        )
        items = [AuditEntry(**{key: row[key] for key in AUDIT_FIELDS}) for row in rows]
        end = _encode_cursor(cursor) if cursor else None
        return Page(items=items, end_cursor=end, has_next_page=cursor is not None)

    def status(self, principal: Principal) -> SystemStatus:
        self._access.authenticated(principal, "status")
        state = self._config.state() or {}
        return SystemStatus(
            draining=self._system.is_draining(),
            config_commit=state.get("commit_sha"),
            projection_lag_seconds=self._lag(),
        )

    def secret_reads(
        self,
        principal: Principal,
        key: str = "",
        since: str = "",
        pipeline: str = "",
        first: int = MAX_PAGE,
    ) -> list[SecretReadResult]:
        """Which jobs were handed which secret (``key``: only that one) from ``since``
        (ISO 8601) on, oldest first: reads by jobs of pipelines the principal reads."""
        self._access.authenticated(principal, "secretReads")
        if not 1 <= first <= MAX_PAGE:
            raise InvalidInputError(f"first must be between 1 and {MAX_PAGE}, got {first}")
        if since:
            try:
                since = datetime.fromisoformat(since).astimezone(UTC).isoformat()
            except ValueError:
                raise InvalidInputError(f"since must be an ISO 8601 time, got {since!r}") from None
        pipelines = principal.readable()
        if pipeline:
            allowed = pipelines is None or pipeline in pipelines
            pipelines = frozenset({pipeline} if allowed else ())
        found: list[SecretReadResult] = []
        after = (since, "")
        while len(found) < first:
            rows = self._audit.secret_reads(after=after, pipelines=pipelines, limit=MAX_PAGE)
            for row in rows:
                detail = row.get("detail") or {}
                if key and detail.get("key") != key:
                    continue
                found.append(
                    SecretReadResult(
                        row["at"],
                        str(detail.get("key", "")),
                        str(detail.get("scope", "")),
                        row["pipeline"],
                        row["run_id"],
                        row["job_id"],
                    )
                )
            if len(rows) < MAX_PAGE:
                break
            after = (rows[-1]["at"], rows[-1]["id"])
        return found[:first]

    def config_state(self, principal: Principal) -> dict[str, Any]:
        """The config in force, when it was synced, the last rejection, a fetch problem."""
        self._access.require(principal, Action.READ_SYSTEM, "config")
        return dict(self._config.state() or {})

    def deliveries(self, principal: Principal, provider: str, limit: int) -> list[dict[str, Any]]:
        """The webhook inbox, newest first."""
        self._access.require(principal, Action.READ_SYSTEM, "deliveries")
        return self._deliveries.recent(limit, provider)


def _pipeline(name: str, repository: str, configured: bool, seen: Any) -> PipelineResult:
    return PipelineResult(
        name=name,
        repository=repository,
        configured=configured,
        run_count=seen.run_count if seen else 0,
        last_run_id=seen.last_run_id if seen else None,
        last_state=JobState(seen.last_state) if seen and seen.last_state else None,
        last_requested_at=seen.last_requested_at if seen else None,
    )


def _event_record(event: Any) -> EventRecord:
    data = {
        key: _plain(value)
        for key, value in vars(event).items()
        if key not in _EVENT_META and key not in SEALED_FIELDS
    }
    return EventRecord(
        version=event.originator_version,
        type=getattr(type(event), "TOPIC", type(event).__qualname__).removeprefix("danube:"),
        timestamp=event.timestamp.isoformat(),
        data=data,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return value.hex
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _uuid(raw: str, what: str) -> UUID:
    try:
        return UUID(str(raw))
    except ValueError:
        raise InvalidInputError(f"invalid {what} id {raw!r}: expected a UUID") from None


def run_cursor(run: RunResult) -> str:
    """The cursor that pages on after ``run`` (newest first)."""
    return _encode_cursor((run.requested_at, run.id))


def _encode_cursor(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _decode_cursor(cursor: str | None) -> tuple[str, str] | None:
    if not cursor:
        return None
    try:
        requested_at, run_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return str(requested_at), str(run_id)
    except (ValueError, TypeError):
        raise InvalidInputError(f"invalid cursor {cursor!r}") from None
