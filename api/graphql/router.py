"""``/graphql`` on FastAPI: queries and mutations over HTTP, subscriptions over
WebSocket (``graphql-transport-ws`` and the legacy ``graphql-ws``), with the process's
application layer in each request's context. GraphiQL is served in development only."""

from __future__ import annotations

import json
import secrets
from collections import OrderedDict
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


class _Router(GraphQLRouter[dict[str, Any], None]):
    """Encodes each large text (a log chunk) once, however many subscribers are sent it:
    the followers of a job's log are handed the same chunk (the same ``str``)."""

    SHARED = 16 * 1024  # texts from this long are worth remembering encoded
    REMEMBERED = 16  # the last texts encoded (at most 16 x 2 x 256 KiB held; most of a
    # tail's followers are near its head, one further behind encodes its own)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._encoded: OrderedDict[int, tuple[str, str]] = OrderedDict()

    def encode_json(self, data: object) -> str:
        fields = _subscription_fields(data)
        large = [k for k, v in fields.items() if isinstance(v, str) and len(v) >= self.SHARED]
        if not large:
            return json.dumps(data, separators=(",", ":"))  # as strawberry does
        # The message around the texts is encoded with a token in place of each (random:
        # no client-chosen string can hold it), then each token is replaced by its text.
        tokens = {key: secrets.token_hex(16) for key in large}
        result = {**fields, **tokens}
        payload = data["payload"]  # type: ignore[index]
        root = next(iter(payload["data"]))
        message = {**data, "payload": {**payload, "data": {root: result}}}  # type: ignore[dict-item]
        encoded = json.dumps(message, separators=(",", ":"))
        for key, token in tokens.items():
            encoded = encoded.replace(f'"{token}"', self._text(str(fields[key])), 1)
        return encoded

    def _text(self, text: str) -> str:
        remembered = self._encoded.get(id(text))
        if remembered is not None and remembered[0] is text:
            self._encoded.move_to_end(id(text))
            return remembered[1]
        encoded = json.dumps(text)
        self._encoded[id(text)] = (text, encoded)  # holds the text: its id stays its own
        if len(self._encoded) > self.REMEMBERED:
            self._encoded.popitem(last=False)
        return encoded


def _subscription_fields(data: object) -> dict[str, object]:
    """The fields of a subscription message's one root field (``next``/``data``
    messages of both protocols), or nothing."""
    if not isinstance(data, dict) or data.get("type") not in ("next", "data"):
        return {}
    payload = data.get("payload")
    found = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(found, dict) or len(found) != 1:
        return {}
    fields = next(iter(found.values()))
    return fields if isinstance(fields, dict) else {}


def graphql_router(graphiql: bool = False) -> GraphQLRouter[dict[str, Any], None]:
    return _Router(
        build_schema(),
        context_getter=_context,
        graphql_ide="graphiql" if graphiql else None,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL],
    )
