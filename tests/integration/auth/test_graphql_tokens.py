"""API tokens through GraphQL: a user lists, creates (the value once) and revokes their
own; read-only tokens cannot mint tokens; anonymous callers are UNAUTHENTICATED."""

from __future__ import annotations

from typing import Any

import httpx

from domain.cause import Cause
from tests.integration.auth.conftest import Server, call
from tests.support import wait_for

LIST = "{ apiTokens { id name scope status expiresAt revokedAt } }"
CREATE = """mutation($name: String!, $scope: ApiTokenScope!, $days: Int) {
  createApiToken(name: $name, scope: $scope, expiresInDays: $days) {
    token apiToken { id name scope status expiresAt } } }"""
REVOKE = "mutation($id: ID!) { revokeApiToken(id: $id) { id status revokedAt } }"


def gql(server: Server, token: str, query: str, **variables: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"query": query, "variables": variables}
    reply = httpx.post(f"{server.url}/graphql", json=body, headers=headers, timeout=30)
    answer: dict[str, Any] = reply.json()
    return answer


def mint(server: Server, user: str = "admin", scope: str = "write") -> str:
    return server.danube.api_tokens.create(user, "test", scope, None, Cause("test")).token


def test_a_user_creates_lists_and_revokes_their_tokens(server: Server) -> None:
    admin = mint(server)
    created = gql(server, admin, CREATE, name="deploy script", scope="READ", days=7)
    assert "errors" not in created, created
    new = created["data"]["createApiToken"]
    assert new["apiToken"]["name"] == "deploy script"
    assert (new["apiToken"]["scope"], new["apiToken"]["status"]) == ("READ", "active")
    assert new["apiToken"]["expiresAt"]
    status, me = call(f"{server.url}/auth/me", new["token"])
    assert (status, me["scope"], me["via"]) == (200, "read", "token")

    listed = gql(server, admin, LIST)["data"]["apiTokens"]
    assert [t["name"] for t in listed][:1] == ["deploy script"]  # newest first
    assert all(new["token"] not in str(t) for t in listed)

    revoked = gql(server, admin, REVOKE, id=new["apiToken"]["id"])["data"]["revokeApiToken"]
    assert revoked["status"] == "revoked" and revoked["revokedAt"]
    assert call(f"{server.url}/auth/me", new["token"])[0] == 401


def test_a_read_only_token_cannot_mint_or_revoke_tokens(server: Server) -> None:
    reader = mint(server, scope="read")
    refused = gql(server, reader, CREATE, name="escalate", scope="WRITE", days=1)
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "read-only token cannot" in refused["errors"][0]["message"]
    listed = wait_for(
        lambda: gql(server, reader, LIST)["data"]["apiTokens"],
        bool,
        what="the token minted outside the API in the read model",
    )
    assert listed[0]["scope"] == "READ"


def test_nobody_revokes_a_token_that_is_not_theirs(server: Server) -> None:
    others = server.danube.api_tokens.create("bob", "b", "write", None, Cause("test"))
    refused = gql(server, mint(server), REVOKE, id=others.token_id)
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert server.danube.api_tokens.verify(others.token).user == "bob"


def test_anonymous_and_bad_credentials_are_unauthenticated(server: Server) -> None:
    for token in ("", "dnb_0123456789abcdef_" + "x" * 43):
        answer = gql(server, token, LIST)
        assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", answer
    bad_days = gql(server, mint(server), CREATE, name="x", scope="READ", days=0)
    assert bad_days["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
