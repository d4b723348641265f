"""Token commands: create (the secret is returned once), revoke, and verify a presented
token. Verification reads the token's own events from the log, so a token works (and a
revoked one stops working) the moment the command returns, in every process."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from eventsourcing.application import AggregateNotFoundError

from domain.cause import Cause
from domain.eventlog import EventLog
from domain.tokens.aggregates import (
    PREFIX,
    SCOPES,
    ApiToken,
    token_aggregate_id,
    token_hash,
    token_id_of,
)
from domain.tokens.errors import InvalidTokenRequestError, TokenNotFoundError, TokenRejectedError

MAX_NAME = 100


@dataclass(frozen=True)
class NewToken:
    token_id: str
    token: str  # shown once, never stored
    expires_at: datetime | None
    position: int


@dataclass(frozen=True)
class Grant:
    """What a valid token grants: acting as ``user`` with ``scope``."""

    token_id: str
    user: str
    scope: str
    name: str


class ApiTokens:
    def __init__(self, log: EventLog, clock: Callable[[], datetime] | None = None) -> None:
        self._log = log
        self._now = clock or (lambda: datetime.now(UTC))

    def create(
        self, user: str, name: str, scope: str, lifetime: timedelta | None, cause: Cause
    ) -> NewToken:
        if scope not in SCOPES:
            raise InvalidTokenRequestError(f"scope must be read or write, got {scope!r}")
        if not user:
            raise InvalidTokenRequestError("a token needs a user")
        if len(name) > MAX_NAME:
            raise InvalidTokenRequestError(f"token name longer than {MAX_NAME} characters")
        if lifetime is not None and lifetime <= timedelta(0):
            raise InvalidTokenRequestError("a token's lifetime must be positive")
        token_id = secrets.token_hex(8)
        token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        expires = None if lifetime is None else self._now() + lifetime
        aggregate = ApiToken._create(
            ApiToken.Created,
            id=token_aggregate_id(token_id),
            token_id=token_id,
            user=user,
            name=name or token_id,
            scope=scope,
            token_hash=token_hash(token),
            expires_at=expires.isoformat() if expires else "",
            cause=cause.to_dict(),
        )
        return NewToken(token_id, token, expires, self._log.create(aggregate))

    def revoke(self, token_id: str, cause: Cause, *, user: str | None = None) -> int:
        """Revoke a token (only ``user``'s, when given). Revoking twice is not an error."""
        token = self._load(token_id)
        if token is None or (user is not None and token.user != user):
            raise TokenNotFoundError(f"no API token {token_id!r}")
        return self._log.update(
            ApiToken, token_aggregate_id(token_id), lambda t: t.revoke(cause.to_dict())
        )

    def owner(self, token_id: str) -> str | None:
        token = self._load(token_id)
        return None if token is None else token.user

    def verify(self, presented: str) -> Grant:
        """The grant of a presented token, or ``TokenRejectedError`` saying why not."""
        token_id = token_id_of(presented)
        token = self._load(token_id)
        if token is None or not hmac.compare_digest(token.token_hash, token_hash(presented)):
            raise TokenRejectedError("unknown API token")
        if token.revoked:
            raise TokenRejectedError(f"API token {token_id} was revoked")
        if token.expired(self._now()):
            raise TokenRejectedError(f"API token {token_id} expired at {token.expires_at}")
        return Grant(token_id, token.user, token.scope, token.name)

    def _load(self, token_id: str) -> ApiToken | None:
        try:
            return self._log.load(ApiToken, token_aggregate_id(token_id))
        except AggregateNotFoundError:
            return None
