"""The query interface the API reads for runs, jobs, steps and pipelines."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from typing import Any, Self, cast
from uuid import UUID

from domain.runs.states import ACTIVE, TERMINAL, JobState, StepState
from projections.model import PositionedReader, Row, RowReader
from projections.runs import QUEUE_SEQUENCE


def _hex(value: UUID | str) -> str:
    return value.hex if isinstance(value, UUID) else value.replace("-", "")


class _FromRow:
    @classmethod
    def from_row(cls, row: Row) -> Self:
        names = _FIELDS.get(cls)
        if names is None:  # once per class: every row read asks
            names = _FIELDS[cls] = frozenset(f.name for f in fields(cls))  # type: ignore[arg-type]
        return cls(**{k: v for k, v in row.items() if k in names})


_FIELDS: dict[type, frozenset[str]] = {}


class _JobStated:
    """A view whose ``state`` is a ``JobState`` (the row holds its value)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", JobState(self.state))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RunView(_JobStated, _FromRow):
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
    cancel_requested: int
    requested_at: str
    started_at: str | None
    finished_at: str | None
    jobs: dict[str, Any]
    version: int
    waiting_reason: str = ""
    spec: dict[str, Any] | None = None
    retry_of: str | None = None
    changed: int = 0


@dataclass(frozen=True)
class JobView(_JobStated, _FromRow):
    id: str
    run_id: str
    name: str
    pipeline: str
    repository: str
    ref: str
    commit_sha: str
    trigger_type: str
    state: JobState
    reason: str
    requested_at: str
    scheduled_at: str | None
    started_at: str | None
    finished_at: str | None
    step_count: int
    trigger_ref: str = ""
    spec: dict[str, Any] | None = None
    cancel_requested: int = 0
    secrets_read: list[str] | None = None
    report: dict[str, str] | None = None
    reused_from: str | None = None
    log_reaped: dict[str, Any] | None = None
    artifacts_reaped: dict[str, Any] | None = None


@dataclass(frozen=True)
class StepView(_FromRow):
    id: str
    job_id: str
    run_id: str
    number: int
    name: str
    command: str
    image: str
    state: StepState
    exit_code: int | None
    log_start: int | None  # None until the step's runner wrote its opening line
    log_end: int | None
    reason: str
    started_at: str
    finished_at: str | None
    timeout_seconds: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", StepState(self.state))


@dataclass(frozen=True)
class ArtifactView(_FromRow):
    id: str
    job_id: str
    run_id: str
    name: str
    kind: str
    size: int
    sha256: str
    uploaded_at: str


@dataclass(frozen=True)
class PipelineView(_FromRow):
    id: str
    repository: str
    run_count: int
    last_run_id: str | None
    last_state: str | None
    last_requested_at: str | None

    @property
    def name(self) -> str:
        return self.id


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: tuple[str, str] | None


