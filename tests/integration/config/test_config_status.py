"""What the config in force looks like from outside: ``GET /api/v1/config``,
``GET /api/v1/pipelines`` and ``danube status``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.sql.store import StoreConfig
from tests.integration.config.conftest import ConfigWorld, make_world
from tests.integration.config.hooks import serving
from tests.support import danube_env
from tests.unit.forges.deliveries import GITHUB_SECRET, body

world_with = contextmanager(make_world)

BROKEN = """\
apiVersion: danube.dev/v1
kind: Pipeline
metadata: {name: hello-world, team: platform}
spec:
  repository: https://github.com/Codertocat/Hello-World.git
  colour: blue
"""


def good_then_broken(world: ConfigWorld) -> tuple[str, str]:
    good = world.push()
    assert world.loop.sync().outcome == "accepted"
    broken = world.push({"pipelines/hello.yaml": BROKEN}, "break it")
    assert world.loop.sync().outcome == "rejected"
    world.settle()
    return good, broken


def is_timestamp(value: Any) -> bool:
    return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None


def assert_rejection(rejection: dict[str, Any], commit: str) -> None:
    assert rejection["commit"] == commit
    assert is_timestamp(rejection["at"])
    [error] = rejection["errors"]
    assert (error["file"], error["line"], error["field"]) == (
        "pipelines/hello.yaml",
        6,
        "spec.colour",
    )
    assert "unknown field" in error["message"]


def test_the_api_shows_the_config_in_force_and_the_last_rejection(world: ConfigWorld) -> None:
    good, broken = good_then_broken(world)
    with serving(world) as hooks:
        status, config = hooks.request("GET", "/api/v1/config")
        assert status == 200
        assert (config["repository"], config["branch"]) == (world.origin.file_url, "main")
        assert config["commit"] == good
        assert is_timestamp(config["synced_at"])
        assert_rejection(config["last_rejection"], broken)
        assert config["fetch_problem"] is None

        status, listed = hooks.request("GET", "/api/v1/pipelines")
        assert status == 200
        assert listed["pipelines"] == [
            {
                "name": "hello-world",
                "repository": "https://github.com/Codertocat/Hello-World.git",
                "configured": True,
                "run_count": 0,
                "last_run": None,
            }
        ]


def test_a_pipelines_runs_are_counted_in_the_pipeline_list(
    store_config: StoreConfig, tmp_path: Path
) -> None:
    with world_with(store_config, tmp_path, github_webhook_secret=GITHUB_SECRET) as world:
        world.push()
        assert world.loop.sync().outcome == "accepted"
        with serving(world) as hooks:
            status, reply = hooks.github("push", body("github/push_branch.json"))
            assert status == 202
            world.settle()
            _, listed = hooks.request("GET", "/api/v1/pipelines")
    [row] = listed["pipelines"]
    assert (row["name"], row["run_count"], row["last_run"]["id"]) == (
        "hello-world",
        1,
        reply["runs"][0],
    )
    assert row["last_run"]["state"] == "pending"


def test_danube_status_shows_the_commit_its_sync_time_and_the_last_rejection(
    world: ConfigWorld,
) -> None:
    good, broken = good_then_broken(world)
    env = danube_env(
        world.danube.store.config,
        DANUBE_CONFIG_REPO_URL=world.origin.file_url,
        DANUBE_DATA_DIR=str(world.danube.settings.data_dir),
    )
    config = status_report(env)["config"]
    assert (config["repository"], config["commit"]) == (world.origin.file_url, good)
    assert is_timestamp(config["synced_at"])
    assert_rejection(config["last_rejection"], broken)
    assert (config["fetch_problem"], config["fetch_problem_at"]) == (None, None)

    shutil.rmtree(world.origin.bare)
    assert world.loop.sync().outcome == "fetch-failed"
    world.settle()
    config = status_report(env)["config"]
    assert "origin.git" in config["fetch_problem"]
    assert is_timestamp(config["fetch_problem_at"])
    assert config["commit"] == good, "the config in force stays"


def status_report(env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report
