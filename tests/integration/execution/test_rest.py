"""REST read surfaces for jobs, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from api.processes import HttpServer
from api.server import create_app
from tests.integration.execution.conftest import Embedded
from tests.support import free_port, http_get, sign_in, wait_until


@pytest.fixture
def base_url(embedded: Embedded) -> Iterator[str]:
    port = free_port()
    embedded.supervisor.add("http", HttpServer(create_app(embedded.danube), "127.0.0.1", port))
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_get(f"{url}/health")[0] == 200, what="the HTTP server")
    sign_in(url, embedded.danube)
    return url


def get_json(url: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    status, body = http_get(url)
    return status, json.loads(body)


def test_jobs_steps_artifacts_and_logs_over_rest(embedded: Embedded, base_url: str) -> None:
    _, job_id = embedded.request(
        """
        from danube import artifacts, pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("printf 'one\\\\ntwo\\\\n' > out.txt; cat out.txt", name="make")
            artifacts.upload("out.txt")
    """,
        pipeline="web",
    )
    _, failing = embedded.request(
        "from danube import pipeline, step\n@pipeline(name='demo')\ndef b() -> None: step.run('exit 1')\n",
        pipeline="api",
    )
    embedded.finished(job_id)
    embedded.finished(failing)

    status, body = get_json(f"{base_url}/api/v1/jobs?pipeline=web")
    assert status == 200
    assert [j["id"] for j in body["jobs"]] == [job_id.hex]
    assert body["jobs"][0]["state"] == "success"
    assert body["jobs"][0]["trigger"]["type"] == "manual"
    status, body = get_json(f"{base_url}/api/v1/jobs?state=failure")
    assert [j["id"] for j in body["jobs"]] == [failing.hex]

    status, job = get_json(f"{base_url}/api/v1/jobs/{job_id}")
    assert status == 200
    assert [(s["number"], s["name"], s["exit_code"]) for s in job["steps"]] == [(1, "make", 0)]
    assert job["artifacts"][0]["name"] == "out.txt"

    status, log = http_get(f"{base_url}/api/v1/jobs/{job_id}/logs")
    assert status == 200
    assert b"one\ntwo\n" in log
    offset = log.index(b"two")
    assert http_get(f"{base_url}/api/v1/jobs/{job_id}/logs?offset={offset}")[1].startswith(b"two\n")


def test_bad_requests_are_named(embedded: Embedded, base_url: str) -> None:
    # Declared in the OpenAPI document (an enum, a UUID pattern): refused as 422, by name.
    status, body = get_json(f"{base_url}/api/v1/jobs?state=exploded")
    assert status == 422
    assert body["detail"][0]["loc"] == ["query", "state"]
    assert "'pending'" in body["detail"][0]["msg"]
    status, body = get_json(f"{base_url}/api/v1/jobs/not-an-id")
    assert (status, body["detail"][0]["loc"]) == (422, ["path", "job_id"])
    status, _ = get_json(f"{base_url}/api/v1/jobs/{'0' * 32}")
    assert status == 404
    status, body = get_json(f"{base_url}/api/v1/jobs/{'0' * 32}/logs?offset=-1")
    assert status == 422


def test_the_queue_shows_waiting_jobs_in_order_with_their_reason(
    embedded: Embedded, base_url: str
) -> None:
    from domain.cause import Cause

    embedded.danube.system.start_draining(Cause(actor="user:ops"))
    program = "from danube import pipeline\n@pipeline(name='demo')\ndef b() -> None: pass\n"
    first = embedded.request(program)[1]
    second = embedded.request(program)[1]

    def queue() -> dict | None:  # type: ignore[type-arg]
        body = get_json(f"{base_url}/api/v1/queue")[1]
        reasons = [job["reason"] for job in body["queue"]]
        return body if len(reasons) == 2 and all("draining" in r for r in reasons) else None

    body = wait_until(queue, what="both runs to wait because of draining")
    assert body["draining"] is True
    assert [(j["id"], j["position"]) for j in body["queue"]] == [(first.hex, 1), (second.hex, 2)]
