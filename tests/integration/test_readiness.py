"""/health/ready judges read-model lag in time, not in notification ids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.sql.store import StoreConfig
from api.bootstrap import Danube, build
from api.processes import HttpServer, Supervisor
from api.server import create_app
from api.settings import Settings
from domain.cause import Cause
from domain.ids import new_run_id
from domain.runs.application import RunRequest
from tests.support import free_port, http_get, wait_until


@pytest.fixture
def danube(store_config: StoreConfig, tmp_path: Path) -> Iterator[Danube]:
    values: dict[str, Any] = {"data_dir": tmp_path, "log_level": "warning"}
    if store_config.kind == "postgres":
        values |= {
            "event_store": "postgres",
            "database_url": SecretStr(store_config.database_url),
            "database_schema": store_config.schema,
        }
    built = build(Settings(**values, readiness_max_lag=1))
    yield built
    built.close()


@pytest.fixture
def url(danube: Danube) -> Iterator[str]:
    """The real HTTP server of the app, on a free port."""
    port, supervisor = free_port(), Supervisor()
    supervisor.add("http", HttpServer(create_app(danube), "127.0.0.1", port))
    wait_until(lambda: http_get(f"http://127.0.0.1:{port}/health")[0] == 200, what="the API")
    yield f"http://127.0.0.1:{port}"
    supervisor.stop()


def readiness(url: str) -> tuple[int, dict[str, Any]]:
    status, body = http_get(f"{url}/health/ready")
    return status, json.loads(body)["checks"]


def request_a_run(danube: Danube) -> int:
    return danube.runs.request_run(
        RunRequest(
            run_id=new_run_id(),
            pipeline="web",
            repository="r",
            ref="refs/heads/main",
            commit_sha="a" * 40,
            trigger={"type": "manual"},
        ),
        Cause(actor="user:test"),
    )


def test_a_read_model_one_event_behind_for_longer_than_the_limit_is_not_ready(
    danube: Danube, url: str
) -> None:
    """No follower runs: the runs read model stays one event behind. Counted in ids that
    is nothing; in time it is soon more than the limit (1 s here)."""
    status, checks = readiness(url)
    assert status == 200 and checks["projection:runs"]["lag_seconds"] == 0
    position = request_a_run(danube)
    # Every read model lags behind the same event; each is judged a moment apart, so the
    # reply that first says 503 may be for another one: wait for the runs read model's.
    status, checks = wait_until(
        lambda: (found := readiness(url))[1]["projection:runs"]["ok"] is False and found,
        timeout=15,
        what="the lagging read model to make the process not ready",
    )
    assert status == 503
    runs = checks["projection:runs"]
    assert runs["ok"] is False and runs["lag_seconds"] > 1 and runs["position"] < position
    assert checks["event_store"] == {"ok": True, "position": position}
    for projection in danube.projections:
        danube.store.projector(projection).catch_up()
    status, checks = readiness(url)
    assert status == 200, checks
    assert checks["projection:runs"] == {"ok": True, "position": position, "lag_seconds": 0.0}
