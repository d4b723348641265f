"""What a run of a configured pipeline needs, whatever triggered it."""

from __future__ import annotations

from typing import Any

from domain.config.model import Pipeline
from domain.ids import RunId, new_run_id, run_id_for
from domain.runs.application import RunRequest


def run_spec(pipeline: Pipeline) -> dict[str, Any]:
    """The pipeline's execution settings, frozen into the run when it is requested."""
    resources = pipeline.worker.resources
    return {
        "script": pipeline.script,
        "entrypoint": pipeline.entrypoint or "",
        "max_duration_seconds": pipeline.max_duration_seconds,
        "workspace_size_gb": pipeline.workspace_size_gb,
        "image": pipeline.worker.image,
        "resources": {
            "cpu_request": resources.cpu_request,
            "memory_request": resources.memory_request,
            "cpu_limit": resources.cpu_limit,
            "memory_limit": resources.memory_limit,
        },
        "concurrency": pipeline.concurrency,
    }


def run_request(
    pipeline: Pipeline,
    *,
    kind: str,
    ref: str,
    commit: str,
    trigger: dict[str, str],
    deduplicate_on: str | None = None,
    run_id: RunId | None = None,
) -> RunRequest:
    """A run request. With ``deduplicate_on`` (the trigger's identity, e.g. the ref of a
    push) the run id is derived from (pipeline, commit, kind, that), so the same trigger
    can never start a second run; a caller with its own deduplicated id (cron: one per
    scheduled minute, whatever the commit) passes ``run_id``."""
    if run_id is None:
        run_id = (
            run_id_for(pipeline.name, commit, kind, deduplicate_on)
            if deduplicate_on is not None
            else new_run_id()
        )
    return RunRequest(
        run_id=run_id,
        pipeline=pipeline.name,
        repository=pipeline.repository,
        ref=ref,
        commit_sha=commit,
        trigger={"type": kind, "ref": ref, **trigger},
        spec=run_spec(pipeline),
    )
