"""A Danube (stores + projectors, no executor) with a real git config repository."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.sql.store import StoreConfig
from api.bootstrap import Danube, build
from api.processes import Supervisor, start_projectors
from api.triggers.loops import ConfigSyncLoop, sync_loop
from tests.integration.execution.conftest import settings_for
from tests.integration.git.origin import Origin

# The documented format (DESIGN.md §6).
HASH = "$2b$04$S6ybGz8QSRqlR7Q0yQ7D6ON6ZPfqIbSoUu5bmoJ.GztCQhMrV0bmq"
CONFIG = {
    "config.yaml": """
        apiVersion: danube.dev/v1
        kind: Config
        metadata: {name: danube}
        spec:
          retention: {logs_days: 14}
    """,
    "teams.yaml": """
        apiVersion: danube.dev/v1
        kind: Team
        metadata: {name: platform}
        spec: {members: [alice@example.com], global_admin: true}
        ---
        apiVersion: danube.dev/v1
        kind: Team
        metadata: {name: web}
        spec: {members: [bob@example.com]}
    """,
    "users.yaml": f"""
        apiVersion: danube.dev/v1
        kind: User
        metadata: {{name: alice}}
        spec: {{email: alice@example.com, password_hash: "{HASH}"}}
        ---
        apiVersion: danube.dev/v1
        kind: User
        metadata: {{name: bob}}
        spec: {{email: bob@example.com, password_hash: "{HASH}"}}
    """,
    "pipelines/hello.yaml": """
        apiVersion: danube.dev/v1
        kind: Pipeline
        metadata:
          name: hello-world
          team: platform
        spec:
          repository: https://github.com/Codertocat/Hello-World.git
          branch_filter: ["main", "release/*"]
          triggers:
            - {on: push, branches: ["main", "release/*"]}
            - {on: tag, tags: ["v*", "simple-tag"]}
            - {on: pull_request, branches: ["master", "main"]}
          permissions:
            - {team: web, level: write}
          concurrency: 2
    """,
}


def files(overrides: dict[str, str] | None = None) -> dict[str, str]:
    merged = {**CONFIG, **(overrides or {})}
    return {name: textwrap.dedent(text).lstrip() for name, text in merged.items()}


@dataclass
class ConfigWorld:
    danube: Danube
    origin: Origin
    loop: ConfigSyncLoop

    def push(self, overrides: dict[str, str] | None = None, message: str = "config") -> str:
        commit = self.origin.commit(files(overrides), message)
        self.origin.push()
        return commit

    def settle(self) -> None:
        self.danube.wait_for_views(self.danube.store.log.position())


def make_world(store_config: StoreConfig, tmp_path: Path, **settings: Any) -> Iterator[ConfigWorld]:
    origin = Origin(tmp_path / "config-repo")
    danube = build(
        settings_for(
            store_config, tmp_path / "data", **{"config_repo_url": origin.file_url, **settings}
        )
    )
    supervisor = Supervisor()
    start_projectors(danube, supervisor)
    yield ConfigWorld(danube, origin, sync_loop(danube, danube.webhook_secrets.forget))
    supervisor.stop()
    danube.close()


@pytest.fixture
def world(store_config: StoreConfig, tmp_path: Path) -> Iterator[ConfigWorld]:
    yield from make_world(store_config, tmp_path)
