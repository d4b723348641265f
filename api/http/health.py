"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter()

MAX_LAG_EVENTS_BEFORE_NOT_READY = 10_000


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/health/ready")
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
    for projection in danube.projections:
        name = f"projection:{projection.name}"
        try:
            position = danube.store.views.position(projection.name)
            behind = None if head is None else max(head - position, 0)
            ok = behind is not None and behind < MAX_LAG_EVENTS_BEFORE_NOT_READY
            checks[name] = {"ok": ok, "position": position, "behind": behind}
        except Exception as error:
            checks[name] = {"ok": False, "error": str(error)}
    ok = all(check["ok"] for check in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )
