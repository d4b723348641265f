"""What the Admin page reads and does through GraphQL: the config commit in force and
the last rejection with its errors, webhook deliveries, and replaying one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.sql.store import StoreConfig
from domain.cause import Cause
from tests.integration.config.conftest import make_world
from tests.integration.config.hooks import Hooks, serving
from tests.integration.config.test_config_status import good_then_broken, is_timestamp
from tests.support import a_global_admin, sign_in
from tests.unit.forges.deliveries import GITHUB_SECRET, body

CONFIG = """{ config { repository branch commit syncedAt fetchProblem
  lastRejection { commit at errors { file line field message } } } }"""
DELIVERIES = """{ deliveries(first: 10) { id provider deliveryId event processed outcome
  runIds reason replays } }"""
REPLAY = """mutation($id: ID!) { replayDelivery(id: $id) {
  __typename ... on DeliveryReplayed { outcome runIds } ... on Problem { message code } } }"""


@pytest.fixture
def hooks(store_config: StoreConfig, tmp_path: Path) -> Iterator[Hooks]:
    for world in make_world(store_config, tmp_path, github_webhook_secret=GITHUB_SECRET):
        with serving(world) as served:
            yield served


def graphql(hooks: Hooks, query: str, **variables: Any) -> dict[str, Any]:
    """As a global admin of the config in force (the first-start admin before one)."""
    admin = a_global_admin(hooks.world.danube)
    if admin != hooks.signed_in_as:
        sign_in(hooks.url, hooks.world.danube, admin)
        hooks.signed_in_as = admin
    raw = json.dumps({"query": query, "variables": variables}).encode()
    status, reply = hooks.request("POST", "/graphql", raw, {"Content-Type": "application/json"})
    assert status == 200, reply
    assert "errors" not in reply, reply
    data: dict[str, Any] = reply["data"]
    return data


def test_the_config_in_force_and_the_last_rejection_with_its_errors(hooks: Hooks) -> None:
    good, broken = good_then_broken(hooks.world)
    config = graphql(hooks, CONFIG)["config"]
    assert (config["repository"], config["branch"]) == (hooks.world.origin.file_url, "main")
    assert config["commit"] == good
    assert is_timestamp(config["syncedAt"])
    assert config["fetchProblem"] is None
    rejection = config["lastRejection"]
    assert rejection["commit"] == broken
    assert is_timestamp(rejection["at"])
    [error] = rejection["errors"]
    assert (error["file"], error["line"], error["field"]) == (
        "pipelines/hello.yaml",
        6,
        "spec.colour",
    )
    assert "unknown field" in error["message"]


def test_before_any_config_nothing_is_in_force_and_nothing_rejected(hooks: Hooks) -> None:
    config = graphql(hooks, CONFIG)["config"]
    assert (config["commit"], config["lastRejection"]) == (None, None)


def test_deliveries_are_listed_and_replayed_without_a_second_run(hooks: Hooks) -> None:
    hooks.world.push()
    assert hooks.world.loop.sync().outcome == "accepted"
    hooks.github("push", body("github/push_branch.json"), delivery="admin-1")
    hooks.world.settle()
    [row] = [d for d in graphql(hooks, DELIVERIES)["deliveries"] if d["deliveryId"] == "admin-1"]
    assert (row["provider"], row["event"], row["processed"], row["outcome"]) == (
        "github", "push", True, "started")  # fmt: skip
    assert len(row["runIds"]) == 1

    replayed = graphql(hooks, REPLAY, id=row["id"])["replayDelivery"]
    assert replayed == {"__typename": "DeliveryReplayed", "outcome": "started",
                        "runIds": row["runIds"]}  # fmt: skip
    hooks.world.settle()
    [again] = [d for d in graphql(hooks, DELIVERIES)["deliveries"] if d["deliveryId"] == "admin-1"]
    assert again["replays"] == 1


def test_replaying_is_refused_for_an_unknown_delivery_bad_input_and_while_draining(
    hooks: Hooks,
) -> None:
    hooks.world.push()
    assert hooks.world.loop.sync().outcome == "accepted"
    hooks.github("push", body("github/push_branch.json"), delivery="admin-2")
    hooks.world.settle()
    [row] = graphql(hooks, DELIVERIES)["deliveries"]

    unknown = graphql(hooks, REPLAY, id="0f6b2b9e-8d3e-4a43-9a43-5a1c1e0f6b2b")["replayDelivery"]
    assert (unknown["__typename"], unknown["code"]) == ("DeliveryNotFound", "NOT_FOUND")
    bad = graphql(hooks, REPLAY, id="nope")["replayDelivery"]
    assert (bad["__typename"], bad["code"]) == ("InvalidInput", "BAD_USER_INPUT")
    assert "nope" in bad["message"]

    hooks.world.danube.system.start_draining(Cause(actor="user:ops"))
    draining = graphql(hooks, REPLAY, id=row["id"])["replayDelivery"]
    assert (draining["__typename"], draining["code"]) == ("Unavailable", "UNAVAILABLE")
    hooks.world.settle()
    [after] = graphql(hooks, DELIVERIES)["deliveries"]
    assert after["replays"] == 0, "a refused replay records nothing"


def test_only_global_admins_see_the_config_and_deliveries_or_replay(hooks: Hooks) -> None:
    hooks.world.push()
    assert hooks.world.loop.sync().outcome == "accepted"
    hooks.world.settle()
    sign_in(hooks.url, hooks.world.danube, user="bob")  # a member of team web only
    hooks.signed_in_as = "bob"
    for query in (CONFIG, DELIVERIES):
        raw = json.dumps({"query": query}).encode()
        _, reply = hooks.request("POST", "/graphql", raw, {"Content-Type": "application/json"})
        assert reply["data"] is None, reply
        assert reply["errors"][0]["extensions"]["code"] == "FORBIDDEN", reply
    raw = json.dumps({"query": REPLAY, "variables": {"id": "0f6b2b9e-8d3e-4a43-9a43-5a1c1e0f6b2b"}})
    _, reply = hooks.request("POST", "/graphql", raw.encode(), {"Content-Type": "application/json"})
    assert reply["errors"][0]["extensions"]["code"] == "FORBIDDEN", reply
