"""``/graphql`` on FastAPI: queries and mutations over HTTP, subscriptions over
WebSocket (``graphql-transport-ws`` and the legacy ``graphql-ws``), with the process's
application layer in each request's context. GraphiQL is served in development only."""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from api.app.wiring import of_app
from api.graphql.context import context_of
from api.graphql.schema import build_schema
from api.identity import caller_of


async def _context(connection: HTTPConnection) -> dict[str, Any]:
    """For HTTP requests and WebSocket connections alike; with the process's tracer
    (None while tracing is off) for the operation spans."""
    caller = await caller_of(connection)
    context = context_of(of_app(connection.app.state), caller.principal)
    context["asker"] = caller.again
    context["connection"] = connection
    context["tracer"] = connection.app.state.danube.tracing.tracer
    return context


def graphql_router(graphiql: bool = False) -> GraphQLRouter[dict[str, Any], None]:
    return GraphQLRouter(
        build_schema(),
        context_getter=_context,
        graphql_ide="graphiql" if graphiql else None,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL],
    )
