"""The dispatcher looks at the queue again when a run row changed or draining did, not
on every move of the read models (steps, reports and logs move them far more often)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.sql.store import StoreConfig
from api.bootstrap import Danube, build
from api.execution.loops import WhenQueueMoved
from domain.cause import Cause
from domain.ids import job_id_for, new_run_id
from domain.runs.application import RunRequest
from tests.integration.execution.conftest import settings_for

USER = Cause(actor="user:test")


@pytest.fixture
def danube(store_config: StoreConfig, tmp_path: Path) -> Iterator[Danube]:
    built = build(settings_for(store_config, tmp_path / "data"))
    yield built
    built.close()


def catch_up(danube: Danube) -> None:
    danube.store.projector_group(danube.projections).catch_up()


def test_the_dispatcher_looks_again_when_a_run_or_draining_changed_not_on_steps(
    danube: Danube,
) -> None:
    ticks: list[int] = []
    gate = WhenQueueMoved(lambda: ticks.append(1), danube)
    gate()
    assert len(ticks) == 1  # the first look
    run_id = new_run_id()
    job_id = job_id_for(run_id, "main")
    request = RunRequest(run_id, "p", "r", "refs/heads/main", "c" * 40, {"type": "manual"}, {})
    danube.runs.request_run(request, USER)
    catch_up(danube)
    gate()
    assert len(ticks) == 2  # a run was requested
    danube.runs.schedule_job(run_id, job_id, USER)
    danube.runs.start_job(run_id, job_id, USER)
    catch_up(danube)
    gate()
    assert len(ticks) == 3  # its job started
    danube.runs.start_step(run_id, job_id, 1, name="build", command="make")
    catch_up(danube)
    gate()
    assert len(ticks) == 3  # a step changes nothing the dispatcher decides on
    danube.system.start_draining(USER)
    gate()
    assert len(ticks) == 4  # draining started
