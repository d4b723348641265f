"""A built Danube with its real HTTP server on a free port, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from adapters.sql.store import StoreConfig
from api.bootstrap import Danube, build
from api.processes import HttpServer, Supervisor
from api.server import create_app
from api.settings import Settings
from domain.cause import Cause
from domain.config.model import Config, Observability
from domain.config.model import Settings as ConfigSettings
from domain.ids import JobId, RunId, job_id_for, new_run_id
from domain.runs.application import RunRequest
from domain.runs.states import JobState, StepState
from tests.k8s_double.fixtures import k8s_double, k8s_kubeconfig  # noqa: F401
from tests.support import free_port, http_get, sign_in, wait_until

ADMIN = Cause(actor="user:test")


def settings_for(store_config: StoreConfig, tmp_path: Path, **values: Any) -> Settings:
    values = {"data_dir": tmp_path, "log_level": "warning", **values}
    if store_config.kind == "postgres":
        values |= {
            "event_store": "postgres",
            "database_url": SecretStr(store_config.database_url),
            "database_schema": store_config.schema,
            "database_pool_size": 2,
        }
    return Settings(**values)


@pytest.fixture
def danube(store_config: StoreConfig, tmp_path: Path) -> Iterator[Danube]:
    built = build(settings_for(store_config, tmp_path))
    yield built
    built.close()


def serve(danube: Danube) -> tuple[str, Supervisor]:
    port, supervisor = free_port(), Supervisor()
    supervisor.add("http", HttpServer(create_app(danube), "127.0.0.1", port))
    wait_until(lambda: http_get(f"http://127.0.0.1:{port}/health")[0] == 200, what="the API")
    sign_in(f"http://127.0.0.1:{port}", danube)
    return f"http://127.0.0.1:{port}", supervisor


@pytest.fixture
def url(danube: Danube) -> Iterator[str]:
    address, supervisor = serve(danube)
    yield address
    supervisor.stop()


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``url``/metrics by (name, sorted labels), parsed by
    prometheus-client's own parser."""
    status, body = http_get(f"{url}/metrics", timeout=10)
    assert status == 200, body
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def accept_observability(danube: Danube, **options: str) -> None:
    """Accept a config whose config.yaml says these observability keys."""
    flags = {key: value == "true" for key, value in options.items() if key.endswith("_enabled")}
    endpoint = options.get("otel_endpoint", "")
    config = Config(
        commit=new_run_id().hex + "a" * 8,
        settings=ConfigSettings(observability=Observability(otel_endpoint=endpoint, **flags)),
    )
    danube.config.accept(config)


def request(danube: Danube, pipeline: str = "web", **trigger: str) -> tuple[RunId, JobId]:
    run_id = new_run_id()
    danube.runs.request_run(
        RunRequest(
            run_id=run_id,
            pipeline=pipeline,
            repository="https://example.com/r.git",
            ref="refs/heads/main",
            commit_sha="c" * 40,
            trigger={"type": "manual", **trigger},
        ),
        ADMIN,
    )
    return run_id, job_id_for(run_id, "main")


def run_a_job(danube: Danube, state: JobState = JobState.SUCCESS, **trigger: str) -> JobId:
    """The commands the dispatcher and an executor give, in order, for one job of one step."""
    run_id, job_id = request(danube, **trigger)
    danube.runs.schedule_job(run_id, job_id, Cause(actor="system:dispatcher"))
    danube.runs.start_job(run_id, job_id, Cause(actor="executor:local"))
    danube.runs.start_step(run_id, job_id, 1, name="build", command="make")
    exit_code = 0 if state is JobState.SUCCESS else 2
    danube.runs.finish_step(
        run_id, job_id, 1, state=StepState.SUCCESS if exit_code == 0 else StepState.FAILURE,
        exit_code=exit_code, log_offset=0,
    )  # fmt: skip
    danube.runs.finish_job(run_id, job_id, state, "", Cause(actor="executor:local"))
    return job_id


def catch_up(danube: Danube) -> None:
    for projection in danube.projections:
        danube.store.projector(projection).catch_up()
