"""Commands: each takes the principal asking, acts through one domain service and
returns what it recorded. The cause of every command comes from the principal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from api.app.errors import InvalidInputError, NotFoundError, translated
from api.app.principal import Principal
from domain.ids import RunId, new_run_id
from domain.runs.application import RunsService
from domain.system.application import SystemService
from domain.triggers.manual import ManualTriggers, TriggeredRun
from projections.runs_view import RunsView

MAX_REF_LENGTH = 255


@dataclass(frozen=True)
class Cancelled:
    run_id: str
    position: int


class Commands:
    def __init__(
        self,
        triggers: ManualTriggers,
        runs: RunsService,
        system: SystemService,
        views: RunsView,
        settle: Callable[[int], bool],
    ) -> None:
        """``settle(position)`` waits (bounded) until the read models have folded the log
        up to ``position``: a command whose answer is read back waits for it first."""
        self._triggers, self._runs, self._system = triggers, runs, system
        self._views, self._settle = views, settle

    def trigger(self, principal: Principal, pipeline: str, ref: str) -> TriggeredRun:
        if not pipeline:
            raise InvalidInputError("pipeline must not be empty")
        if not ref or len(ref) > MAX_REF_LENGTH:
            raise InvalidInputError(f"ref must be 1 to {MAX_REF_LENGTH} characters long")
        with translated():
            return self._triggers.trigger(pipeline, ref, principal.cause(trigger="api"), "api")

    def cancel_run(self, principal: Principal, run_id: str) -> Cancelled:
        try:
            key = RunId(UUID(run_id))
        except ValueError:
            raise InvalidInputError(f"invalid run id {run_id!r}: expected a UUID") from None
        with translated():
            position = self._runs.cancel_run(key, principal.cause(reason="cancel"))
        return Cancelled(key.hex, position)

    def cancel_job(self, principal: Principal, job_id: str) -> Cancelled:
        """Cancel the run the job belongs to (its jobs end together)."""
        try:
            key = UUID(job_id)
        except ValueError:
            raise InvalidInputError(f"invalid job id {job_id!r}: expected a UUID") from None
        job = self._views.job(key)
        if job is None:
            raise NotFoundError(f"no job {job_id}")
        return self.cancel_run(principal, job.run_id)

    def rerun(self, principal: Principal, run_id: str, only_failed: bool) -> str:
        """A new run of what ``run_id`` ran, recording the run it retries; with
        ``only_failed``, its jobs that succeeded are reused. Returns the new run's id."""
        try:
            key = RunId(UUID(run_id))
        except ValueError:
            raise InvalidInputError(f"invalid run id {run_id!r}: expected a UUID") from None
        new = new_run_id()
        with translated():
            position = self._runs.rerun(
                key, new, principal.cause(trigger="rerun"), only_failed=only_failed
            )
        self._settle(position)
        return new.hex

    def drain(self, principal: Principal) -> int:
        return self._system.start_draining(principal.cause(reason="drain"))

    def undrain(self, principal: Principal) -> int:
        return self._system.stop_draining(principal.cause(reason="undrain"))
