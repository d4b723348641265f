"""``GET /metrics``: the API server's Prometheus metrics (its own and the read models'),
404 while ``observability.metrics_enabled`` is false in ``config.yaml``. The route is
given the scrape (``Scrape``, in the app's state), not the container."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

router = APIRouter()

# The metrics text of this process and its read models; None while metrics are disabled.
Scrape = Callable[[], bytes | None]


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition"},
        404: {"content": {"text/plain": {}}, "description": "metrics_enabled is false"},
    },
)
async def metrics(request: Request) -> Response:
    scrape: Scrape = request.app.state.scrape
    body = await run_in_threadpool(scrape)
    if body is None:
        return PlainTextResponse(
            "metrics are disabled (observability.metrics_enabled: false)\n", status_code=404
        )
    return Response(body, media_type=CONTENT_TYPE_LATEST)
