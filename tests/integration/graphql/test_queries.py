"""The read side through GraphQL: runs, jobs, steps, artifacts, logs, time travel,
events and status, over real HTTP against real runs."""

from __future__ import annotations

import urllib.request

import pytest

from domain.cause import Cause
from tests.integration.execution.conftest import Embedded
from tests.integration.graphql.conftest import data, gql
from tests.support import wait_until

PIPELINE = """
from danube import artifacts, pipeline, step

@pipeline(name="demo")
def build() -> None:
    step.run("printf 'héllo\\\\n'; echo to-err >&2", name="greet")
    step.run("echo done > out.txt", name="write")
    artifacts.upload("out.txt")
"""

JOB = """
query Job($id: ID!) {
  job(id: $id) {
    id name state status { label terminal } stepCount
    steps { number name state exitCode status { terminal } }
    artifacts { name size sha256 downloadUrl }
  }
}
"""


def test_a_finished_run_with_its_jobs_steps_artifacts_and_log(embedded: Embedded, url: str) -> None:
    run_id, job_id = embedded.request(PIPELINE, pipeline="web")
    embedded.finished(job_id)

    job = data(url, JOB, id=job_id.hex)["job"]
    assert (job["state"], job["status"]) == ("SUCCESS", {"label": "Succeeded", "terminal": True})
    assert [(s["number"], s["name"], s["exitCode"]) for s in job["steps"]] == [
        (1, "greet", 0),
        (2, "write", 0),
    ]
    names = [a["name"] for a in job["artifacts"]]
    assert names[0] == "out.txt" and set(names) <= {"out.txt", "provenance.json"}  # signed later
    assert job["artifacts"][0]["downloadUrl"] == f"/api/v1/artifacts/{job_id.hex}/out.txt"

    run = data(url, "query R($id: ID!) { run(id: $id) { id pipeline state jobs { id name } } }",
               id=str(run_id))["run"]  # fmt: skip
    assert (run["pipeline"], run["state"], run["jobs"]) == (
        "web",
        "SUCCESS",
        [{"id": job_id.hex, "name": "main"}],
    )

    log = data(url, "query L($id: ID!) { log(jobId: $id) { offset text nextOffset complete } }",
               id=job_id.hex)["log"]  # fmt: skip
    assert "héllo\n" in log["text"] and "to-err" in log["text"]
    assert log["complete"] is True and log["nextOffset"] == len(log["text"].encode())


def test_a_log_read_in_small_pieces_never_splits_a_character(embedded: Embedded, url: str) -> None:
    _, job_id = embedded.request(PIPELINE, pipeline="web")
    embedded.finished(job_id)
    query = "query L($id: ID!, $o: Int!) { log(jobId: $id, fromOffset: $o, limit: 3) { text nextOffset complete } }"
    text, offset = "", 0
    while True:
        chunk = data(url, query, id=job_id.hex, o=offset)["log"]
        text += chunk["text"]
        offset = chunk["nextOffset"]
        if chunk["complete"]:
            break
    assert "héllo\n" in text and "\ufffd" not in text


def test_runs_page_newest_first_with_cursors_that_hold_while_runs_arrive(
    embedded: Embedded, url: str
) -> None:
    embedded.danube.system.start_draining(Cause(actor="user:test"))  # runs stay queued
    ids = [embedded.request("# nothing\n", pipeline="paged")[0].hex for _ in range(5)]
    query = """query P($after: String) {
      runs(filter: {pipeline: "paged"}, first: 2, after: $after) {
        edges { cursor node { id } } pageInfo { endCursor hasNextPage } } }"""
    everything = '{ runs(filter: {pipeline: "paged"}, first: 100) { edges { node { id } } } }'
    wait_until(lambda: len(data(url, everything)["runs"]["edges"]) == 5, what="the runs")
    first = data(url, query)["runs"]
    assert [e["node"]["id"] for e in first["edges"]] == ids[::-1][:2]
    embedded.request("# nothing\n", pipeline="paged")  # a newer run arrives meanwhile
    second = data(url, query, after=first["pageInfo"]["endCursor"])["runs"]
    assert [e["node"]["id"] for e in second["edges"]] == ids[::-1][2:4]
    third = data(url, query, after=second["pageInfo"]["endCursor"])["runs"]
    assert [e["node"]["id"] for e in third["edges"]] == ids[:1]
    assert third["pageInfo"]["hasNextPage"] is False
    wait_until(lambda: len(data(url, everything)["runs"]["edges"]) == 6, what="the new run")
    by_state = data(
        url,
        '{ runs(filter: {state: PENDING, pipeline: "paged"}, first: 100) { edges { node { id } } } }',
    )
    assert len(by_state["runs"]["edges"]) == 6


