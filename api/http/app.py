"""The FastAPI application. ``create_app(danube)`` is called by the processes and the
tests with an already built ``Danube``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from api.app.errors import AppError
from api.auth.routes import install as install_auth
from api.bootstrap import Danube
from api.graphql.router import graphql_router
from api.http import health, jobs, metrics, pipelines, provenance, runs, webhooks
from api.http.errors import app_error
from api.http.origin import WebSocketOriginCheck
from api.observability.spans import HttpSpans
from api.web.static import serve_web_app

if TYPE_CHECKING:
    from api.triggers.loops import ConfigSyncLoop


def create_app(danube: Danube, config_sync: ConfigSyncLoop | None = None) -> FastAPI:
    """``config_sync``: the config sync this process runs, if any (a push to the config
    repository wakes it; readiness reads its health)."""
    app = FastAPI(title="Danube", version="0.1.0", docs_url="/api/docs", redoc_url=None)
    app.state.danube = danube
    app.state.config_sync = config_sync
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(jobs.router)
    app.include_router(pipelines.router)
    app.include_router(runs.router)
    app.add_exception_handler(AppError, app_error)
    app.add_middleware(WebSocketOriginCheck, public_url=danube.settings.public_url)
    app.include_router(webhooks.router)
    app.include_router(provenance.router)
    install_auth(app, danube)  # /auth/..., Unauthenticated -> 401
    app.include_router(graphql_router(graphiql=danube.settings.graphiql), prefix="/graphql")
    serve_web_app(app, danube.settings.web_dir)  # GETs no route answers: the web app
    if danube.tracing.tracer is not None:  # no middleware at all while tracing is off
        app.add_middleware(HttpSpans, tracing=danube.tracing)
    return app
