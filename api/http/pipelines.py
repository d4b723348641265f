"""REST: pipelines, triggering a run, the config in force, and the webhook inbox.
(Authorisation arrives with its own issue; these routes are open until then.)"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from api.bootstrap import Danube
from api.http.errors import UUID_PATTERN, errors
from domain.cause import Cause
from domain.ids import job_id_for
from domain.triggers.manual import DrainingError, PipelineNotFoundError, TriggerRefusedError
from domain.webhooks.errors import InboxDrainingError

router = APIRouter(prefix="/api/v1")


def _danube(request: Request) -> Danube:
    danube: Danube = request.app.state.danube
    return danube


class TriggerRun(BaseModel):
    ref: str = Field(default="HEAD", min_length=1, max_length=255)
    commit: str = Field(default="", max_length=64)  # known already: nothing is resolved


@router.get("/pipelines")
def list_pipelines(request: Request) -> dict[str, Any]:
    """Configured pipelines with their last run; pipelines seen only in runs too."""
    danube = _danube(request)
    stats = {p.name: p for p in danube.views.pipelines()}
    pipelines = []
    for row in danube.config_view.pipelines():
        seen = stats.pop(row["id"], None)
        pipelines.append(_pipeline(row["id"], row["repository"], True, seen))
    pipelines += [_pipeline(name, p.repository, False, p) for name, p in stats.items()]
    return {"pipelines": sorted(pipelines, key=lambda p: p["name"])}


def _pipeline(name: str, repository: str, configured: bool, seen: Any) -> dict[str, Any]:
    return {
        "name": name,
        "repository": repository,
        "configured": configured,
        "run_count": seen.run_count if seen else 0,
        "last_run": None
        if not seen
        else {
            "id": seen.last_run_id,
            "state": seen.last_state,
            "requested_at": seen.last_requested_at,
        },
    }


@router.post("/pipelines/{name}/runs", status_code=201, responses=errors(400, 404, 503))
def trigger_run(request: Request, name: str, body: TriggerRun) -> dict[str, Any]:
    """Start a run of ``name`` at ``ref`` (a branch, tag or commit; the commit is resolved
    from the repository)."""
    danube = _danube(request)
    try:
        run = danube.triggers.trigger(
            name, body.ref, Cause(actor="api", trigger="api"), "api", commit=body.commit
        )
    except PipelineNotFoundError as error:
        raise HTTPException(404, str(error)) from None
    except DrainingError as error:
        raise HTTPException(503, str(error), headers={"Retry-After": "60"}) from None
    except TriggerRefusedError as error:
        raise HTTPException(400, str(error)) from None
    return {
        "run_id": run.run_id.hex,
        "jobs": [job_id_for(run.run_id, "main").hex],
        "commit": run.commit,
        "ref": run.ref,
    }


@router.get("/config")
def config_status(request: Request) -> dict[str, Any]:
    """The config in force, when it was synced, the last rejection and its errors."""
    danube = _danube(request)
    state = danube.config_view.state() or {}
    return {
        "repository": danube.settings.config_repo_url,
        "branch": danube.settings.config_repo_branch,
        "commit": state.get("commit_sha"),
        "synced_at": state.get("accepted_at"),
        "last_rejection": None if not state.get("rejected_commit") else {
            "commit": state["rejected_commit"], "at": state["rejected_at"],
            "errors": state["errors"]},
        "fetch_problem": state.get("fetch_problem") or None,
        "fetch_problem_at": (state.get("fetch_problem") and state.get("fetch_problem_at")) or None,
    }  # fmt: skip


@router.get("/webhooks/deliveries")
def list_deliveries(
    request: Request, provider: str = "", limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> dict[str, Any]:
    rows = _danube(request).deliveries.recent(limit, provider)
    return {"deliveries": rows}


@router.post("/webhooks/deliveries/{delivery}/replay", responses=errors(400, 404, 503))
def replay_delivery(
    request: Request,
    delivery: Annotated[str, Path(pattern=UUID_PATTERN, description="the delivery's UUID")],
) -> dict[str, Any]:
    """Process a stored delivery again with the config in force now (it never starts a
    second run of a trigger that already ran). While draining: 503, nothing changes."""
    danube = _danube(request)
    try:
        key = UUID(delivery)
    except ValueError:
        raise HTTPException(400, f"invalid delivery id {delivery!r}: expected a UUID") from None
    if danube.deliveries.get(key.hex) is None:
        raise HTTPException(404, f"no delivery {delivery}")
    try:
        outcome = danube.inbox.replay(key, Cause(actor="api", reason="replay"))
    except InboxDrainingError as error:
        raise HTTPException(503, str(error), headers={"Retry-After": "60"}) from None
    return {"outcome": outcome.outcome, "runs": outcome.runs, "reason": outcome.reason}
