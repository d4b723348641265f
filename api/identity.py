"""From a request (HTTP or WebSocket) to the principal asking: authentication
(``api.auth``) says who presented what, the application layer resolves that against
the config in force. Every transport calls ``principal_of``; a credential that was
presented and refused makes an anonymous principal that carries why, so whatever needs
authentication answers 401 with that reason, and public routes stay public."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from api.app.principal import ANONYMOUS, Principal
from api.app.wiring import of_app


async def principal_of(connection: HTTPConnection) -> Principal:
    app = of_app(connection.app.state)
    del app  # authentication arrives with api.auth (i15-authn)
    return ANONYMOUS
