"""WebSocket origin check: a browser page on another site must not open a subscription
with the user's cookies (cross-site WebSocket hijacking). A WebSocket handshake with an
``Origin`` is accepted only from the server's own origin (``DANUBE_PUBLIC_URL``) or the
host it was addressed as; clients that send no ``Origin`` (scripts, the CLI) are not
browsers and pass. Refused handshakes are answered 403 before the upgrade."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class WebSocketOriginCheck:
    def __init__(self, app: App, public_url: str) -> None:
        self.app = app
        parts = urlsplit(public_url)
        self.public = f"{parts.scheme}://{parts.netloc}".lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not self._allowed(scope):
            await send({"type": "websocket.close", "code": 1008, "reason": "origin not allowed"})
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        headers = {key.decode("latin-1").lower(): value.decode("latin-1")
                   for key, value in scope.get("headers", [])}  # fmt: skip
        origin = headers.get("origin")
        if origin is None:
            return True
        origin = origin.lower().rstrip("/")
        host = headers.get("host", "").lower()
        return bool(origin == self.public or urlsplit(origin).netloc == host)
