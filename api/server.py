"""The FastAPI application of the API server: REST (``api.http``), GraphQL
(``api.graphql``), authentication (``api.auth``) and the web app (``api.web``) on one
app. ``create_app(danube)`` is called by the processes and the tests with an already
built ``Danube``; it is the composition of the HTTP side: the routes receive the
application layer and the use-case objects put in the app's state here, never the
container."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from fastapi import FastAPI

from api.app.errors import AppError
from api.app.tokens import TokenCommands
from api.app.wiring import application
from api.auth.authenticator import Authenticator
from api.auth.routes import install as install_auth
from api.auth.users import Directory
from api.bootstrap import Danube, master_key
from api.graphql.router import graphql_router
from api.http import health, jobs, metrics, pipelines, provenance, runs, webhooks
from api.http.errors import app_error
from api.http.origin import WebSocketOriginCheck
from api.http.webhooks import WebhookIntake
from api.observability.metrics import exposition, metrics_enabled
from api.observability.probe import readiness
from api.observability.spans import HttpSpans
from api.web.static import serve_web_app

if TYPE_CHECKING:
    from api.triggers.loops import ConfigSyncLoop


def create_app(danube: Danube, config_sync: ConfigSyncLoop | None = None) -> FastAPI:
    """``config_sync``: the config sync this process runs, if any (a push to the config
    repository wakes it; readiness reads its health)."""
    settings = danube.settings
    app = FastAPI(title="Danube", version="0.1.0", docs_url="/api/docs", redoc_url=None)
    state = app.state
    state.application = application(danube)  # REST and GraphQL share it
    state.webhooks = WebhookIntake(
        inbox=danube.inbox,
        secrets=danube.webhook_secrets,
        max_body_bytes=settings.webhook_max_body_bytes,
        config_repo_url=settings.config_repo_url,
        config_sync=config_sync,
    )
    state.readiness = functools.partial(readiness, danube, config_sync)
    state.scrape = functools.partial(_scrape, danube)
    state.provenance_key = danube.signer
    state.config_repository = (settings.config_repo_url, settings.config_repo_branch)
    state.tracing = danube.tracing
    state.authenticator = Authenticator(
        danube.api_tokens, Directory(danube.config, settings.data_dir)
    )
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(jobs.router)
    app.include_router(pipelines.router)
    app.include_router(runs.router)
    app.add_exception_handler(AppError, app_error)
    app.add_middleware(WebSocketOriginCheck, public_url=settings.public_url)
    app.include_router(webhooks.router)
    app.include_router(provenance.router)
    tokens = TokenCommands(danube.api_tokens, danube.tokens_view, danube.wait_for_views)
    cookie_key = master_key(settings).derive(b"danube session cookies")
    install_auth(app, settings, tokens, cookie_key)  # /auth/..., Unauthenticated -> 401
    app.include_router(graphql_router(graphiql=settings.graphiql), prefix="/graphql")
    serve_web_app(app, settings.web_dir)  # GETs no route answers: the web app
    if danube.tracing.tracer is not None:  # no middleware at all while tracing is off
        app.add_middleware(HttpSpans, tracing=danube.tracing)
    return app


def _scrape(danube: Danube) -> bytes | None:
    """``GET /metrics``'s body: None while ``observability.metrics_enabled`` is false."""
    if not metrics_enabled(danube):
        return None
    return exposition(danube, read_models=True)
