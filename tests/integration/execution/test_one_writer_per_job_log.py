"""One writer per job log: the process that runs a job's steps (the reconciler's) writes
each step's opening line and records where its output begins; the JobService (``danube
server``) writes nothing into any job's log. REST and GraphQL show each step's
``log_start`` just past its ``── step N:`` line, parallel steps included."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from prometheus_client import REGISTRY

from adapters.sql.store import StoreConfig
from danube._proto.v1 import job_service_pb2 as pb
from danube._proto.v1 import job_service_pb2_grpc as pb_grpc
from domain.cause import Cause
from domain.runs.states import JobState
from tests.integration.execution.conftest import Embedded
from tests.integration.execution.test_job_state_lifetime import Server, serving, start_jobs
from tests.integration.graphql.conftest import data, url
from tests.support import http_get, wait_for, wait_until

__all__ = ["url"]  # the fixture (the served app), shared with the GraphQL tests

CAUSE = Cause(actor="test")


def log_bytes_written() -> float:
    """What this process appended to any job log (``danube_log_bytes_written_total``)."""
    return REGISTRY.get_sample_value("danube_log_bytes_written_total") or 0.0


@pytest.fixture
def server(store_config: StoreConfig, tmp_path: Path) -> Iterator[Server]:
    yield from serving(store_config, tmp_path, releaser=True)


def test_the_server_records_a_step_without_writing_into_the_jobs_log(server: Server) -> None:
    """``danube server`` runs no reconciler: a coordinator's RunStep is recorded (the
    read models show the step running) and nothing appears in the job's log until the
    process that runs steps writes the step's opening line."""
    danube = server.danube
    written = log_bytes_written()
    [(run_id, job_id)] = start_jobs(danube, 1)
    wait_for(
        lambda: danube.views.job(job_id),
        lambda job: job is not None and job.state == "running",
        what="the job to run",
    )
    stub = pb_grpc.JobServiceStub(grpc.insecure_channel(server.grpc.address))
    token = danube.tokens.issue(job_id)
    metadata = [("authorization", f"Bearer {token}"), ("x-danube-job-id", str(job_id))]
    ended: list[grpc.RpcError | None] = []

    def run_step() -> None:
        request = pb.RunStepRequest(number=1, name="build", command="make")
        try:
            list(stub.RunStep(request, metadata=metadata, timeout=60))
            ended.append(None)
        except grpc.RpcError as error:  # e.g. the job ended under it
            ended.append(error)

    caller = threading.Thread(target=run_step, daemon=True)
    caller.start()
    step = wait_until(
        lambda: danube.views.step(job_id.hex, 1) or ended,
        timeout=30,
        what="the step to be recorded",
    )
    assert not isinstance(step, list), step
    assert (step.state, step.name, step.log_start) == ("running", "build", None)
    assert danube.logs.stored_size(job_id.hex) == 0
    assert log_bytes_written() == written
    danube.runs.finish_job(run_id, job_id, JobState.CANCELLED, "test over", CAUSE)
    caller.join(30)
    assert not caller.is_alive()
    assert danube.logs.stored_size(job_id.hex) == 0
    assert log_bytes_written() == written


PARALLEL = """
    import threading
    from pathlib import Path
    from danube import pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        step.run("echo out-1", name="first")
        sides = [
            threading.Thread(target=step.run, args=(f"echo out-{n}; echo out-{n} again",),
                             kwargs={"name": side})
            for n, side in ((2, "left"), (3, "right"))
        ]
        for side in sides:
            side.start()
        for side in sides:
            side.join()
        step.run("echo out-4; while [ ! -e %r ]; do sleep 0.02; done; echo done", name="slow")
"""


def test_each_steps_log_start_is_just_past_its_opening_line(embedded: Embedded, url: str) -> None:
    release = embedded.tmp / "release"
    _, job_id = embedded.request(PARALLEL % str(release))
    views = embedded.danube.views
    # A step that runs on has where its output begins recorded while it runs.
    running = wait_for(
        lambda: views.step(job_id.hex, 4),
        lambda step: step is not None and step.log_start is not None,
        what="the slow step's log start",
    )
    assert running is not None and running.state == "running"
    release.touch()
    job = embedded.finished(job_id)
    log = embedded.log(job_id)
    assert job.state == "success", log.decode(errors="replace")

    _, body = http_get(f"{url}/api/v1/jobs/{job_id.hex}")
    rest = {s["number"]: (s["name"], s["log_start"]) for s in json.loads(body)["steps"]}
    reply = data(url, "query Q($id: ID!) { job(id: $id) { steps { number name logStart } } }",
                 id=job_id.hex)  # fmt: skip
    graphql = {s["number"]: (s["name"], s["logStart"]) for s in reply["job"]["steps"]}
    names = {1: "first", 2: "left", 3: "right", 4: "slow"}
    assert set(rest) == set(graphql) == set(names), (rest, graphql)
    assert graphql == rest
    for number, (name, start) in rest.items():
        opening = f"── step {number}: {names[number]}\n".encode()
        assert name == names[number]
        assert log[:start].endswith(opening), (number, log[start - 60 : start + 20])
        assert log.count(opening) == 1
    for number in names:  # each step's line comes before its first byte
        assert log.index(f"── step {number}: ".encode()) < log.index(f"out-{number}\n".encode())
    step = views.step(job_id.hex, 4)
    assert step is not None and log[step.log_start : step.log_end] == b"out-4\ndone\n"
