"""``/graphql`` on FastAPI: queries and mutations over HTTP, subscriptions over
WebSocket (``graphql-transport-ws`` and the legacy ``graphql-ws``), with the process's
application layer in each request's context. GraphiQL is served in development only."""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, cast

from starlette.requests import HTTPConnection
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from api.app.wiring import of_app
from api.graphql.context import context_of
from api.graphql.schema import build_schema
from api.graphql.sharing import Recent, Sharing
from api.identity import caller_of


def _context_getter(sharing: Sharing) -> Callable[[HTTPConnection], Awaitable[dict[str, Any]]]:
    async def context(connection: HTTPConnection) -> dict[str, Any]:
        """For HTTP requests and WebSocket connections alike; with the process's tracer
        (None while tracing is off) for the operation spans, and what subscribers of
        this router share (one execution of a message for all who get the same one)."""
        caller = await caller_of(connection)
        context = context_of(of_app(connection.app.state), caller.principal)
        context["asker"] = caller.again
        context["connection"] = connection
        context["tracer"] = connection.app.state.tracing.tracer
        context["sharing"] = sharing
        return context

    return context


class _Router(GraphQLRouter[dict[str, Any], None]):
    """Encodes each subscription message's answer once, however many subscribers are
    sent it (subscribers of one feed are handed the same executed answer: see
    ``api.graphql.sharing``), and each large text (a log chunk) once: the followers of
    a job's log are handed the same chunk (the same ``str``)."""

    SHARED = 16 * 1024  # texts from this long are worth remembering encoded

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The answers and texts encoded lately (a few seconds of a feed: a follower
        # further behind than the memo holds encodes its own).
        self._encoded, self._answers = Recent(), Recent()

    def encode_json(self, data: object) -> str:
        answer = _answer_of(data)
        if answer is None:
            return json.dumps(data, separators=(",", ":"))  # as strawberry does
        message = cast(dict[str, Any], data)
        head = json.dumps({"id": message.get("id"), "type": message["type"]}, separators=(",", ":"))
        return f'{head[:-1]},"payload":{{"data":{self._answer(answer)}}}}}'

    def _answer(self, answer: dict[str, Any]) -> str:
        encoded: str | None = self._answers.get(id(answer), answer)
        if encoded is None:
            encoded = self._encode(answer)
            self._answers.put(id(answer), answer, encoded, len(encoded))
        return encoded

    def _encode(self, answer: dict[str, Any]) -> str:
        root = next(iter(answer))
        fields = answer[root] if isinstance(answer[root], dict) else {}
        large = [k for k, v in fields.items() if isinstance(v, str) and len(v) >= self.SHARED]
        if not large:
            return json.dumps(answer, separators=(",", ":"))
        # The answer is encoded with a token in place of each large text (random: no
        # client-chosen string can hold it), then each token is replaced by its text.
        tokens = {key: secrets.token_hex(16) for key in large}
        encoded = json.dumps({root: {**fields, **tokens}}, separators=(",", ":"))
        for key, token in tokens.items():
            encoded = encoded.replace(f'"{token}"', self._text(fields[key]), 1)
        return encoded

    def _text(self, text: str) -> str:
        encoded: str | None = self._encoded.get(id(text), text)
        if encoded is None:
            encoded = json.dumps(text)
            self._encoded.put(id(text), text, encoded, 2 * len(encoded))
        return encoded


def _answer_of(data: object) -> dict[str, Any] | None:
    """The answer (``payload.data``) of a subscription message (``next``/``data``
    messages of both protocols) that carries nothing else, with one root field."""
    if not isinstance(data, dict) or data.get("type") not in ("next", "data"):
        return None
    payload = data.get("payload")
    if not isinstance(payload, dict) or payload.keys() != {"data"}:
        return None
    answer = payload["data"]
    return answer if isinstance(answer, dict) and len(answer) == 1 else None


def graphql_router(graphiql: bool = False) -> GraphQLRouter[dict[str, Any], None]:
    return _Router(
        build_schema(),
        context_getter=_context_getter(Sharing()),
        graphql_ide="graphiql" if graphiql else None,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL],
    )
