"""Manual and API triggers: run a configured pipeline at a ref, now."""

from __future__ import annotations

from dataclasses import dataclass

from domain.cause import Cause
from domain.config.application import ConfigService
from domain.ids import RunId
from domain.runs.application import RunRequest, RunsService
from domain.schedules.application import CommitResolver
from domain.system.application import SystemService
from domain.triggers.requests import run_request


class TriggerRefusedError(Exception):
    """The run cannot be started: unknown pipeline, unresolvable ref, draining."""


class PipelineNotFoundError(TriggerRefusedError):
    pass


class DrainingError(TriggerRefusedError):
    pass


@dataclass(frozen=True)
class TriggeredRun:
    """The run a manual trigger requested, with the commit and full ref it resolved."""

    run_id: RunId
    commit: str
    ref: str


class ManualTriggers:
    def __init__(
        self,
        runs: RunsService,
        config: ConfigService,
        system: SystemService,
        commits: CommitResolver,
    ) -> None:
        self._runs, self._config, self._system, self._commits = runs, config, system, commits

    def trigger(
        self, pipeline_name: str, ref: str, cause: Cause, kind: str = "manual"
    ) -> TriggeredRun:
        config = self._config.current()
        pipeline = config.pipeline(pipeline_name) if config is not None else None
        if pipeline is None:
            raise PipelineNotFoundError(f"no pipeline {pipeline_name!r} in the configuration")
        if self._system.is_draining():
            raise DrainingError("Danube is draining: no new runs are accepted")
        try:
            commit, full_ref = self._commits.resolve(pipeline.repository, ref or "HEAD")
        except Exception as error:
            raise TriggerRefusedError(
                f"cannot resolve {ref!r} in {pipeline.repository}: {error}"
            ) from None
        request = run_request(
            pipeline, kind=kind, ref=full_ref, commit=commit, trigger={"actor": cause.actor}
        )
        self._runs.request_run(request, cause)
        return TriggeredRun(request.run_id, commit, full_ref)

    def request(self, request: RunRequest, cause: Cause) -> RunId:
        """A run that does not come from the configuration (``danube run`` of a local
        repository): refused while draining, like every manual trigger."""
        if self._system.is_draining():
            raise DrainingError("Danube is draining: no new runs are accepted")
        self._runs.request_run(request, cause)
        return request.run_id
