"""The whole embedded system in-process: stores, projectors, dispatcher, reconciler,
local executor and the gRPC JobService on 127.0.0.1, against real git repositories."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.sql.store import StoreConfig
from api.bootstrap import Danube, build
from api.execution.embedded import Execution, start_execution
from api.processes import Supervisor
from api.settings import Settings
from domain.cause import Cause
from domain.ids import JobId, RunId, job_id_for, new_run_id
from domain.runs.application import RunRequest
from domain.runs.states import TERMINAL as TERMINAL_STATES
from projections.runs_view import JobView
from tests.support import wait_until

TERMINAL = {state.value for state in TERMINAL_STATES}  # the strings the views hold
USER = Cause(actor="user:test", trigger="manual")


def make_repo(path: Path, danubefile: str, files: dict[str, str] | None = None) -> tuple[Path, str]:
    """A git repository with ``danubefile.py``; returns it and its commit."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "danubefile.py").write_text(textwrap.dedent(danubefile))
    for name, content in (files or {}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(content)
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "pipeline"], check=True)
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    return path, commit


def settings_for(config: StoreConfig, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"data_dir": data_dir, "log_level": "warning"}
    if config.kind == "postgres":
        values |= {
            "event_store": "postgres",
            "database_url": SecretStr(config.database_url),
            "database_schema": config.schema,
        }
    return Settings(**(values | overrides))


@dataclass
class Embedded:
    danube: Danube
    execution: Execution
    supervisor: Supervisor
    tmp: Path

    def repo(
        self, danubefile: str, files: dict[str, str] | None = None, name: str = "repo"
    ) -> tuple[Path, str]:
        return make_repo(self.tmp / name, danubefile, files)

    def request(
        self,
        danubefile: str,
        *,
        pipeline: str = "demo",
        files: dict[str, str] | None = None,
        **spec: Any,
    ) -> tuple[RunId, JobId]:
        path, commit = self.repo(danubefile, files, name=f"repo-{new_run_id().hex[:6]}")
        run_id = new_run_id()
        self.danube.runs.request_run(
            RunRequest(
                run_id=run_id,
                pipeline=pipeline,
                repository=str(path),
                ref="refs/heads/main",
                commit_sha=commit,
                trigger={"type": "manual"},
                spec=spec,
            ),
            USER,
        )
        return run_id, job_id_for(run_id, "main")

    def finished(self, job_id: JobId, timeout: float = 60) -> JobView:
        def done() -> JobView | None:
            job = self.danube.views.job(job_id)
            return job if job is not None and job.state in TERMINAL else None

        return wait_until(done, timeout=timeout, what=f"job {job_id} to finish")

    def state(self, job_id: JobId) -> str:
        job = self.danube.views.job(job_id)
        return "" if job is None else job.state

    def log(self, job_id: JobId) -> bytes:
        return self.danube.logs.read_bytes(job_id.hex, 0, 64 * 1024 * 1024)


@pytest.fixture
def embedded(store_config: StoreConfig, tmp_path: Path) -> Iterator[Embedded]:
    danube = build(settings_for(store_config, tmp_path / "data"))
    supervisor = Supervisor()
    execution = start_execution(danube, supervisor, "127.0.0.1:0")
    yield Embedded(danube, execution, supervisor, tmp_path)
    supervisor.stop()
    execution.stop()
    danube.close()


@pytest.fixture
def cold(store_config: StoreConfig, tmp_path: Path) -> Iterator[Embedded]:
    """The embedded system with coordinators started cold, with the token in their
    environment from the start (a warm one is handed it later: it is never in its
    /proc/PID/environ), for tests whose job reads its own token from there."""
    danube = build(settings_for(store_config, tmp_path / "data", warm_coordinators=0))
    supervisor = Supervisor()
    execution = start_execution(danube, supervisor, "127.0.0.1:0")
    yield Embedded(danube, execution, supervisor, tmp_path)
    supervisor.stop()
    execution.stop()
    danube.close()
