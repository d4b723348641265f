"""The config sync loop itself: it clones on start, fetches every interval, and syncs at
once when a push to the config repository is delivered or it is woken mid-sync."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adapters.sql.store import StoreConfig
from api.processes import Supervisor
from api.triggers.loops import ConfigSyncLoop, sync_loop
from tests.integration.config.conftest import ConfigWorld, make_world
from tests.integration.config.hooks import serving
from tests.support import wait_until
from tests.unit.forges.deliveries import GITHUB_SECRET, body, payload

world_with = contextmanager(make_world)


@contextmanager
def running(loop: ConfigSyncLoop) -> Iterator[None]:
    supervisor = Supervisor()
    supervisor.add("config-sync", loop)
    supervisor.on_stop(loop.wake)
    try:
        yield
    finally:
        supervisor.stop()


def in_force(world: ConfigWorld, commit: str, what: str, timeout: float = 15.0) -> None:
    def current() -> str:
        config = world.danube.config.current()
        return config.commit if config is not None else ""

    wait_until(lambda: current() == commit, timeout=timeout, what=what)


def config_push(world: ConfigWorld, commit: str) -> bytes:
    """A GitHub push delivery for the config repository itself."""
    data = payload("github/push_branch.json")
    url = world.origin.file_url
    data["after"] = data["head_commit"]["id"] = commit
    data["repository"].update(html_url=url, url=url, clone_url=url, ssh_url=url, git_url=url)
    data["repository"].pop("svn_url")
    return body(data)


def test_the_loop_clones_on_start_and_fetches_every_interval(
    store_config: StoreConfig, tmp_path: Path
) -> None:
    with world_with(store_config, tmp_path, config_repo_sync_interval="1s") as world:
        first = world.push()
        with running(world.loop):
            in_force(world, first, "the first sync, on start")
            second = world.push({"README.md": "later"}, "later")
            in_force(world, second, "a sync one interval later")


def test_a_push_to_the_config_repository_syncs_at_once(
    store_config: StoreConfig, tmp_path: Path
) -> None:
    with world_with(
        store_config, tmp_path, config_repo_sync_interval="1h", github_webhook_secret=GITHUB_SECRET
    ) as world:
        first = world.push()
        with running(world.loop), serving(world) as hooks:
            in_force(world, first, "the first sync, on start")
            second = world.push({"README.md": "pushed"}, "pushed")
            status, reply = hooks.github("push", config_push(world, second), delivery="cfg-1")
            assert (status, reply["status"]) == (200, "ignored"), "no pipeline builds it"
            in_force(world, second, "a sync woken by the push, long before the hour")


def test_a_wake_during_a_sync_is_followed_by_another_sync(
    store_config: StoreConfig, tmp_path: Path
) -> None:
    with world_with(store_config, tmp_path, config_repo_sync_interval="1h") as world:
        first = world.push()
        pushed: list[str] = []

        def push_and_wake() -> None:  # called inside the sync that accepted a config
            if not pushed:
                pushed.append(world.push({"README.md": "during"}, "during"))
                loop.wake()

        loop = sync_loop(world.danube, world.danube.webhook_secrets.forget, push_and_wake)
        with running(loop):
            in_force(world, first, "the first sync")
            wait_until(lambda: pushed, what="the push during the first sync")
            in_force(world, pushed[0], "the sync after the wake")
