"""Liveness and readiness.

Readiness asks every check at once, each with its own time limit
(``DANUBE_READINESS_CHECK_TIMEOUT``, default 2 s): a dependency that hangs makes its own
check fail with "no answer within ...", never the probe wait. Every check listed is
required: 503 when any fails. The JSON names each check's verdict and why.

A read model is ready while it keeps up in time: it is not ready once the oldest event it
has not folded happened more than ``DANUBE_READINESS_MAX_LAG`` ago (default 30 s), that
is, once its position has stayed below the log's head for that long. Lag is never counted
in notification ids: they have gaps on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

router = APIRouter()
Result = dict[str, Any]
# Every check's verdict by name (``api.observability.probe.readiness`` over the process).
Readiness = Callable[[], dict[str, Result]]


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get(
    "/health/ready",
    responses={503: {"description": "A check failed; the body says which"}},
)
async def ready(request: Request) -> JSONResponse:
    """Readiness, check by check (see the module's docstring)."""
    readiness: Readiness = request.app.state.readiness
    checks = await run_in_threadpool(readiness)
    ok = all(check["ok"] for check in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )
