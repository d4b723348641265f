"""REST: pipelines, triggering a run, the config in force, and the webhook inbox, over
the application layer (the same checks and answers as GraphQL)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.app.results import PipelineResult
from api.http.caller import App, Asking
from api.http.errors import UUID_PATTERN, guarded
from domain.ids import job_id_for

router = APIRouter(prefix="/api/v1")


class TriggerRun(BaseModel):
    ref: str = Field(default="HEAD", min_length=1, max_length=255)
    commit: str = Field(default="", max_length=64)  # known already: nothing is resolved


def pipeline_body(pipeline: PipelineResult) -> dict[str, Any]:
    return {
        "name": pipeline.name,
        "repository": pipeline.repository,
        "configured": pipeline.configured,
        "run_count": pipeline.run_count,
        "last_run": None
        if pipeline.last_run_id is None
        else {
            "id": pipeline.last_run_id,
            "state": pipeline.last_state.value if pipeline.last_state else None,
            "requested_at": pipeline.last_requested_at,
        },
    }


@router.get("/pipelines", responses=guarded())
async def list_pipelines(app: App, principal: Asking) -> dict[str, Any]:
    """The pipelines the caller may read (configured ones with their last run; a global
    admin also sees pipelines seen only in runs)."""
    pipelines = await run_in_threadpool(app.queries.pipelines, principal)
    return {"pipelines": [pipeline_body(p) for p in pipelines]}


@router.post("/pipelines/{name}/runs", status_code=201, responses=guarded(400, 404, 503))
async def trigger_run(app: App, principal: Asking, name: str, body: TriggerRun) -> dict[str, Any]:
    """Start a run of ``name`` at ``ref`` (a branch, tag or commit; the commit is resolved
    from the repository). Needs write on the pipeline."""
    run = await run_in_threadpool(app.commands.trigger, principal, name, body.ref, body.commit)
    return {
        "run_id": run.run_id.hex,
        "jobs": [job_id_for(run.run_id, "main").hex],
        "commit": run.commit,
        "ref": run.ref,
    }


@router.get("/config", responses=guarded())
async def config_status(request: Request, app: App, principal: Asking) -> dict[str, Any]:
    """The config in force, when it was synced, the last rejection and its errors
    (global admins)."""
    state = await run_in_threadpool(app.queries.config_state, principal)
    repository, branch = request.app.state.config_repository
    return {
        "repository": repository,
        "branch": branch,
        "commit": state.get("commit_sha"),
        "synced_at": state.get("accepted_at"),
        "last_rejection": None if not state.get("rejected_commit") else {
            "commit": state["rejected_commit"], "at": state["rejected_at"],
            "errors": state["errors"]},
        "fetch_problem": state.get("fetch_problem") or None,
        "fetch_problem_at": (state.get("fetch_problem") and state.get("fetch_problem_at")) or None,
    }  # fmt: skip


@router.get("/webhooks/deliveries", responses=guarded())
async def list_deliveries(
    app: App,
    principal: Asking,
    provider: str = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """The webhook inbox, newest first (global admins)."""
    rows = await run_in_threadpool(app.queries.deliveries, principal, provider, limit)
    return {"deliveries": rows}


@router.post("/webhooks/deliveries/{delivery}/replay", responses=guarded(400, 404, 503))
async def replay_delivery(
    app: App,
    principal: Asking,
    delivery: Annotated[str, Path(pattern=UUID_PATTERN, description="the delivery's UUID")],
) -> dict[str, Any]:
    """Process a stored delivery again with the config in force now (it never starts a
    second run of a trigger that already ran). While draining: 503, nothing changes.
    Global admins."""
    outcome = await run_in_threadpool(app.commands.replay_delivery, principal, delivery)
    return {"outcome": outcome.outcome, "runs": outcome.runs, "reason": outcome.reason}
