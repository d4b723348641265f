"""Manual and API triggers: run a configured pipeline at a ref, now."""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.cause import Cause
from domain.config.application import ConfigService
from domain.ids import RunId
from domain.runs.application import RunRequest, RunsService
from domain.schedules.application import CommitResolver
from domain.system.application import SystemService
from domain.triggers.requests import run_request

_FULL_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_REF = re.compile(r"refs/[^\s\x00-\x1f\x7f~^:?*\[\\]+")


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
        self, pipeline_name: str, ref: str, cause: Cause, kind: str = "manual", commit: str = ""
    ) -> TriggeredRun:
        """Request a run of the pipeline at ``ref``, resolved in its repository; with
        ``commit`` (a full SHA the caller already knows, as a webhook does) nothing is
        resolved: the run is at that commit, ``ref`` is a full ref name or empty."""
        config = self._config.current()
        pipeline = config.pipeline(pipeline_name) if config is not None else None
        if pipeline is None:
            raise PipelineNotFoundError(f"no pipeline {pipeline_name!r} in the configuration")
        if self._system.is_draining():
            raise DrainingError("Danube is draining: no new runs are accepted")
        if commit:
            commit, full_ref = _given(commit, ref)
        else:
            commit, full_ref = self._resolve(pipeline.repository, ref)
        request = run_request(
            pipeline, kind=kind, ref=full_ref, commit=commit, trigger={"actor": cause.actor}
        )
        self._runs.request_run(request, cause)
        return TriggeredRun(request.run_id, commit, full_ref)

    def _resolve(self, repository: str, ref: str) -> tuple[str, str]:
        try:
            return self._commits.resolve(repository, ref or "HEAD")
        except Exception as error:
            raise TriggerRefusedError(f"cannot resolve {ref!r} in {repository}: {error}") from None

    def request(self, request: RunRequest, cause: Cause) -> RunId:
        """A run that does not come from the configuration (``danube run`` of a local
        repository): refused while draining, like every manual trigger."""
        if self._system.is_draining():
            raise DrainingError("Danube is draining: no new runs are accepted")
        self._runs.request_run(request, cause)
        return request.run_id


def _given(commit: str, ref: str) -> tuple[str, str]:
    """(commit, full ref) of a trigger that names its commit, or why not."""
    sha = commit.strip().lower()
    if not _FULL_SHA.fullmatch(sha):
        raise TriggerRefusedError(f"invalid commit {commit!r}: expected a full SHA (40 hex digits)")
    if ref in ("", "HEAD"):  # no ref given: the run is at the commit alone
        return sha, sha
    if not _REF.fullmatch(ref) or ".." in ref or ref.endswith(("/", ".lock")):
        raise TriggerRefusedError(
            f"invalid ref {ref!r} with a commit: expected a full ref name (refs/heads/main)"
        )
    return sha, ref
