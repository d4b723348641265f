"""Authentication: who is asking (``Identity``), from a personal API token, an OIDC JWT
or the browser session. Authorization (api/app, domain/auth) decides what they may do.

``authenticate`` is async (JWT validation may fetch the issuer's keys)::

    identity = await authenticate(request)   # Request or WebSocket
    # None: nothing presented; Unauthenticated: something invalid was (-> 401)
"""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection

from api.auth.authenticator import Authenticator
from api.auth.identity import Identity, Unauthenticated
from api.auth.users import Directory

__all__ = ["Authenticator", "Directory", "Identity", "Unauthenticated", "authenticate"]


async def authenticate(connection: HTTPConnection) -> Identity | None:
    """The identity the connection's credentials prove; None when none were presented;
    ``Unauthenticated`` (message says why) for an invalid, expired or revoked one."""
    return await authenticator_of(connection.app.state).authenticate(connection)


def authenticator_of(state: Any) -> Authenticator:
    """The app's ``Authenticator`` (built once from ``state.danube`` when missing)."""
    found: Authenticator | None = getattr(state, "authenticator", None)
    if found is None:
        danube = state.danube
        found = Authenticator(danube.api_tokens, Directory(danube.config, danube.settings.data_dir))
        state.authenticator = found
    return found
