"""Configuration as code: a git repository synced into one event per change."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from adapters.sql.store import StoreConfig
from tests.integration.config.conftest import ConfigWorld, files, make_world
from tests.integration.git.origin import Origin
from tests.support import danube_env


def test_a_valid_commit_becomes_the_config_in_force(world: ConfigWorld) -> None:
    commit = world.push()
    result = world.loop.sync()
    assert (result.outcome, result.commit) == ("accepted", commit)
    config = world.danube.config.current()
    assert config is not None
    assert config.commit == commit
    assert [p.name for p in config.pipelines] == ["hello-world"]
    assert config.pipeline("hello-world").concurrency == 2  # type: ignore[union-attr]
    world.settle()
    view = world.danube.config_view
    assert view.state()["commit_sha"] == commit  # type: ignore[index]
    assert [row["id"] for row in view.pipelines()] == ["hello-world"]
    assert {row["id"] for row in view.teams()} == {"platform", "web"}
    assert sorted((p["team"], p["pipeline"], p["level"]) for p in view.permissions()) == [
        ("platform", "hello-world", "admin"),
        ("web", "hello-world", "write"),
    ]


def test_an_unchanged_commit_records_nothing(world: ConfigWorld) -> None:
    world.push()
    world.loop.sync()
    position = world.danube.store.log.position()
    assert world.loop.sync().outcome == "unchanged"
    assert world.danube.store.log.position() == position


def test_a_broken_commit_is_rejected_with_every_error_and_the_good_one_stays(
    world: ConfigWorld,
) -> None:
    good = world.push()
    world.loop.sync()
    broken = world.push(
        {
            "pipelines/hello.yaml": CONFIG_WITH_ERRORS,
            "teams.yaml": "apiVersion: danube.dev/v1\nkind: Team\nmetadata: {name: platform}\n"
            "spec: {members: [carol@example.com]}\n",
        },
        "break it",
    )
    result = world.loop.sync()
    assert (result.outcome, result.commit) == ("rejected", broken)
    assert world.danube.config.current().commit == good  # type: ignore[union-attr]
    world.settle()
    state = world.danube.config_view.state()
    assert state is not None
    assert (state["commit_sha"], state["rejected_commit"]) == (good, broken)
    errors = {(e["file"], e["line"], e["field"]) for e in state["errors"]}
    assert ("pipelines/hello.yaml", 7, "spec.triggers[0].schedule") in errors
    assert any(
        e["file"] == "pipelines/hello.yaml" and e["field"] == "spec.colour" for e in state["errors"]
    )
    assert any("unknown team 'mobile'" in e["message"] for e in state["errors"])
    assert any("carol" in e["message"] and e["file"] == "teams.yaml" for e in state["errors"])
    position = world.danube.store.log.position()
    assert world.loop.sync().outcome == "unchanged", "a rejected commit is not rejected twice"
    assert world.danube.store.log.position() == position


CONFIG_WITH_ERRORS = """\
apiVersion: danube.dev/v1
kind: Pipeline
metadata: {name: hello-world, team: platform}
spec:
  repository: https://github.com/Codertocat/Hello-World.git
  triggers:
    - {on: cron, schedule: "61 * * * *"}
  colour: blue
  permissions: [{team: mobile, level: read}]
