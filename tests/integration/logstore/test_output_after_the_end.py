"""A job's output state ends with the job: its secrets and token are forgotten. Output
that arrives afterwards (a pipe drained late) must not be stored through a new masker
that no longer knows them; Danube's own lines still are."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.sql.store import StoreConfig
from api.bootstrap import Danube, build
from domain.execution.ports import Stream
from domain.ids import JobId, job_id_for, new_run_id
from tests.integration.execution.conftest import settings_for

TOKEN = "dnb-the-jobs-own-token-1234567890"


@pytest.fixture
def danube(store_config: StoreConfig, tmp_path: Path) -> Iterator[Danube]:
    built = build(settings_for(store_config, tmp_path / "data"))
    yield built
    built.close()


def test_output_after_the_jobs_end_is_dropped_not_stored_unmasked(danube: Danube) -> None:
    logs = danube.logs
    job = job_id_for(new_run_id(), "main")
    logs.mask_token(job, TOKEN)
    step = logs.for_step(job, 1)
    step.write(Stream.STDOUT, f"before the end {TOKEN}\n".encode())
    logs.close(job)  # the job ended: its masks are gone

    step.write(Stream.STDOUT, f"late {TOKEN}\n".encode())  # a pipe drained late
    logs.mask_secrets(job, "demo", [])  # e.g. a step announced meanwhile: no masks again
    step.write(Stream.STDERR, f"later {TOKEN}\n".encode())
    logs.system_line(job, "── step 1 cancelled: the job ended")

    stored = logs.read_bytes(job.hex, 0, 1 << 20)
    assert TOKEN.encode() not in stored
    assert b"before the end ***\n" in stored
    assert b"late" not in stored
    assert stored.endswith("── step 1 cancelled: the job ended\n".encode())
    assert job.hex not in logs.held()


def test_a_job_never_closed_keeps_its_output(danube: Danube) -> None:
    logs = danube.logs
    job: JobId = job_id_for(new_run_id(), "main")
    other = job_id_for(new_run_id(), "main")
    logs.close(other)
    logs.for_job(job).write(Stream.STDOUT, b"still running\n")
    logs.flush(job)
    assert logs.read_bytes(job.hex, 0, 1 << 20) == b"still running\n"
