"""``viewer``: who the schema says is signed in, from the request's principal."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal

from api.app.principal import ANONYMOUS, Principals
from api.graphql.schema import build_schema
from domain.config.model import Config, Team

CONFIG = Config(
    commit="c0ffee",
    teams=(
        Team("web", ("alice@example.com",)),
        Team("platform", ("alice@example.com",), global_admin=True),
    ),
)


@dataclass(frozen=True)
class Alice:
    name: str = "alice"
    email: str = "alice@example.com"
    scope: Literal["read", "write"] = "write"


def viewer(principal: object) -> Any:
    query = "{ viewer { name email teams globalAdmin } }"
    result = asyncio.run(build_schema().execute(query, context_value={"principal": principal}))
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data["viewer"]


def test_the_viewer_is_the_signed_in_user_with_the_teams_the_config_gives_them() -> None:
    alice = Principals(lambda: CONFIG).resolve(Alice())
    assert viewer(alice) == {
        "name": "alice",
        "email": "alice@example.com",
        "teams": ["platform", "web"],
        "globalAdmin": True,
    }


def test_nobody_signed_in_has_no_viewer() -> None:
    assert viewer(ANONYMOUS) is None


def test_a_principal_follows_the_config_in_force_and_is_reused_while_it_holds() -> None:
    configs = [CONFIG]
    principals = Principals(lambda: configs[-1])
    first = principals.resolve(Alice())
    assert principals.resolve(Alice()) is first  # the same config: the same principal
    assert principals.cached(Alice(), stale_ok=60) is first  # no look-up needed
    configs.append(Config(commit="d00d", teams=(Team("web", ("alice@example.com",)),)))
    assert principals.cached(Alice(), stale_ok=60) is first  # looked up a moment ago
    again = principals.resolve(Alice())  # a request looks the config up every time
    assert again is not first and not again.global_admin and again.teams == ["web"]
    assert principals.cached(Alice(), stale_ok=0) is None  # would need a look-up
