"""Signed webhook bodies that are valid JSON in no useful sense, or that name a commit
or ref git would refuse, are answered 400 with a message, and nothing is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.sql.store import StoreConfig
from tests.integration.config.conftest import make_world
from tests.integration.config.hooks import Hooks, serving
from tests.unit.forges.deliveries import GITHUB_SECRET, body


@pytest.fixture
def hooks(store_config: StoreConfig, tmp_path: Path) -> Iterator[Hooks]:
    for world in make_world(store_config, tmp_path, github_webhook_secret=GITHUB_SECRET):
        with serving(world) as hooks:
            yield hooks


def push(**changes: str) -> bytes:
    data = json.loads(body("github/push_branch.json"))
    data.update(changes)
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        (b"[" * 1000 + b"]" * 1000, "nested too deeply"),
        (b'{"ref": ' + b"9" * 5000 + b"}", "not valid JSON"),
        (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
    ],
)
def test_json_too_deep_or_with_a_huge_number_is_a_400(hooks: Hooks, raw: bytes, named: str) -> None:
    position = hooks.position()
    status, reply = hooks.github("push", raw, delivery="deep")
    assert status == 400, reply
    assert named in reply["detail"]
    assert hooks.position() == position, "nothing stored"


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"after": "HEAD"}, "40-hex"),
        ({"after": "ec26c3e5"}, "40-hex"),
        ({"after": "-" + "a" * 39}, "40-hex"),
        ({"ref": "refs/heads/ma in"}, "space"),
        ({"ref": "refs/heads/-main"}, "'-'"),
        ({"ref": "refs/heads/main\n"}, "control"),
        ({"ref": "refs/heads/a..b"}, "'..'"),
        ({"ref": "refs/tags/v1.lock"}, ".lock"),
    ],
)
def test_a_push_git_could_never_check_out_is_a_400(
    hooks: Hooks, changes: dict[str, str], named: str
) -> None:
    position = hooks.position()
    status, reply = hooks.github("push", push(**changes), delivery="bad-ref")
    assert status == 400, reply
    assert named in reply["detail"]
    assert hooks.position() == position, "nothing stored"
    status, reply = hooks.github("push", push(), delivery="good-ref")
    assert status in (200, 202), reply
