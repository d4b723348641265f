"""The personal API tokens read model: one row per token (never the token or its hash;
only what a list shows), and its query interface. Authentication does not read it: a
presented token is checked against its own events (``domain.tokens``), so a new or
revoked token acts at once; this model answers "which tokens does alice have"."""

from __future__ import annotations

from typing import Any

from domain.tokens.aggregates import ApiToken
from projections.model import Column, Row, RowReader, Rows, Table

TOKENS = Table(
    "api_tokens",
    (
        Column("user_name"),
        Column("name"),
        Column("scope"),
        Column("created_at"),
        Column("created_by"),
        Column("expires_at"),
        Column("revoked_at"),
        Column("revoked_by"),
    ),
    indexes=(("user_name", "created_at"),),
)


class TokensProjection:
    name = "tokens"
    tables = (TOKENS,)
    topics = frozenset((ApiToken.Created.TOPIC, ApiToken.Revoked.TOPIC))

    def apply(self, event: Any, rows: Rows) -> None:
        topic = type(event).TOPIC
        row_id = event.token_id
        actor = dict(getattr(event, "cause", None) or {}).get("actor", "")
        if topic == ApiToken.Created.TOPIC:
            row = TOKENS.blank(row_id)
            row.update(
                user_name=event.user,
                name=event.name,
                scope=event.scope,
                created_at=event.timestamp.isoformat(),
                created_by=actor,
                expires_at=event.expires_at,
                revoked_at="",
                revoked_by="",
            )
            rows.put("api_tokens", row)
        elif topic == ApiToken.Revoked.TOPIC:
            found = rows.get("api_tokens", row_id)
            if found is not None:
                found.update(revoked_at=event.timestamp.isoformat(), revoked_by=actor)
                rows.put("api_tokens", found)


class TokensView:
    def __init__(self, reader: RowReader) -> None:
        self._reader = reader

    def of_user(self, user: str) -> list[Row]:
        """The user's tokens, newest first (revoked and expired ones included)."""
        return self._reader.find(
            "api_tokens", {"user_name": user}, order_by=("created_at", "id"), descending=True
        )

    def all(self) -> list[Row]:
        return self._reader.find("api_tokens", {}, order_by=("created_at", "id"), descending=True)
