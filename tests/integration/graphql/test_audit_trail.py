"""The audit trail: who did what, when, and the causal chain of a run."""

from __future__ import annotations

from domain.cause import Cause
from tests.integration.execution.conftest import Embedded
from tests.integration.graphql.conftest import data
from tests.support import wait_until

TRAIL = """query A($filter: AuditFilter, $after: String) {
  auditTrail(filter: $filter, first: 3, after: $after) {
    edges { node { at action actor pipeline runId jobId trigger reason detail } }
    pageInfo { endCursor hasNextPage } } }"""
LONG = "from danube import pipeline, step\n@pipeline(name='demo')\ndef b() -> None: step.run('sleep 300')\n"


def entries(url: str, **filter: str) -> list[dict]:  # type: ignore[type-arg]
    found, after = [], None
    while True:
        page = data(url, TRAIL, filter=filter, after=after)["auditTrail"]
        found += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def test_who_requested_cancelled_and_ended_a_run_newest_first(embedded: Embedded, url: str) -> None:
    run_id, job_id = embedded.request(LONG, pipeline="audited")
    wait_until(lambda: embedded.state(job_id) == "running", timeout=60, what="the job to run")
    embedded.danube.runs.cancel_run(run_id, Cause(actor="user:alice", reason="wrong branch"))
    embedded.finished(job_id)
    trail = wait_until(
        lambda: (
            (found := entries(url, runId=run_id.hex))
            and found[0]["action"] == "Run.JobFinished"
            and found
        ),
        what="the run's trail",
    )
    actions = [(e["action"], e["actor"]) for e in reversed(trail)]
    assert actions[0] == ("Run.Requested", "user:test")
    assert ("Run.CancelRequested", "user:alice") in actions
    cancel = next(e for e in trail if e["action"] == "Run.CancelRequested")
    assert cancel["reason"] == "wrong branch" and cancel["pipeline"] == "audited"
    finished = trail[0]
    assert finished["jobId"] == job_id.hex and finished["detail"]["state"] == "cancelled"
    assert all(e["runId"] == run_id.hex for e in trail)
    ats = [e["at"] for e in trail]
    assert ats == sorted(ats, reverse=True)


def test_draining_and_filters_by_actor(embedded: Embedded, url: str) -> None:
    embedded.danube.system.start_draining(Cause(actor="user:ops", reason="upgrade"))
    found = wait_until(lambda: entries(url, actor="user:ops"), what="the drain entry")
    assert [(e["action"], e["reason"]) for e in found] == [("System.DrainStarted", "upgrade")]
