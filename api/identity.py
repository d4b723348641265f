"""From a request (HTTP or WebSocket) to the principal asking: authentication
(``api.auth``) says who presented what, the application layer resolves that against
the config in force. Every transport calls ``caller_of``; a credential that was
presented and refused makes an anonymous principal that carries why, so whatever needs
authentication answers 401 with that reason, and public routes stay public."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from api.app.live import RECHECK_SECONDS
from api.app.principal import ANONYMOUS, Principal, refused
from api.app.wiring import of_app
from api.auth import Unauthenticated, authenticate


@dataclass(frozen=True)
class Caller:
    principal: Principal
    """Who asks, under the config in force when the request arrived."""
    again: Callable[[bool], Principal | None]
    """Who asks under the config in force now, give or take ``RECHECK_SECONDS`` (for
    subscriptions that outlive a config). ``again(False)``: without I/O, or None."""


def with_bearer(connection: HTTPConnection, authorization: str) -> HTTPConnection:
    """The connection as if it had sent ``Authorization: <authorization>`` (a WebSocket
    client that cannot set headers sends it in its ``connection_init`` payload)."""
    scope = dict(connection.scope)
    headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"authorization"]
    scope["headers"] = [*headers, (b"authorization", authorization.encode("latin-1", "replace"))]
    return HTTPConnection(scope)


async def caller_of(connection: HTTPConnection) -> Caller:
    app = of_app(connection.app.state)
    try:
        identity = await authenticate(connection)
    except Unauthenticated as error:
        return _fixed(refused(str(error)))
    if identity is None:
        return _fixed(ANONYMOUS)

    def again(io: bool = True) -> Principal | None:
        if not io:
            return app.principals.cached(identity, RECHECK_SECONDS)
        return app.principals.resolve(identity, stale_ok=RECHECK_SECONDS)

    now = await run_in_threadpool(app.principals.resolve, identity)
    return Caller(now, again)


def _fixed(principal: Principal) -> Caller:
    def again(io: bool = True) -> Principal | None:
        return principal

    return Caller(principal, again)


async def principal_of(connection: HTTPConnection) -> Principal:
    return (await caller_of(connection)).principal
