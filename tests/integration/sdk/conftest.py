"""Fixtures: a fake master on a real gRPC server, the SDK pointed at it (in this process)
and the coordinator as a real subprocess."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

SDK_DIR = Path(__file__).resolve().parents[3] / "sdk"
if importlib.util.find_spec("danube") is None:  # not installed with `pip install -e sdk`
    sys.path.insert(0, str(SDK_DIR))

from danube import _runtime  # noqa: E402

from .fake_master import FakeMaster, serving  # noqa: E402

T = TypeVar("T")
RETRY_BUDGET = "1.0"  # seconds; the production default is 30


@dataclass
class Master:
    fake: FakeMaster
    address: str


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


@pytest.fixture
def master(workspace: Path) -> Iterator[Master]:
    fake = FakeMaster(workspace=workspace)
    with serving(fake) as address:
        yield Master(fake, address)


def job_env(master: Master, workspace: Path) -> dict[str, str]:
    """The coordinator's environment as an executor would set it (token in env)."""
    return {
        "DANUBE_MASTER_ADDRESS": master.address,
        "DANUBE_JOB_ID": master.fake.job_id,
        "DANUBE_JOB_TOKEN": master.fake.token,
        "DANUBE_WORKSPACE": str(workspace),
        "DANUBE_PIPELINE": "web",
        "DANUBE_REPO": "https://git.example.com/team/web.git",
        "DANUBE_BRANCH": "main",
        "DANUBE_COMMIT_SHA": "0123456789abcdef0123456789abcdef01234567",
        "DANUBE_TRIGGER_TYPE": "webhook",
        "DANUBE_TRIGGER_EVENT": "push",
        "DANUBE_TRIGGER_REF": "refs/heads/main",
        "DANUBE_RETRY_BUDGET_SECONDS": RETRY_BUDGET,
    }


@pytest.fixture
def sdk(master: Master, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Master]:
    """The SDK in this process, configured like a coordinator against `master`."""
    for key in [k for k in os.environ if k.startswith("DANUBE_")]:
        monkeypatch.delenv(key)
    for key, value in job_env(master, workspace).items():
        monkeypatch.setenv(key, value)
    _runtime.reset()
    yield master
    _runtime.reset()


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str
    seconds: float


def run_coordinator(
    workspace: Path, env: dict[str, str], secret: str, timeout: float = 30.0
) -> Finished:
    """Run `python -m danube.coordinator` in `workspace`; `secret` must never be printed."""
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(SDK_DIR),
        "PYTHONDONTWRITEBYTECODE": "1",
        **env,
    }
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "danube.coordinator"],
        cwd=workspace,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    finished = Finished(
        completed.returncode, completed.stdout, completed.stderr, time.monotonic() - started
    )
    assert secret not in finished.stdout + finished.stderr, "the job token was printed"
    return finished


@pytest.fixture
def coordinator(master: Master, workspace: Path) -> Callable[..., Finished]:
    """Write a danubefile and run the coordinator against `master`:
    `coordinator(script_text, **env_overrides)` (an override of None removes the variable)."""

    def run(script: str | None, **overrides: str | None) -> Finished:
        if script is not None:
            (workspace / "danubefile.py").write_text(script)
        env = job_env(master, workspace)
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return run_coordinator(workspace, env, master.fake.token)

    return run