class RunsView:
    def __init__(self, reader: RowReader) -> None:
        self._reader = reader
        # The active jobs at a tracking position: the dispatcher, the reconciler and the
        # job-state releaser each ask on every move of the read model.
        self._positioned = reader if callable(getattr(reader, "position", None)) else None
        self._active: tuple[int, list[JobView]] | None = None

    def run(self, run_id: UUID | str) -> RunView | None:
        row = self._reader.get("runs", _hex(run_id))
        return None if row is None else RunView.from_row(row)

    def runs(
        self,
        *,
        after: tuple[str, str] | None = None,
        limit: int = 50,
        pipelines: Collection[str] | None = None,
        **filters: str,
    ) -> Page:
        """Newest first. Filters: pipeline, branch, state, trigger_type, actor; and
        ``pipelines``: only runs of these (None: of any)."""
        return self._page("runs", RunView, filters, after, limit, pipelines)

    def last_change(self) -> int:
        """The change number of the runs read model's latest run change (0: none yet)."""
        row = self._reader.get("runs_sequence", "runs")
        return int(row["value"] or 0) if row is not None else 0

    def last_queue_change(self) -> int:
        """Moves when a run is requested or cancelled, a job's state changes or a wait is
        recorded: what the dispatcher decides on (not steps, artifacts or reports)."""
        row = self._reader.get("runs_sequence", QUEUE_SEQUENCE)
        return int(row["value"] or 0) if row is not None else 0

    def changed_since(self, change: int, limit: int = 500, **filters: str) -> list[RunView]:
        """Runs whose latest change came after change number ``change``, in the order
        they changed. Filters: pipeline."""
        where = {k: v for k, v in filters.items() if v}
        rows = self._reader.find("runs", where, order_by=("changed",), after=(change,), limit=limit)
        return [RunView.from_row(row) for row in rows]

    def job(self, job_id: UUID | str) -> JobView | None:
        row = self._reader.get("jobs", _hex(job_id))
        return None if row is None else JobView.from_row(row)

    def jobs(
        self,
        *,
        after: tuple[str, str] | None = None,
        limit: int = 50,
        pipelines: Collection[str] | None = None,
        **filters: str,
    ) -> Page:
        """Newest first. Filters: pipeline, state, run_id; and ``pipelines``: only jobs
        of these (None: of any)."""
        return self._page("jobs", JobView, filters, after, limit, pipelines)

    def jobs_by_id(self, job_ids: Sequence[UUID | str]) -> dict[str, JobView]:
        """Batch getter: the jobs that exist among ``job_ids``, in one query."""
        rows = self._reader.find("jobs", {"id": [_hex(j) for j in job_ids]})
        return {row["id"]: JobView.from_row(row) for row in rows}

    def steps_of(self, job_ids: Sequence[UUID | str]) -> dict[str, list[StepView]]:
        """Batch getter: the steps of every job in ``job_ids``, in one query."""
        found: dict[str, list[StepView]] = {_hex(j): [] for j in job_ids}
        rows = self._reader.find("steps", {"job_id": list(found)}, order_by=("job_id", "number"))
        for row in rows:
            found[row["job_id"]].append(StepView.from_row(row))
        return found

    def artifacts_of(self, job_ids: Sequence[UUID | str]) -> dict[str, list[ArtifactView]]:
        """Batch getter: the artifacts of every job in ``job_ids``, in one query."""
        found: dict[str, list[ArtifactView]] = {_hex(j): [] for j in job_ids}
        rows = self._reader.find("artifacts", {"job_id": list(found)}, order_by=("job_id", "name"))
        for row in rows:
            found[row["job_id"]].append(ArtifactView.from_row(row))
        return found

    def steps(self, job_id: UUID | str) -> list[StepView]:
        rows = self._reader.find("steps", {"job_id": _hex(job_id)}, order_by=("number",))
        return [StepView.from_row(row) for row in rows]

    def active_jobs(self) -> list[JobView]:
        """Jobs being scheduled or running, oldest first. Read again only once the read
        model moved (its position is read first: the rows read after it are at least
        as fresh)."""
        if self._positioned is None:
            return self._read_active_jobs()
        position = cast(PositionedReader, self._positioned).position()
        cached = self._active
        if cached is not None and cached[0] == position:
            return list(cached[1])
        jobs = self._read_active_jobs()
        self._active = (position, jobs)
        return list(jobs)

    def _read_active_jobs(self) -> list[JobView]:
        rows = self._reader.find("jobs", {"state": sorted(ACTIVE)})
        rows.sort(key=lambda row: (row["requested_at"], row["id"]))
        return [JobView.from_row(row) for row in rows]

    def queued_jobs(
        self, limit: int = 1000, pipelines: Collection[str] | None = None
    ) -> list[JobView]:
        """Pending jobs in arrival order (FIFO); only those of ``pipelines`` if given."""
        where: dict[str, Any] = {"state": "pending"}
        if pipelines is not None:
            where["pipeline"] = sorted(pipelines)
        rows = self._reader.find("jobs", where, order_by=("requested_at", "id"), limit=limit)
        return [JobView.from_row(row) for row in rows]

    def ended_jobs_before(self, moment: str) -> list[JobView]:
        """Ended jobs that finished before ``moment`` (ISO 8601, UTC), oldest first: what
        the reaper may consider. Never a queued, scheduling or running job."""
        rows = [
            row
            for row in self._reader.find("jobs", {"state": sorted(TERMINAL)})
            if row["finished_at"] and row["finished_at"] < moment
        ]
        rows.sort(key=lambda row: (row["finished_at"], row["id"]))
        return [JobView.from_row(row) for row in rows]

    def running_steps(self, job_id: UUID | str) -> list[StepView]:
        rows = self._reader.find(
            "steps", {"job_id": _hex(job_id), "state": "running"}, order_by=("number",)
        )
        return [StepView.from_row(row) for row in rows]

    def step(self, job_id: UUID | str, number: int) -> StepView | None:
        row = self._reader.get("steps", f"{_hex(job_id)}:{number:06d}")
        return None if row is None else StepView.from_row(row)

    def artifacts(self, job_id: UUID | str) -> list[ArtifactView]:
        rows = self._reader.find("artifacts", {"job_id": _hex(job_id)}, order_by=("name",))
        return [ArtifactView.from_row(row) for row in rows]

    def artifact(self, job_id: UUID | str, name: str) -> ArtifactView | None:
        row = self._reader.get("artifacts", f"{_hex(job_id)}:{name}")
        return None if row is None else ArtifactView.from_row(row)

    def pipelines(self, names: Collection[str] | None = None) -> list[PipelineView]:
        """Every pipeline seen in runs (only those named in ``names`` if given)."""
        where = {} if names is None else {"id": sorted(names)}
        return [PipelineView.from_row(row) for row in self._reader.find("pipelines", where)]

    def pipeline(self, name: str) -> PipelineView | None:
        row = self._reader.get("pipelines", name)
        return None if row is None else PipelineView.from_row(row)

    def _page(
        self,
        table: str,
        view: type[_FromRow],
        filters: dict[str, str],
        after: tuple[str, str] | None,
        limit: int,
        pipelines: Collection[str] | None = None,
    ) -> Page:
        where: dict[str, Any] = {k: v for k, v in filters.items() if v}
        if pipelines is not None:  # an empty collection: nothing
            wanted = set(pipelines)
            if "pipeline" in where:
                wanted &= {where["pipeline"]}
            where["pipeline"] = sorted(wanted)
        rows = self._reader.find(
            table,
            where,
            order_by=("requested_at", "id"),
            descending=True,
            after=after,
            limit=limit + 1,
        )
        items = [view.from_row(row) for row in rows[:limit]]
        more = len(rows) > limit
        cursor = (rows[limit - 1]["requested_at"], rows[limit - 1]["id"]) if more else None
        return Page(items=items, next_cursor=cursor)
