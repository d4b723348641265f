"""REST surfaces on the application layer: SSE log stream with resume, artifact
download with Range and checksum, cancelling a job, a pipeline, JSON errors with codes."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from typing import Any

from tests.integration.execution.conftest import Embedded
from tests.support import auth_headers, wait_until

PIPELINE = """
from danube import artifacts, pipeline, step

@pipeline(name="demo")
def build() -> None:
    step.run("for i in $(seq 1 30); do echo line $i; sleep 0.02; done; seq 1 5000 > big.txt")
    artifacts.upload("big.txt")
"""
LONG = """
from danube import pipeline, step

@pipeline(name="demo")
def build() -> None:
    step.run("sleep 300")
"""


def fetch(url: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers={**auth_headers(url), **headers})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def sse(body: bytes) -> list[dict[str, Any]]:
    events = []
    for block in body.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if fields:
            events.append({**fields, "data": json.loads(fields["data"])})
    return events


def test_the_sse_log_stream_resumes_after_last_event_id_and_ends(
    embedded: Embedded, url: str
) -> None:
    _, job_id = embedded.request(PIPELINE)
    wait_until(lambda: embedded.danube.views.job(job_id), what="the job")
    status, headers, body = fetch(f"{url}/api/v1/jobs/{job_id.hex}/logs/stream")
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    events = sse(body)
    assert events[-1]["event"] == "end"
    logs = [e for e in events if e["event"] == "log"]
    text = "".join(e["data"]["text"] for e in logs)
    assert text.encode() == embedded.log(job_id)
    middle = logs[len(logs) // 2]
    _, _, rest = fetch(
        f"{url}/api/v1/jobs/{job_id.hex}/logs/stream", **{"Last-Event-ID": middle["id"]}
    )
    resumed = "".join(e["data"]["text"] for e in sse(rest) if e["event"] == "log")
    before = "".join(e["data"]["text"] for e in logs[: logs.index(middle) + 1])
    assert before + resumed == text, "no gap, no duplicate"


def test_an_artifact_downloads_whole_or_by_range_with_its_checksum(
    embedded: Embedded, url: str
) -> None:
    _, job_id = embedded.request(PIPELINE)
    assert embedded.finished(job_id).state == "success"
    status, headers, body = fetch(f"{url}/api/v1/artifacts/{job_id.hex}/big.txt")
    assert status == 200
    assert headers["x-checksum-sha256"] == hashlib.sha256(body).hexdigest()
    assert int(headers["content-length"]) == len(body)
    status, headers, part = fetch(
        f"{url}/api/v1/artifacts/{job_id.hex}/big.txt", Range="bytes=10-19"
    )
    assert (status, part) == (206, body[10:20])
    status, _, missing = fetch(f"{url}/api/v1/artifacts/{job_id.hex}/nope.txt")
    assert status == 404 and json.loads(missing)["code"] == "NOT_FOUND"


def test_cancelling_a_job_over_rest(embedded: Embedded, url: str) -> None:
    _, job_id = embedded.request(LONG)
    wait_until(lambda: embedded.state(job_id) == "running", timeout=60, what="the job to run")
    status, _, body = fetch(f"{url}/api/v1/jobs/{job_id.hex}/cancel", method="POST")
    assert status == 202, body
    assert embedded.finished(job_id).state == "cancelled"
    status, _, body = fetch(f"{url}/api/v1/jobs/{job_id.hex}/cancel", method="POST")
    assert status == 409 and json.loads(body)["code"] == "CONFLICT"
    status, _, body = fetch(f"{url}/api/v1/jobs/not-a-uuid/cancel", method="POST")
    assert status == 422 and "job_id" in body.decode(), "as every route declaring a UUID"


def test_a_pipeline_and_its_last_run(embedded: Embedded, url: str) -> None:
    _, job_id = embedded.request(PIPELINE, pipeline="shown")
    embedded.finished(job_id)
    status, _, body = fetch(f"{url}/api/v1/pipelines/shown")
    assert status == 200
    pipeline = json.loads(body)
    assert (pipeline["name"], pipeline["run_count"]) == ("shown", 1)
    assert pipeline["last_run"]["state"] == "success"
    status, _, body = fetch(f"{url}/api/v1/pipelines/nope")
    assert status == 404 and json.loads(body) == {
        "detail": "no pipeline 'nope'",
        "code": "NOT_FOUND",
    }
