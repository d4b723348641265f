"""Personal API tokens through the API: a user lists, creates and revokes their own.
Creating or revoking needs a write-scoped identity (a read-only token cannot mint a
token that may write); the new token's value is returned once and never again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from api.app.errors import InvalidInputError, NotFoundError
from domain.cause import Cause
from domain.tokens.application import ApiTokens
from domain.tokens.errors import InvalidTokenRequestError, TokenNotFoundError
from projections.tokens import TokensView

MAX_DAYS = 366


class TokenScopeError(InvalidInputError):
    """A read-only identity asked to create or revoke a token."""


@dataclass(frozen=True)
class ApiTokenResult:
    id: str
    name: str
    scope: str
    created_at: str
    expires_at: str  # "" = never
    revoked_at: str  # "" = not revoked

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and datetime.fromisoformat(self.expires_at) <= datetime.now(UTC):
            return "expired"
        return "active"


@dataclass(frozen=True)
class CreatedApiToken:
    token: str  # shown once
    api_token: ApiTokenResult


class TokenCommands:
    def __init__(
        self,
        tokens: ApiTokens,
        view: TokensView,
        wait_for_views: Callable[..., bool],
    ) -> None:
        self._tokens, self._view, self._wait = tokens, view, wait_for_views

    def list(self, user: str) -> list[ApiTokenResult]:
        return [_result(row) for row in self._view.of_user(user)]

    def create(
        self, user: str, scope_of_caller: str, name: str, scope: str, expires_in_days: int | None
    ) -> CreatedApiToken:
        _may_write(scope_of_caller)
        if expires_in_days is not None and not 1 <= expires_in_days <= MAX_DAYS:
            raise InvalidInputError(f"expiresInDays must be 1 to {MAX_DAYS} (or null: never)")
        lifetime = None if expires_in_days is None else timedelta(days=expires_in_days)
        try:
            new = self._tokens.create(user, name, scope, lifetime, Cause(actor=f"user:{user}"))
        except InvalidTokenRequestError as error:
            raise InvalidInputError(str(error)) from None
        self._wait(new.position, only=("tokens",))  # the user's list shows it at once
        return CreatedApiToken(new.token, self._one(user, new.token_id))

    def revoke(self, user: str, scope_of_caller: str, token_id: str) -> ApiTokenResult:
        _may_write(scope_of_caller)
        try:
            position = self._tokens.revoke(token_id, Cause(actor=f"user:{user}"), user=user)
        except TokenNotFoundError as error:
            raise NotFoundError(str(error)) from None
        self._wait(position, only=("tokens",))
        return self._one(user, token_id)

    def _one(self, user: str, token_id: str) -> ApiTokenResult:
        found = next((r for r in self._view.of_user(user) if r["id"] == token_id), None)
        if found is None:  # the read model is behind: what the command knows for sure
            now = datetime.now(UTC).isoformat()
            return ApiTokenResult(token_id, token_id, "", now, "", "")
        return _result(found)


def _may_write(scope: str) -> None:
    if scope != "write":
        raise TokenScopeError("a read-only token cannot create or revoke API tokens")


def _result(row: dict[str, str]) -> ApiTokenResult:
    return ApiTokenResult(
        id=row["id"],
        name=row["name"] or row["id"],
        scope=row["scope"] or "",
        created_at=row["created_at"] or "",
        expires_at=row["expires_at"] or "",
        revoked_at=row["revoked_at"] or "",
    )
