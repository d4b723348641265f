"""Everything Danube recorded or shows about jobs, for tests that look for a value in it:
every stored event, every read-model row, the REST answers, and the sealed step material
events keep."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import websockets
from fastapi import FastAPI

from api.bootstrap import Danube
from api.processes import HttpServer
from api.server import create_app
from domain.ids import JobId
from domain.runs.aggregates import Run
from projections.runs import RunsProjection
from tests.support import auth_headers, free_port, http_get, sign_in, wait_until


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
        return body.decode(errors="replace")  # a log holds what the job wrote: any bytes

    def json(self, path: str) -> Any:
        return json.loads(self.text(path))

    def graphql(self, query: str, **variables: Any) -> str:
        """The whole answer, as text."""
        body = json.dumps({"query": query, "variables": variables}).encode()
        headers = {"Content-Type": "application/json", **auth_headers(self.url)}
        request = urllib.request.Request(f"{self.url}/graphql", body, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
        assert '"errors"' not in text, text
        return text

    def subscription(self, query: str, **variables: Any) -> str:
        """Every message of a subscription that completes (on an ended job), as text."""

        async def messages() -> str:
            ws_url = self.url.replace("http://", "ws://") + "/graphql"
            async with websockets.connect(
                ws_url,
                subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                additional_headers=auth_headers(self.url),
            ) as socket:
                await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
                await socket.recv()
                payload = {"query": query, "variables": variables}
                await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
                received = []
                while True:
                    message = await asyncio.wait_for(socket.recv(), 60)
                    received.append(str(message))
                    if json.loads(message)["type"] in {"complete", "error"}:
                        return "\n".join(received)

        return asyncio.run(messages())


# Every GraphQL query a reader of the job's pipeline can ask about it, every field.
READER_QUERIES = {
    "job": """query Q($job: ID!) { job(id: $job) { id runId name pipeline state reason
        requestedAt startedAt finishedAt stepCount secretsRead reusedFrom
        steps { number name command image state exitCode reason logStart logEnd }
        artifacts { name kind size sha256 downloadUrl } } }""",
    "run": """query Q($run: ID!) { run(id: $run) { id pipeline repository ref branch commitSha
        triggerType triggerRef deliveryId actor state waitingReason version
        jobs { id name reason steps { name command reason } } } }""",
    "run as of 1": "query Q($run: ID!) { run(id: $run, asOfVersion: 1) { id actor ref } }",
    "runs": """{ runs(first: 100) { edges { node { id pipeline ref actor waitingReason
        jobs { reason steps { name command reason } } } } } }""",
    "log": "query Q($job: ID!) { log(jobId: $job) { text } }",
    "events": "query Q($run: ID!) { events(runId: $run) { type data } }",
    "auditTrail": """{ auditTrail(first: 100) { edges { node { action actor pipeline
        reason detail } } } }""",
    "secretReads": "{ secretReads { key scope pipeline } }",
    "pipelines": "{ pipelines { name repository lastState } }",
    "queue": "{ queue { reason job { reason } } }",
    "status": "{ status { configCommit } }",
}
READER_SUBSCRIPTIONS = {
    "jobUpdated": "subscription S($job: ID!) { jobUpdated(jobId: $job) { reason steps { name command reason } } }",
    "logAppended": "subscription S($job: ID!) { logAppended(jobId: $job) { text } }",
}  # fmt: skip


def places_holding(danube: Danube, needle: str, job_id: JobId) -> list[str]:
    """Where ``needle`` appears: events (by topic), view rows (by table), and every API
    answer a reader of the job's pipeline can receive about it: REST (the log and its
    SSE stream included), every GraphQL query, and the subscriptions' messages."""
    data = needle.encode()
    found = [f"event {topic}" for topic, state in stored_events(danube) if data in state]
    found += [f"view {table}" for table, row in view_rows(danube) if needle in row]
    job = danube.views.job(job_id)
    assert job is not None, f"no job {job_id}"
    ids = {"job": job_id.hex, "run": job.run_id}
    with Rest(danube) as rest:
        for path in (
            f"/api/v1/jobs/{job_id.hex}",
            "/api/v1/jobs",
            "/api/v1/queue",
            f"/api/v1/jobs/{job_id.hex}/logs",
            f"/api/v1/jobs/{job_id.hex}/logs/stream",
            "/api/v1/pipelines",
            f"/api/v1/pipelines/{job.pipeline}",
        ):
            if needle in (text := rest.text(path)):
                found.append(f"GET {path}: {_around(text, needle)}")
        for name, query in READER_QUERIES.items():
            text = rest.graphql(query, **{k: v for k, v in ids.items() if f"${k}" in query})
            if needle in text:
                found.append(f"query {name}: {_around(text, needle)}")
        for name, query in READER_SUBSCRIPTIONS.items():
            if needle in (text := rest.subscription(query, job=job_id.hex)):
                found.append(f"subscription {name}: {_around(text, needle)}")
    return found


def _around(text: str, needle: str) -> str:
    """Where ``needle`` is in ``text``: what is around it, to tell how it got there."""
    at = text.index(needle)
    return repr(text[max(0, at - 300) : at + len(needle) + 100])
