"""From a request's credentials to an ``Identity``: a personal API token or an OIDC JWT
in ``Authorization: Bearer``, or the browser session cookie."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from api.auth.identity import Identity, Scope, Unauthenticated
from api.auth.users import Directory
from api.observability.metrics import danube_metrics
from domain.tokens.aggregates import looks_like_token
from domain.tokens.application import ApiTokens
from domain.tokens.errors import TokenRejectedError

# Validates a JWT (signature, iss, aud, exp, nbf) and returns its claims; raises
# ``Unauthenticated``. None while no relying party is configured in this process.
JwtValidator = Callable[[str], Awaitable[dict[str, object]]]
# Reads the browser session (cookie) of a connection: the user's name, or None.
SessionReader = Callable[[HTTPConnection], Awaitable[str | None]]


class Authenticator:
    def __init__(self, tokens: ApiTokens, directory: Directory) -> None:
        self.tokens, self.directory = tokens, directory
        self.jwt: JwtValidator | None = None
        self.session: SessionReader | None = None

    async def authenticate(self, connection: HTTPConnection) -> Identity | None:
        try:
            return await self._authenticate(connection)
        except Unauthenticated:
            danube_metrics().auth_denied.inc()
            raise

    async def _authenticate(self, connection: HTTPConnection) -> Identity | None:
        header = connection.headers.get("authorization", "")
        if header:
            scheme, _, credential = header.partition(" ")
            credential = credential.strip()
            if scheme.lower() != "bearer" or not credential:
                raise Unauthenticated("expected an Authorization header 'Bearer <token>'")
            if looks_like_token(credential):
                return await run_in_threadpool(self.from_token, credential)
            return await self._from_jwt(credential)
        if self.session is not None:
            name = await self.session(connection)
            if name is not None:
                try:
                    return await run_in_threadpool(self._identity, name, "session", "write")
                except Unauthenticated:
                    connection.scope.get("session", {}).pop("user", None)  # gone from config
                    raise
        return None

    def from_token(self, credential: str) -> Identity:
        """A personal API token's identity (sync: for the CLI and thread pools)."""
        try:
            grant = self.tokens.verify(credential)
        except TokenRejectedError as error:
            raise Unauthenticated(str(error)) from None
        return self._identity(grant.user, "token", cast(Scope, grant.scope))

    async def _from_jwt(self, credential: str) -> Identity:
        if self.jwt is None:
            raise Unauthenticated("this server accepts no OIDC bearer tokens (no issuer)")
        claims = await self.jwt(credential)
        login = str(claims.get("email") or claims.get("preferred_username") or "")
        login = login or str(claims.get("name") or claims.get("sub") or "")
        return await run_in_threadpool(self._identity, login, "jwt", "write")

    def _identity(self, login: str, via: str, scope: Scope) -> Identity:
        user = self.directory.find(login)
        if user is None:
            raise Unauthenticated(f"user {login!r} is not a Danube user (users.yaml)")
        return Identity(name=user.name, email=user.email, via=via, scope=scope)  # type: ignore[arg-type]
