"""``/graphql`` on FastAPI: the schema, with the app's ``Danube`` in each request's
context."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from strawberry.fastapi import GraphQLRouter

from api.graphql.schema import build_schema


async def _context(request: Request) -> dict[str, Any]:
    return {"danube": request.app.state.danube}


def graphql_router() -> GraphQLRouter[dict[str, Any], None]:
    return GraphQLRouter(build_schema(), context_getter=_context)
