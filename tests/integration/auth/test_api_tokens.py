"""Personal API tokens on both event stores: what a token grants, and when it stops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.sql.replay import replay
from adapters.sql.store import SqlStore
from domain.cause import Cause
from domain.tokens.application import ApiTokens
from domain.tokens.errors import InvalidTokenRequestError, TokenNotFoundError, TokenRejectedError
from projections.audit import AuditProjection, AuditView
from projections.tokens import TokensProjection, TokensView

CLI = Cause(actor="cli:test")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_created_token_acts_for_its_user_with_its_scope(store: SqlStore) -> None:
    tokens = ApiTokens(store.log)
    new = tokens.create("alice", "ci", "read", timedelta(days=30), CLI)
    grant = tokens.verify(new.token)
    assert (grant.user, grant.scope, grant.name, grant.token_id) == (
        "alice",
        "read",
        "ci",
        new.token_id,
    )


def test_the_log_never_holds_the_token_itself(store: SqlStore) -> None:
    new = ApiTokens(store.log).create("alice", "", "write", None, CLI)
    stored = b"".join(bytes(n.state) for n in store.log.recorder.select_notifications(1, 100))
    secret_part = new.token.rsplit("_", 1)[-1]
    assert new.token.encode() not in stored and secret_part.encode() not in stored


def test_a_revoked_token_is_refused_at_once(store: SqlStore) -> None:
    tokens = ApiTokens(store.log)
    new = tokens.create("alice", "ci", "write", None, CLI)
    tokens.revoke(new.token_id, CLI)
    with pytest.raises(TokenRejectedError, match=f"API token {new.token_id} was revoked"):
        tokens.verify(new.token)


def test_an_expired_token_is_refused(store: SqlStore) -> None:
    clock = Clock()
    tokens = ApiTokens(store.log, clock)
    new = tokens.create("alice", "ci", "write", timedelta(hours=1), CLI)
    clock.now += timedelta(minutes=59)
    assert tokens.verify(new.token).user == "alice"
    clock.now += timedelta(minutes=1)
    with pytest.raises(TokenRejectedError, match="expired at 2026-12-07T13:00:00"):
        tokens.verify(new.token)


@pytest.mark.parametrize(
    "presented",
    ["tampered", "dnb_0123456789abcdef_" + "A" * 43, "dnb_short", "ghp_somethingelse"],
)
def test_a_tampered_or_unknown_token_is_refused(store: SqlStore, presented: str) -> None:
    tokens = ApiTokens(store.log)
    new = tokens.create("alice", "ci", "write", None, CLI)
    if presented == "tampered":  # the right id, another secret
        presented = new.token[:-1] + ("A" if new.token[-1] != "A" else "B")
    with pytest.raises(TokenRejectedError):
        tokens.verify(presented)


def test_bad_requests_are_refused_with_the_reason(store: SqlStore) -> None:
    tokens = ApiTokens(store.log)
    with pytest.raises(InvalidTokenRequestError, match="scope must be read or write"):
        tokens.create("alice", "ci", "admin", None, CLI)
    with pytest.raises(InvalidTokenRequestError, match="lifetime must be positive"):
        tokens.create("alice", "ci", "read", timedelta(0), CLI)
    with pytest.raises(TokenNotFoundError, match="no API token 'feedfacefeedface'"):
        tokens.revoke("feedfacefeedface", CLI)


def test_a_user_can_only_revoke_their_own_tokens(store: SqlStore) -> None:
    tokens = ApiTokens(store.log)
    new = tokens.create("alice", "ci", "write", None, CLI)
    with pytest.raises(TokenNotFoundError):
        tokens.revoke(new.token_id, CLI, user="bob")
    assert tokens.verify(new.token).user == "alice"


def test_the_read_model_lists_a_users_tokens_without_their_values(store: SqlStore) -> None:
    tokens = ApiTokens(store.log)
    first = tokens.create("alice", "first", "read", timedelta(days=1), CLI)
    second = tokens.create("alice", "second", "write", None, CLI)
    tokens.create("bob", "bobs", "write", None, CLI)
    tokens.revoke(first.token_id, Cause(actor="user:alice"))
    projection = TokensProjection()
    projector = store.projector(projection)
    projector.start()
    projector.catch_up()
    rows = TokensView(store.views.reader(projection)).of_user("alice")
    assert [(r["id"], r["name"], r["scope"]) for r in rows] == [
        (second.token_id, "second", "write"),
        (first.token_id, "first", "read"),
    ]
    assert rows[1]["revoked_by"] == "user:alice" and rows[1]["revoked_at"]
    assert rows[0]["revoked_at"] == "" and rows[0]["expires_at"] == ""
    assert all(second.token not in str(row) for row in rows)
    assert replay(store.feed, store.views, projection, check=True).matches


def test_the_audit_trail_names_who_created_and_revoked_a_token(store: SqlStore) -> None:
    tokens = ApiTokens(store.log)
    new = tokens.create("alice", "deploy", "read", None, Cause(actor="cli:root"))
    tokens.revoke(new.token_id, Cause(actor="user:alice"))
    projection = AuditProjection()
    projector = store.projector(projection)
    projector.start()
    projector.catch_up()
    entries, _ = AuditView(store.views.reader(projection)).entries()
    trail = [(e["action"], e["actor"], e["detail"]) for e in reversed(entries)]
    assert trail == [
        (
            "ApiToken.Created",
            "cli:root",
            {"user": "alice", "token_id": new.token_id, "name": "deploy", "scope": "read"},
        ),
        ("ApiToken.Revoked", "user:alice", {"token_id": new.token_id}),
    ]
