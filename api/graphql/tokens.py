"""GraphQL for personal API tokens: ``apiTokens`` (the caller's own), ``createApiToken``
(the value is in the answer once, never again) and ``revokeApiToken``. The caller is who
the request's credentials prove (``api.auth``); anonymous callers get UNAUTHENTICATED."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from api.app.tokens import ApiTokenResult, TokenCommands
from api.auth import Identity, Unauthenticated, authenticate
from api.graphql.resolvers import ask

Ctx = Info[dict[str, Any], None]


@strawberry.enum(description="What a token may do: read, or also write (trigger, cancel, ...).")
class ApiTokenScope(Enum):
    READ = "read"
    WRITE = "write"


@strawberry.type(description="A personal API token (never its value).")
class ApiToken:
    id: strawberry.ID
    name: str
    scope: ApiTokenScope
    created_at: str
    expires_at: str | None = strawberry.field(description="null: it does not expire")
    revoked_at: str | None
    status: str = strawberry.field(description="active, expired or revoked")

    @classmethod
    def of(cls, result: ApiTokenResult) -> ApiToken:
        return cls(
            id=strawberry.ID(result.id),
            name=result.name,
            scope=ApiTokenScope(result.scope or "read"),
            created_at=result.created_at,
            expires_at=result.expires_at or None,
            revoked_at=result.revoked_at or None,
            status=result.status,
        )


@strawberry.type(description="A new token: ``token`` is shown now and never again.")
class CreatedApiToken:
    token: str
    api_token: ApiToken


async def _caller(info: Ctx) -> tuple[Identity, TokenCommands]:
    try:
        identity = await authenticate(info.context["request"])
    except Unauthenticated as error:
        raise GraphQLError(str(error), extensions={"code": "UNAUTHENTICATED"}) from None
    if identity is None:
        raise GraphQLError("log in to manage API tokens", extensions={"code": "UNAUTHENTICATED"})
    commands: TokenCommands = info.context["request"].app.state.api_token_commands
    return identity, commands


@strawberry.type
class TokenQuery:
    @strawberry.field(description="The caller's own API tokens, newest first.")
    async def api_tokens(self, info: Ctx) -> list[ApiToken]:
        identity, tokens = await _caller(info)
        return [ApiToken.of(t) for t in await ask(tokens.list, identity.name)]


@strawberry.type
class TokenMutation:
    @strawberry.mutation(description="Create an API token for the caller (write scope needed).")
    async def create_api_token(
        self,
        info: Ctx,
        name: str,
        scope: ApiTokenScope = ApiTokenScope.WRITE,
        expires_in_days: int | None = 90,
    ) -> CreatedApiToken:
        identity, tokens = await _caller(info)
        created = await ask(
            tokens.create, identity.name, identity.scope, name, scope.value, expires_in_days
        )
        return CreatedApiToken(token=created.token, api_token=ApiToken.of(created.api_token))

    @strawberry.mutation(description="Revoke one of the caller's API tokens.")
    async def revoke_api_token(self, info: Ctx, id: strawberry.ID) -> ApiToken:
        identity, tokens = await _caller(info)
        return ApiToken.of(await ask(tokens.revoke, identity.name, identity.scope, str(id)))
