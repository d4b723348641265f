"""A personal API token: who it acts for, what it may do (``read`` or ``write``), until
when. The token itself is shown once when created; the log keeps only its SHA-256 (the
token is 256 random bits, so a fast hash is enough: nothing to brute-force)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.tokens.errors import TokenRejectedError

SCOPES = ("read", "write")
PREFIX = "dnb_"
_TOKENS = UUID("7b0e2f61-3c4d-4a9b-9e1f-2d5c8a6b4f10")
_SHAPE = re.compile(r"^dnb_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


def token_aggregate_id(token_id: str) -> UUID:
    return uuid5(_TOKENS, token_id)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_id_of(token: str) -> str:
    """The id part of ``dnb_<id>_<secret>``; raises ``TokenRejectedError`` otherwise."""
    match = _SHAPE.match(token)
    if not match:
        raise TokenRejectedError("not a Danube API token (expected dnb_<id>_<secret>)")
    return match.group(1)


def looks_like_token(credential: str) -> bool:
    return credential.startswith(PREFIX)


class ApiToken(Aggregate):
    TOPIC = "danube:ApiToken"

    class Created(Aggregate.Created):
        TOPIC = "danube:ApiToken.Created"
        token_id: str
        user: str
        name: str
        scope: str
        token_hash: str
        expires_at: str  # ISO 8601 UTC, "" = never
        cause: dict[str, str]

    def __init__(
        self,
        token_id: str,
        user: str,
        name: str,
        scope: str,
        token_hash: str,
        expires_at: str,
        cause: dict[str, str],
        **_: Any,
    ) -> None:
        self.token_id, self.user, self.name, self.scope = token_id, user, name, scope
        self.token_hash, self.expires_at = token_hash, expires_at
        self.revoked = False

    def expired(self, now: datetime) -> bool:
        return bool(self.expires_at) and datetime.fromisoformat(self.expires_at) <= now

    def revoke(self, cause: dict[str, str]) -> bool:
        if self.revoked:
            return False
        self.trigger_event(self.Revoked, token_id=self.token_id, cause=cause)
        return True

    class Revoked(Aggregate.Event):
        TOPIC = "danube:ApiToken.Revoked"
        token_id: str
        cause: dict[str, str]

        def apply(self, token: ApiToken) -> None:
            token.revoked = True
