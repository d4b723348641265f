"""Per-job state has an end of life: the server (``danube server``: JobService, no
reconciler) keeps nothing of a job once it has ended, not even the secret values the
job read. 500 jobs each read a secret through the real gRPC JobService; afterwards the
server holds no per-job state and no live object references the secret's value."""

from __future__ import annotations

import gc
import secrets as random_secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from adapters.sql.store import StoreConfig
from api.bootstrap import Danube, build
from api.execution.lifetimes import JobStateReleaser, serve_jobs
from api.execution.lifetimes import grpc_server as serve_job_calls
from api.grpc.server import GrpcServer
from api.processes import Supervisor, start_projectors
from danube._proto.v1 import job_service_pb2 as pb
from danube._proto.v1 import job_service_pb2_grpc as pb_grpc
from domain.cause import Cause
from domain.ids import JobId, RunId, job_id_for, new_run_id
from domain.runs.application import RunRequest
from domain.runs.states import JobState
from tests.integration.execution.conftest import Embedded, settings_for
from tests.support import wait_for

JOBS = 500
KEY = "DEPLOY_TOKEN"
CAUSE = Cause(actor="test")


@dataclass
class Server:
    """What ``danube server`` runs for jobs (``serve_jobs``: the JobService and the
    job-state releaser), with the projectors (``danube projector``) folding what happens
    to the jobs."""

    danube: Danube
    grpc: GrpcServer


def serving(store_config: StoreConfig, tmp_path: Path, *, releaser: bool) -> Iterator[Server]:
    danube = build(settings_for(store_config, tmp_path / "data"))
    supervisor = Supervisor()
    start_projectors(danube, supervisor)
    if releaser:  # as danube server does
        grpc_server = serve_jobs(danube, supervisor, "127.0.0.1:0")
    else:
        grpc_server = serve_job_calls(danube, "127.0.0.1:0")
    yield Server(danube, grpc_server)
    danube.stop()
    supervisor.stop_workers()
    grpc_server.stop(grace=1.0)
    supervisor.stop_followers()
    danube.close()


@pytest.fixture
def server(store_config: StoreConfig, tmp_path: Path) -> Iterator[Server]:
    yield from serving(store_config, tmp_path, releaser=True)


@pytest.fixture
def unreleased(store_config: StoreConfig, tmp_path: Path) -> Iterator[Server]:
    """The same without a releaser at work: a test drives its own."""
    yield from serving(store_config, tmp_path, releaser=False)


def start_jobs(danube: Danube, count: int) -> list[tuple[RunId, JobId]]:
    jobs = []
    for _ in range(count):
        run_id = new_run_id()
        danube.runs.request_run(
            RunRequest(
                run_id=run_id,
                pipeline="deploy",
                repository="r",
                ref="refs/heads/main",
                commit_sha="c" * 40,
                trigger={"type": "manual"},
            ),
            CAUSE,
        )
        job_id = job_id_for(run_id, "main")
        danube.runs.schedule_job(run_id, job_id, CAUSE)
        danube.runs.start_job(run_id, job_id, CAUSE)  # what the pod adapter records
        jobs.append((run_id, job_id))
    return jobs


def read_secret(server: Server, job_id: JobId) -> str:
    stub = pb_grpc.JobServiceStub(grpc.insecure_channel(server.grpc.address))
    token = server.danube.tokens.issue(job_id)
    metadata = [("authorization", f"Bearer {token}"), ("x-danube-job-id", str(job_id))]
    value: str = stub.GetSecret(pb.GetSecretRequest(key=KEY), metadata=metadata).value
    return value[::-1]