def test_time_travel_shows_the_run_as_it_was_after_each_of_its_events(
    embedded: Embedded, url: str
) -> None:
    run_id, job_id = embedded.request(PIPELINE, pipeline="web")
    embedded.finished(job_id)
    events = data(url, "query E($id: ID!) { events(runId: $id) { version type data } }",
                  id=str(run_id))["events"]  # fmt: skip
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "Run.Requested"
    assert all("env_sealed" not in e["data"] and "command_sealed" not in e["data"] for e in events)
    query = """query T($id: ID!, $v: Int!) { run(id: $id, asOfVersion: $v) {
      state version jobs { state steps { number state } } } }"""
    states = []
    for event in events:
        run = data(url, query, id=str(run_id), v=event["version"])["run"]
        assert run["version"] == event["version"]
        states.append((run["state"], [s["number"] for s in run["jobs"][0]["steps"]]))
    assert states[0] == ("PENDING", [])
    assert ("RUNNING", [1]) in states
    assert states[-1] == ("SUCCESS", [1, 2])
    step_started = next(e["version"] for e in events if e["type"] == "Run.StepStarted")
    at_step = data(url, query, id=str(run_id), v=step_started)["run"]
    assert at_step["jobs"][0]["steps"] == [{"number": 1, "state": "RUNNING"}]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ('{ job(id: "not-a-uuid") { id } }', "BAD_USER_INPUT"),
        ('{ job(id: "00000000000000000000000000000000") { id } }', "NOT_FOUND"),
        ("{ runs(first: 1000) { edges { cursor } } }", "BAD_USER_INPUT"),
        ('{ runs(after: "garbage") { edges { cursor } } }', "BAD_USER_INPUT"),
        ('{ run(id: "00000000000000000000000000000000", asOfVersion: 1) { id } }', "NOT_FOUND"),
    ],
)
def test_bad_queries_are_refused_with_a_code(url: str, query: str, code: str) -> None:
    reply = gql(url, query)
    [error] = reply["errors"]
    assert error["extensions"]["code"] == code, reply


def test_query_limits_refuse_deep_aliased_or_huge_queries(url: str) -> None:
    deep = "{ runs { edges { node { jobs { steps { job { x } } } } } } }"
    nested = (
        "{ a: status { draining } "
        + " ".join(f"a{i}: status {{ draining }}" for i in range(20))
        + " }"
    )
    huge = "{ " + " ".join("status { draining }" for _ in range(800)) + " }"
    for _ in range(2):  # asked again: a remembered document is refused as the first time
        for query in (nested, huge):
            reply = gql(url, query)
            assert reply.get("errors"), query[:40]
        assert gql(url, deep).get("errors")


def test_status_and_queue(embedded: Embedded, url: str) -> None:
    embedded.danube.system.start_draining(Cause(actor="user:test"))
    _, job_id = embedded.request("# nothing\n", pipeline="queued")
    status = data(url, "{ status { draining configCommit projectionLag { projection seconds } } }")[
        "status"
    ]
    assert status["draining"] is True
    assert {lag["projection"] for lag in status["projectionLag"]} >= {"runs"}
    queue = wait_until(lambda: data(url, "{ queue { position reason job { id } } }")["queue"])
    assert [(q["position"], q["job"]["id"]) for q in queue] == [(1, job_id.hex)]


def test_graphiql_is_served_only_when_asked_for(embedded: Embedded, url: str) -> None:
    from api.processes import HttpServer
    from api.server import create_app
    from tests.support import free_port, http_get

    status, _ = http_get(f"{url}/graphql", timeout=10)
    assert status != 200, "no IDE unless DANUBE_GRAPHIQL is set"
    settings = embedded.danube.settings.model_copy(update={"graphiql": True})
    embedded.danube.settings = settings
    port = free_port()
    embedded.supervisor.add("ide", HttpServer(create_app(embedded.danube), "127.0.0.1", port))
    wait_until(lambda: http_get(f"http://127.0.0.1:{port}/health")[0] == 200, what="the server")
    browser = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", headers={"Accept": "text/html"}
    )
    with urllib.request.urlopen(browser, timeout=10) as page:
        assert page.status == 200
        assert b"graphiql" in page.read().lower()
