"""``GET /metrics``: the API server's Prometheus metrics (its own and the read models'),
404 while ``observability.metrics_enabled`` is false in ``config.yaml``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from api.bootstrap import Danube
from api.observability.metrics import exposition, metrics_enabled

router = APIRouter()


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition"},
        404: {"content": {"text/plain": {}}, "description": "metrics_enabled is false"},
    },
)
async def metrics(request: Request) -> Response:
    danube: Danube = request.app.state.danube
    if not await run_in_threadpool(metrics_enabled, danube):
        return PlainTextResponse(
            "metrics are disabled (observability.metrics_enabled: false)\n", status_code=404
        )
    body = await run_in_threadpool(exposition, danube, read_models=True)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