def holders_of(backwards: str) -> list[str]:
    """Live strings and byte strings reachable from any object the collector tracks
    (through untracked tuples and dicts too) that contain the value written
    ``backwards`` (the test holds it only reversed, so that it does not find itself)."""
    gc.collect()
    needles = {str: backwards, bytes: backwards.encode()}
    found: list[str] = []
    seen: set[int] = set()
    pending = [(holder, holder) for holder in gc.get_objects()]
    while pending:
        holder, obj = pending.pop()
        for referent in gc.get_referents(obj):
            kind = type(referent)
            if kind in needles and len(referent) >= len(backwards):
                if needles[kind] in referent[::-1]:  # type: ignore[operator]
                    found.append(f"{type(holder).__name__} -> {kind.__name__}")
            elif not gc.is_tracked(referent) and id(referent) not in seen:
                seen.add(id(referent))  # an untracked container: not in get_objects
                pending.append((holder, referent))
    return found


def test_the_server_keeps_no_state_or_secret_of_jobs_that_ended(server: Server) -> None:
    danube = server.danube
    backwards = random_secrets.token_hex(24)
    danube.secrets.set("deploy", KEY, backwards[::-1], CAUSE)
    jobs = start_jobs(danube, JOBS)

    with ThreadPoolExecutor(8) as pool:
        read = list(pool.map(lambda job: read_secret(server, job[1]), jobs))
    assert read == [backwards] * JOBS
    assert danube.logs.held() == {job_id.hex for _, job_id in jobs}, "masked while running"

    for run_id, job_id in jobs:
        danube.runs.finish_job(run_id, job_id, JobState.SUCCESS, "", CAUSE)
    wait_for(danube.logs.held, lambda held: not held, timeout=60, what="per-job state released")
    assert holders_of(backwards) == []


PIPELINE = """
    from danube import pipeline, secrets, step

    @pipeline(name="demo")
    def build() -> None:
        step.run("true", env={"TOKEN": secrets.get("DEPLOY_TOKEN")}, name="one")
        step.run("echo done", name="two")
"""


def test_the_embedded_process_keeps_no_state_of_jobs_that_ended(embedded: Embedded) -> None:
    """``danube up``: the reconciler and the job output forget every job that ended
    (and the reconciler's set of started steps no longer grows with every step run)."""
    danube = embedded.danube
    danube.secrets.set("demo", KEY, random_secrets.token_hex(16), CAUSE)
    jobs = [embedded.request(PIPELINE)[1] for _ in range(3)]
    assert all(embedded.finished(job_id).state == "success" for job_id in jobs)

    def held() -> tuple[set[str], set[str]]:
        return embedded.execution.reconciler.held_jobs(), danube.logs.held()

    wait_for(held, lambda seen: seen == (set(), set()), timeout=30, what="job state released")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_job_is_released_a_grace_after_it_ended_and_an_unlisted_one_much_later(
    unreleased: Server,
) -> None:
    """A call admitted just before the job ended still finds its masks (``grace``); a
    job the read model does not list (yet) keeps them for ``unknown_grace``."""
    danube, clock = unreleased.danube, Clock()
    releaser = JobStateReleaser(
        danube.logs,
        danube.views,
        danube.store.views.progress("runs"),
        grace=2.0,
        unknown_grace=120.0,
        clock=clock,
    )
    (run_id, ending), (_, running) = start_jobs(danube, 2)
    unlisted = job_id_for(new_run_id(), "main")
    for job_id in (ending, running, unlisted):
        danube.logs.add_secret(job_id, random_secrets.token_hex(8))
    danube.runs.finish_job(run_id, ending, JobState.SUCCESS, "", CAUSE)
    assert danube.wait_for_views(danube.store.log.position())
    assert releaser.tick() == 0  # the end is seen now
    clock.now = 1.9
    assert releaser.tick() == 0
    clock.now = 2.0
    assert releaser.tick() == 1
    assert danube.logs.held() == {running.hex, unlisted.hex}
    clock.now = 120.0
    assert releaser.tick() == 1
    assert danube.logs.held() == {running.hex}
    clock.now = 10_000.0
    assert releaser.tick() == 0, "a running job keeps its state however long it runs"
