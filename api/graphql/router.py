"""``/graphql`` on FastAPI: queries and mutations over HTTP, subscriptions over
WebSocket (``graphql-transport-ws`` and the legacy ``graphql-ws``), with the process's
application layer in each request's context. GraphiQL is served in development only."""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, cast

from graphql import ExecutionResult
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketDisconnect
from strawberry.fastapi import GraphQLRouter
from strawberry.http.async_base_view import AsyncWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from api.app.wiring import of_app
from api.graphql import direct
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


def _sender(websocket: AsyncWebSocketAdapter) -> Callable[[str], Awaitable[None]]:
    """Sends a text frame on the handler's socket as its ``send_json`` does."""
    socket = websocket.ws  # type: ignore[attr-defined]  # the ASGI adapter's

    async def send_text(text: str) -> None:
        try:
            await socket.send_text(text)
        except WebSocketDisconnect as error:
            raise WebSocketDisconnected from error

    return send_text


def _reporter(schema: BaseSchema) -> Callable[[ExecutionResult], None]:
    def report(result: ExecutionResult) -> None:
        schema.process_errors(list(result.errors or []))

    return report


class _TransportWS(BaseGraphQLTransportWSHandler[dict[str, Any], None]):
    """graphql-transport-ws, with subscription messages sent directly (``direct``)."""

    async def run_operation(self, operation: Operation[dict[str, Any], None]) -> None:
        view = cast(_Router, self.view)
        direct.install(
            direct.Direct(
                operation.id,
                "next",
                _sender(self.websocket),
                lambda: not operation.completed,
                view.answer,
                _reporter(self.schema),
            )
        )
        await super().run_operation(operation)


class _LegacyWS(BaseGraphQLWSHandler[dict[str, Any], None]):
    """The legacy graphql-ws, with subscription messages sent directly (``direct``)."""

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        view = cast(_Router, self.view)
        direct.install(
            direct.Direct(
                operation_id,
                "data",
                _sender(self.websocket),
                lambda: operation_id in self.subscriptions,
                view.answer,
                _reporter(self.schema),
            )
        )
        await super().handle_async_results(operation_id, query, operation_name, variables)


class _Router(GraphQLRouter[dict[str, Any], None]):
    """Encodes each subscription message's answer once, however many subscribers are
    sent it (subscribers of one feed are handed the same executed answer: see
    ``api.graphql.sharing``), and each large text (a log chunk) once: the followers of
    a job's log are handed the same chunk (the same ``str``). Subscription messages
    after the first are sent by the resolvers themselves (``api.graphql.direct``)."""

    graphql_transport_ws_handler_class = _TransportWS
    graphql_ws_handler_class = _LegacyWS

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
        return f'{head[:-1]},"payload":{{"data":{self.answer(answer)}}}}}'

    def answer(self, answer: dict[str, Any]) -> str:
        """A subscription message's answer (``payload.data``) encoded, once for all."""
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
