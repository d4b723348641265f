"""``/graphql`` on FastAPI: queries and mutations over HTTP, subscriptions over
WebSocket (``graphql-transport-ws`` and the legacy ``graphql-ws``), with the process's
application layer in each request's context. GraphiQL is served in development only
(``DANUBE_GRAPHIQL``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.requests import HTTPConnection
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from api.app.live import Live
from api.app.principal import ANONYMOUS
from api.app.wiring import Application, application
from api.graphql.context import context_of
from api.graphql.schema import build_schema
from domain.ids import JobId


def _application(state: Any) -> tuple[Application, Live]:
    """Built once per app, on first use, from the process's ``Danube``."""
    built: tuple[Application, Live] | None = getattr(state, "graphql_application", None)
    if built is None:
        danube = state.danube
        app = application(danube)
        live = Live(
            app.queries,
            lambda: danube.store.views.progress("runs"),
            lambda job_id: danube.logs.progress(_job_id(job_id)),
        )
        built = state.graphql_application = (app, live)
    return built


def _job_id(raw: str) -> JobId:
    return JobId(UUID(raw))


async def _context(connection: HTTPConnection) -> dict[str, Any]:
    """For HTTP requests and WebSocket connections alike."""
    app, live = _application(connection.app.state)
    return context_of(app, live, ANONYMOUS)


def graphql_router(graphiql: bool = False) -> GraphQLRouter[dict[str, Any], None]:
    return GraphQLRouter(
        build_schema(),
        context_getter=_context,
        graphql_ide="graphiql" if graphiql else None,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL],
    )
