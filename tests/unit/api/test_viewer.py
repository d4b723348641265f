"""``viewer``: who the schema says is signed in, from the request's principal."""

from __future__ import annotations

import asyncio
from typing import Any

from api.app.principal import ANONYMOUS, Principals
from api.graphql.schema import build_schema

TEAMS = [
    {"id": "web", "members": ["alice@example.com"], "global_admin": 0},
    {"id": "platform", "members": ["alice@example.com"], "global_admin": 1},
]
PERMISSIONS = [{"id": "web:site", "team": "web", "pipeline": "site", "level": "write"}]


class ConfigRows:
    """The two tables a principal is resolved from, as rows."""

    def teams(self) -> list[dict[str, Any]]:
        return TEAMS

    def permissions(self, pipeline: str | None = None) -> list[dict[str, Any]]:
        return PERMISSIONS


class Alice:
    name, email, scope = "alice", "alice@example.com", "write"


def viewer(principal: object) -> Any:
    query = "{ viewer { name email teams globalAdmin } }"
    result = asyncio.run(build_schema().execute(query, context_value={"principal": principal}))
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data["viewer"]


def test_the_viewer_is_the_signed_in_user_with_the_teams_the_config_gives_them() -> None:
    alice = Principals(ConfigRows()).resolve(Alice())
    assert viewer(alice) == {
        "name": "alice",
        "email": "alice@example.com",
        "teams": ["platform", "web"],
        "globalAdmin": True,
    }


def test_nobody_signed_in_has_no_viewer() -> None:
    assert viewer(ANONYMOUS) is None
