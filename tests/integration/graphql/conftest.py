"""GraphQL against a live uvicorn serving the embedded system (real runs on the local
executor), spoken to by real clients: HTTP POSTs and ``graphql-transport-ws`` over a
real WebSocket."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import websockets

from api.processes import HttpServer
from api.server import create_app
from tests.integration.execution.conftest import Embedded, embedded
from tests.support import auth_headers, free_port, http_get, sign_in, wait_until

__all__ = ["embedded"]  # the fixture, shared with the execution tests


@pytest.fixture
def url(embedded: Embedded) -> str:
    port = free_port()
    embedded.supervisor.add("http", HttpServer(create_app(embedded.danube), "127.0.0.1", port))
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_get(f"{base}/health")[0] == 200, what="the HTTP server")
    sign_in(base, embedded.danube)
    return base


def gql(url: str, query: str, **variables: Any) -> dict[str, Any]:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(
        f"{url}/graphql", body, headers={"Content-Type": "application/json", **auth_headers(url)}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        reply: dict[str, Any] = json.loads(response.read())
    return reply


def data(url: str, query: str, **variables: Any) -> dict[str, Any]:
    reply = gql(url, query, **variables)
    assert "errors" not in reply, reply
    result: dict[str, Any] = reply["data"]
    return result


@asynccontextmanager
async def connected(
    url: str, protocol: str = "graphql-transport-ws"
) -> AsyncIterator[websockets.ClientConnection]:
    """A GraphQL WebSocket of ``protocol`` to the server at ``url``, signed in and
    acknowledged."""
    ws_url = url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(
        ws_url,
        subprotocols=[protocol],  # type: ignore[list-item]
        additional_headers=auth_headers(url),
    ) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        ack = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        yield socket


async def subscribe(
    url: str, query: str, protocol: str = "graphql-transport-ws", **variables: Any
) -> AsyncIterator[dict[str, Any]]:
    """Each ``next`` payload of one subscription until it completes (or errors)."""
    async with connected(url, protocol) as socket:
        start = "subscribe" if protocol == "graphql-transport-ws" else "start"
        payload = {"query": query, "variables": variables}
        await socket.send(json.dumps({"id": "1", "type": start, "payload": payload}))
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), 60))
            if message["type"] in {"next", "data"}:
                yield message["payload"]
            elif message["type"] == "complete":
                return
            elif message["type"] == "error":
                raise AssertionError(f"subscription error: {message}")


async def collect(url: str, query: str, **variables: Any) -> list[dict[str, Any]]:
    return [payload async for payload in subscribe(url, query, **variables)]