"""


def test_an_unreachable_remote_is_reported_and_the_config_stays(world: ConfigWorld) -> None:
    good = world.push()
    world.loop.sync()
    moved = world.origin.bare.with_name("elsewhere.git")
    world.origin.bare.rename(moved)
    result = world.loop.sync()
    assert result.outcome == "fetch-failed"
    assert world.origin.bare.name in result.message or "origin.git" in result.message
    assert world.danube.config.current().commit == good  # type: ignore[union-attr]
    world.settle()
    assert world.danube.config_view.state()["fetch_problem"]  # type: ignore[index]
    moved.rename(world.origin.bare)
    assert world.loop.sync().outcome == "unchanged"
    world.settle()
    assert world.danube.config_view.state()["fetch_problem"] == ""  # type: ignore[index]


def test_a_force_pushed_branch_is_held_until_an_operator_accepts_it(world: ConfigWorld) -> None:
    first = world.push()
    second = world.push({"README.md": "a later commit"}, "later")
    assert world.loop.sync().commit == second
    world.origin.reset(first)
    forced = world.origin.commit({"OTHER.md": "history rewritten"}, "rewritten")
    world.origin.push(force=True)
    result = world.loop.sync()
    assert result.outcome == "force-pushed"
    assert f"does not descend from the config in force ({second[:12]})" in result.message
    assert world.danube.config.current().commit == second  # type: ignore[union-attr]
    assert world.loop.sync().outcome == "force-pushed", "held on every sync, not only once"
    result = world.loop.sync(allow_force_push=True)
    assert (result.outcome, result.commit) == ("accepted", forced)


def test_danube_config_sync_and_status_on_the_command_line(world: ConfigWorld) -> None:
    commit = world.push()
    env = danube_env(
        world.danube.store.config,
        DANUBE_CONFIG_REPO_URL=world.origin.file_url,
        DANUBE_DATA_DIR=str(world.danube.settings.data_dir),
    )
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "config", "sync"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"accepted {commit[:12]}"
    status = subprocess.run(
        [sys.executable, "-m", "api.cli", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert f'"commit": "{commit}"' in status.stdout
    shutil.rmtree(world.origin.bare)
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "config", "sync"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "fetch-failed" in result.stdout


def test_an_authentication_failure_over_https_is_reported_without_the_password(
    store_config: StoreConfig, tmp_path: Path
) -> None:
    from tests.integration.git.http_server import serve_git

    origin = Origin(tmp_path / "served")
    origin.commit(files(), "config")
    origin.push()
    with serve_git(origin.bare.parent, "ci", "right-password") as base:
        good = base.replace("://", "://ci:right-password@") + "/origin.git"
        bad = base.replace("://", "://ci:wrong-password@") + "/origin.git"
        for world in make_world(store_config, tmp_path / "good", config_repo_url=good):
            assert world.loop.sync().outcome == "accepted"
        for world in make_world(store_config, tmp_path / "bad", config_repo_url=bad):
            result = world.loop.sync()
            assert result.outcome == "fetch-failed"
            assert "Authentication failed" in result.message
            assert "wrong-password" not in result.message
            world.settle()
            problem = world.danube.config_view.state()["fetch_problem"]  # type: ignore[index]
            assert "wrong-password" not in problem


def test_an_ssh_config_repository_syncs_with_the_deploy_key_from_settings(
    store_config: StoreConfig, tmp_path: Path
) -> None:
    from tests.integration.git.ssh_server import serve_ssh

    origin = Origin(tmp_path / "served")
    with serve_ssh(tmp_path / "sshd") as sshd:
        ssh = {
            "config_repo_url": sshd.url(origin.bare),
            "config_repo_ssh_key_path": str(sshd.client_key),
            "config_repo_ssh_known_hosts_path": str(sshd.known_hosts),
        }
        for world in make_world(store_config, tmp_path / "good", **ssh):
            world.origin = origin
            commit = world.push()
            assert (world.loop.sync().outcome, world.loop.sync().outcome) == (
                "accepted",
                "unchanged",
            )
            assert world.danube.config.current().commit == commit  # type: ignore[union-attr]
            (tmp_path / "sshd" / "authorized_keys").write_text("")  # the deploy key is revoked
            world.push({"config.yaml": files()["config.yaml"] + "# changed\n"})
            result = world.loop.sync()
            assert result.outcome == "fetch-failed"
            assert "Permission denied (publickey)" in result.message
            assert world.danube.config.current().commit == commit  # type: ignore[union-attr]
