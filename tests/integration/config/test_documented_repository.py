"""A config repository made of exactly the examples in DESIGN.md §6 (see
tests/unit/config/documented/README.md) syncs with no error, and GitHub's real-shaped
deliveries for its repository start the pipeline as they always did."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.sql.store import StoreConfig
from tests.integration.config.conftest import ConfigWorld, make_world
from tests.integration.config.hooks import Hooks, serving
from tests.unit.forges.deliveries import GITHUB_SECRET, body

DOCUMENTED = Path(__file__).parents[2] / "unit" / "config" / "documented"


def for_frontend(name: str) -> bytes:
    """A recorded GitHub delivery, for github.com/acme/frontend instead."""
    return body(name).replace(b"Codertocat/Hello-World", b"acme/frontend")


@pytest.fixture
def documented(store_config: StoreConfig, tmp_path: Path) -> Iterator[tuple[ConfigWorld, Hooks]]:
    for world in make_world(store_config, tmp_path, github_webhook_secret=GITHUB_SECRET):
        files = {
            str(path.relative_to(DOCUMENTED)): path.read_text()
            for path in DOCUMENTED.rglob("*.yaml")
        }
        world.origin.commit(files, "the documented examples")
        world.origin.push()
        with serving(world) as hooks:
            yield world, hooks


def test_the_documented_examples_sync_and_start_runs_from_github_deliveries(
    documented: tuple[ConfigWorld, Hooks],
) -> None:
    world, hooks = documented
    result = world.loop.sync()
    assert result.outcome == "accepted", result.message
    world.settle()
    assert [row["id"] for row in world.danube.config_view.pipelines()] == ["frontend-build"]
    assert sorted(
        (p["team"], p["level"]) for p in world.danube.config_view.permissions("frontend-build")
    ) == [("engineering", "admin"), ("qa", "read")]

    started = []
    for event, name in (
        ("push", "github/push_branch.json"),
        ("push", "github/push_tag_annotated.json"),
        ("pull_request", "github/pull_request_opened.json"),
    ):
        status, reply = hooks.github(event, for_frontend(name), delivery=name)
        assert (status, reply["status"]) == (202, "started"), (name, reply)
        run = hooks.run(reply["runs"][0])
        started.append((run.pipeline, run.trigger["type"], run.ref))

    assert started == [
        ("frontend-build", "push", "refs/heads/main"),
        ("frontend-build", "tag", "refs/tags/v1.2.0"),
        ("frontend-build", "pull_request", "refs/pull/2/head"),
    ]
