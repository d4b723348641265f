"""Liveness and readiness.

A read model is ready while it keeps up in time: it is not ready once the oldest event it
has not folded happened more than ``DANUBE_READINESS_MAX_LAG`` ago (default 30 s), that
is, once its position has stayed below the log's head for that long. Lag is never counted
in notification ids: they have gaps on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from adapters.artifacts.space import free_bytes, free_space_problem

if TYPE_CHECKING:
    from api.bootstrap import Danube

router = APIRouter()


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get(
    "/health/ready",
    responses={503: {"description": "A check failed; the body says which"}},
)
def ready(request: Request) -> JSONResponse:
    """Readiness, check by check: the event store answers and read models keep up."""
    danube = request.app.state.danube
    checks: dict[str, dict[str, Any]] = {}
    try:
        head = danube.store.feed.max_position()
        checks["event_store"] = {"ok": True, "position": head}
    except Exception as error:  # any failure is reported, not raised
        checks["event_store"] = {"ok": False, "error": str(error)}
        head = None
    max_lag = danube.settings.readiness_max_lag
    for projection in danube.projections:
        name = f"projection:{projection.name}"
        try:
            position = danube.store.views.position(projection.name)
            lag = None if head is None else _lag_seconds(danube, position, head)
            ok = lag is not None and lag <= max_lag
            checks[name] = {"ok": ok, "position": position, "lag_seconds": lag}
        except Exception as error:
            checks[name] = {"ok": False, "error": str(error)}
    checks["data_dir_free_space"] = _free_space(danube)
    ok = all(check["ok"] for check in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )


def _free_space(danube: Danube) -> dict[str, Any]:
    """Uploads stop below ``DANUBE_MIN_FREE_DISK_BYTES`` free on the data directory."""
    settings = danube.settings
    try:
        problem = free_space_problem(settings.data_dir, settings.min_free_disk_bytes)
        check: dict[str, Any] = {"ok": problem is None, "free_bytes": free_bytes(settings.data_dir)}
    except OSError as error:
        return {"ok": False, "error": str(error)}
    return check if problem is None else check | {"error": problem}


def _lag_seconds(danube: Danube, position: int, head: int) -> float:
    """How long ago the oldest event after ``position`` happened; 0 when caught up."""
    if position >= head:
        return 0.0
    since = danube.store.feed.recorded_after(position)
    if since is None:
        return 0.0
    return round(max((datetime.now(UTC) - since).total_seconds(), 0.0), 3)
