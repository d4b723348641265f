"""Authentication: who is asking (``Identity``), from a personal API token, an OIDC JWT
or the browser session. Authorization (api/app, domain/auth) decides what they may do.

``authenticate`` is async (JWT validation may fetch the issuer's keys)::

    identity = await authenticate(request)   # Request or WebSocket
    # None: nothing presented; Unauthenticated: something invalid was (-> 401)

``authenticate`` counts the refusals it raises in ``danube_auth_denied_total``; a caller
that refuses an anonymous request (401) or a forbidden one (403) counts its own.

The users and teams an identity belongs to, as the policy should see them, come from
``Directory(config_service, data_dir)``: ``users()``/``teams()`` are those of the config
in force, or, with none in force, the first-start admin ``admin`` (``admin@danube.local``)
as the only member of the global_admin team ``local-admins``.
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
    """The app's ``Authenticator`` (``api.server.create_app`` puts it in the state)."""
    found: Authenticator = state.authenticator
    return found
