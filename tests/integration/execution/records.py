"""Everything Danube recorded or shows about jobs, for tests that look for a value in it:
every stored event, every read-model row, the REST answers, and the sealed step material
events keep."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI

from api.bootstrap import Danube
from api.http.app import create_app
from api.processes import HttpServer
from domain.ids import JobId
from domain.runs.aggregates import Run
from projections.runs import RunsProjection
from tests.support import free_port, http_get, sign_in, wait_until


def stored_events(danube: Danube) -> Iterator[tuple[str, bytes]]:
    """(topic, stored state) of every event in the log."""
    for notification in danube.store.log.recorder.select_notifications(1, 1_000_000):
        yield notification.topic, notification.state


def view_rows(danube: Danube) -> Iterator[tuple[str, str]]:
    """(table, row as JSON) of every row of the runs read models."""
    projection = RunsProjection()
    reader = danube.store.views.reader(projection)
    for table in projection.tables:
        for row in reader.find(table.name, {}):
            yield table.name, json.dumps(row, sort_keys=True)


def step_events(danube: Danube, job_id: JobId) -> list[Run.StepStarted]:
    mapper = danube.store.log.mapper
    found = []
    for notification in danube.store.log.recorder.select_notifications(1, 1_000_000):
        if notification.topic == Run.StepStarted.TOPIC:
            event = mapper.to_domain_event(notification)
            if isinstance(event, Run.StepStarted) and event.job_id == job_id:
                found.append(event)
    return found


class Rest:
    """The HTTP API of a ``Danube``, served on a free port until ``stop``."""

    def __init__(self, danube: Danube) -> None:
        app: FastAPI = create_app(danube)
        self._danube = danube
        port = free_port()
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=HttpServer(app, "127.0.0.1", port), args=(self._stopping,), daemon=True
        )
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> Rest:
        self._thread.start()
        wait_until(lambda: http_get(f"{self.url}/health")[0] == 200, what="the HTTP server")
        sign_in(self.url, self._danube)
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping.set()
        self._thread.join(10)

    def text(self, path: str) -> str:
        status, body = http_get(f"{self.url}{path}")
        assert status == 200, (path, status, body)
        return body.decode()

    def json(self, path: str) -> Any:
        return json.loads(self.text(path))


def places_holding(danube: Danube, needle: str, job_id: JobId) -> list[str]:
    """Where ``needle`` appears: events (by topic), view rows (by table), REST answers."""
    data = needle.encode()
    found = [f"event {topic}" for topic, state in stored_events(danube) if data in state]
    found += [f"view {table}" for table, row in view_rows(danube) if needle in row]
    with Rest(danube) as rest:
        for path in (f"/api/v1/jobs/{job_id}", "/api/v1/jobs", "/api/v1/queue"):
            if needle in rest.text(path):
                found.append(f"GET {path}")
    return found
