from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.local import LocalExecutor
from domain.execution.ports import JobLaunch, JobStatus, Phase
from domain.ids import JobId, RunId
from tests.integration.git.origin import Origin
from tests.integration.local_executor.recorder import RecordingSink
from tests.support import wait_for

TOKEN = "job-token-" + uuid.uuid4().hex
GRACE = 0.3
SLEEPING_COORDINATOR = "import time\nprint('coordinator up', flush=True)\ntime.sleep(300)\n"


def python(script: str) -> list[str]:
    return [sys.executable, "-c", script]


def launch_of(
    repository: str, commit: str, ref: str = "main", env: Mapping[str, str] | None = None
) -> JobLaunch:
    return JobLaunch(
        job_id=JobId(uuid.uuid4()),
        run_id=RunId(uuid.uuid4()),
        pipeline="build",
        repository=repository,
        commit_sha=commit,
        ref=ref,
        token=TOKEN,
        env=dict(env or {}),
    )


def wait_until_prepared(executor: LocalExecutor, job_id: JobId) -> JobStatus:
    return wait_for(lambda: executor.status(job_id), lambda s: s.phase is not Phase.PREPARING)


def wait_until_ended(executor: LocalExecutor, job_id: JobId) -> JobStatus:
    ended = {Phase.EXITED, Phase.FAILED}
    return wait_for(lambda: executor.status(job_id), lambda s: s.phase in ended)


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    repo = Origin(tmp_path / "origin")
    repo.commit({"README.md": "first\n"}, "first")
    repo.push()
    return repo


@pytest.fixture
def sinks() -> Iterator[Callable[[], RecordingSink]]:
    """New recording sinks; none of them may ever have seen the job token."""
    made: list[RecordingSink] = []

    def make() -> RecordingSink:
        made.append(RecordingSink())
        return made[-1]

    yield make
    for sink in made:
        assert TOKEN.encode() not in sink.everything()


@pytest.fixture
def executors(tmp_path: Path) -> Iterator[Callable[..., LocalExecutor]]:
    """Executors on one workspace root; every job they know is released afterwards."""
    made: list[LocalExecutor] = []

    def make(coordinator: str = SLEEPING_COORDINATOR, **options: float) -> LocalExecutor:
        options.setdefault("kill_grace_seconds", GRACE)
        root = tmp_path / "workspaces"
        made.append(LocalExecutor(root, coordinator_command=python(coordinator), **options))
        return made[-1]

    yield make
    for executor in made:
        executor.close()


@dataclass
class RunningJob:
    executor: LocalExecutor
    job: JobLaunch
    output: RecordingSink

    @property
    def job_id(self) -> JobId:
        return self.job.job_id

    @property
    def workspace(self) -> Path:
        return self.executor.workspace(self.job_id)


@pytest.fixture
def running_job(
    origin: Origin,
    executors: Callable[..., LocalExecutor],
    sinks: Callable[[], RecordingSink],
) -> RunningJob:
    """A running job whose coordinator sleeps, on a fresh commit of ``origin``."""
    executor = executors()
    job = launch_of(origin.file_url, origin.commit({"tool.sh": "echo tool\n"}, "tool"))
    origin.push()
    running = RunningJob(executor, job, sinks())
    executor.start(job, running.output)
    assert wait_until_prepared(executor, job.job_id).phase is Phase.RUNNING
    return running
