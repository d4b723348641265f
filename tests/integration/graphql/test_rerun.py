"""Rerunning a run through GraphQL: a new run that records the run it retries; with
onlyFailed, jobs that succeeded are reused and marked so."""

from __future__ import annotations

from uuid import UUID

from domain.ids import JobId
from tests.integration.execution.conftest import Embedded
from tests.integration.graphql.conftest import data

FAILING = """
from danube import pipeline, step

@pipeline(name="demo")
def build() -> None:
    step.run("exit 3")
"""
PASSING = (
    "from danube import pipeline, step\n@pipeline(name='demo')\ndef b() -> None: step.run('true')\n"
)
RERUN = """mutation R($id: ID!, $only: Boolean!) { rerun(runId: $id, onlyFailed: $only) {
  __typename
  ... on RerunStarted { run { id retryOf state jobs { id state reusedFrom } } }
  ... on Problem { code message } } }"""


def test_rerunning_a_failed_run_runs_it_again_and_records_what_it_retries(
    embedded: Embedded, url: str
) -> None:
    run_id, job_id = embedded.request(FAILING)
    assert embedded.finished(job_id).state == "failure"
    result = data(url, RERUN, id=run_id.hex, only=True)["rerun"]
    assert result["__typename"] == "RerunStarted"
    new = result["run"]
    assert new["retryOf"] == run_id.hex and new["id"] != run_id.hex
    [job] = new["jobs"]
    assert job["reusedFrom"] is None, "the failed job runs again"
    assert embedded.finished(JobId(UUID(job["id"]))).state == "failure"


def test_rerunning_only_failed_jobs_reuses_the_ones_that_succeeded(
    embedded: Embedded, url: str
) -> None:
    run_id, job_id = embedded.request(PASSING)
    assert embedded.finished(job_id).state == "success"
    new = data(url, RERUN, id=run_id.hex, only=True)["rerun"]["run"]
    assert new["state"] == "SUCCESS"
    assert new["jobs"] == [
        {"id": new["jobs"][0]["id"], "state": "SUCCESS", "reusedFrom": job_id.hex}
    ]
    again = data(url, RERUN, id=run_id.hex, only=False)["rerun"]["run"]
    assert again["jobs"][0]["reusedFrom"] is None
    assert embedded.finished(JobId(UUID(again["jobs"][0]["id"]))).state == "success"


def test_rerun_refusals_are_named(embedded: Embedded, url: str) -> None:
    missing = data(url, RERUN, id="0" * 32, only=False)["rerun"]
    assert (missing["__typename"], missing["code"]) == ("RunNotFound", "NOT_FOUND")
    bad = data(url, RERUN, id="nope", only=False)["rerun"]
    assert bad["__typename"] == "InvalidInput"
    run_id, _ = embedded.request(
        "from danube import pipeline, step\n@pipeline(name='demo')\ndef b() -> None: step.run('sleep 60')\n"
    )
    running = data(url, RERUN, id=run_id.hex, only=True)["rerun"]
    assert running["__typename"] == "RunNotFinished"
