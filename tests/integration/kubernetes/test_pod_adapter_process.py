"""``danube pod-adapter`` as a real process next to an in-process master (store,
projectors, dispatcher, JobService): killed with SIGKILL mid-run and started again,
every run ends in the right state exactly once, no step runs twice, no output is lost or
repeated, and pods of jobs that are not active are deleted when it starts."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from kubernetes import config
from kubernetes.client import CoreV1Api
from prometheus_client import REGISTRY
from pydantic import SecretStr

from adapters.sql.store import StoreConfig
from api.bootstrap import Danube, build
from api.execution.lifetimes import grpc_server as serve_job_calls
from api.execution.loops import dispatcher
from api.grpc.server import GrpcServer
from api.processes import Supervisor, start_projectors
from api.settings import Settings
from domain.cause import Cause
from domain.ids import JobId, RunId, job_id_for, new_run_id
from domain.runs.application import RunRequest
from tests.integration.execution.conftest import TERMINAL, USER, make_repo
from tests.integration.k8s_double.support import validate_served
from tests.integration.kubernetes.conftest import COORDINATOR, NAMESPACE
from tests.integration.kubernetes.leftovers import assert_nothing_left
from tests.k8s_double import KubernetesDouble
from tests.support import danube_env, wait_until

SECRET = "s3cr3t-Value-42"


@dataclass
class Master:
    danube: Danube
    grpc: GrpcServer
    double: KubernetesDouble
    env: dict[str, str]
    tmp: Path

    def request(self, danubefile: str) -> tuple[RunId, JobId]:
        repo, commit = make_repo(self.tmp / f"repo-{uuid4().hex[:6]}", danubefile)
        run_id = new_run_id()
        self.danube.runs.request_run(
            RunRequest(
                run_id=run_id,
                pipeline="demo",
                repository=str(repo),
                ref="refs/heads/main",
                commit_sha=commit,
                trigger={"type": "manual"},
                spec={},
            ),
            USER,
        )
        return run_id, job_id_for(run_id, "main")

    def log(self, job_id: JobId) -> bytes:
        return self.danube.logs.read_bytes(job_id.hex, 0, 1 << 26)

    def state(self, job_id: JobId) -> str:
        job = self.danube.views.job(job_id)
        return "" if job is None else job.state

    def printed(self, job_id: JobId, text: bytes, step: int = 1, stream: str = "stdout") -> None:
        """Wait until the step's own output (not its header line) holds ``text``."""
        wait_until(
            lambda: text in self.danube.logs.step_bytes(job_id, step, stream),
            timeout=30,
            what=f"step {step} to print {text!r}",
        )

    def adapter(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "api.cli", "pod-adapter"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / "adapter.log", "ab"),
        )


@pytest.fixture
def master(store_config: StoreConfig, tmp_path: Path) -> Iterator[Master]:
    double = KubernetesDouble(token="k8s-double-token", auto=True)
    double.create_namespace(NAMESPACE)
    kubeconfig = double.write_kubeconfig(tmp_path / "kubeconfig")
    data = tmp_path / "data"
    values: dict[str, Any] = {"data_dir": data, "log_level": "warning"}
    if store_config.kind == "postgres":
        values |= {
            "event_store": "postgres",
            "database_url": SecretStr(store_config.database_url),
            "database_schema": store_config.schema,
        }
    danube = build(Settings(**values))
    supervisor = Supervisor()
    start_projectors(danube, supervisor)
    supervisor.add("dispatcher", dispatcher(danube))
    grpc = serve_job_calls(danube, "127.0.0.1:0")
    env = danube_env(
        store_config,
        DANUBE_DATA_DIR=str(data),  # the same master key: the same job tokens
        DANUBE_KUBECONFIG=str(kubeconfig),
        DANUBE_K8S_NAMESPACE_JOBS=NAMESPACE,
        DANUBE_K8S_COORDINATOR_COMMAND=COORDINATOR,
        DANUBE_K8S_MASTER_ADDRESS=grpc.address,
        DANUBE_POD_ADAPTER_METRICS_ADDRESS="",
        DANUBE_LOG_LEVEL="info",
    )
    try:
        yield Master(danube, grpc, double, env, tmp_path)
    finally:
        supervisor.stop()
        grpc.stop(grace=0.5)
        danube.close()
        double.close()
    assert not double.server_errors, "\n".join(double.server_errors)
    validate_served(double.requests)


def orphan_pod(kubeconfig: Path) -> str:
    """A pod with our labels for a job that does not exist (left from a lost database)."""
    job = str(uuid4())
    name = f"danube-job-{job.replace('-', '')}"
    api = CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    labels = {"app.kubernetes.io/managed-by": "danube", "danube.dev/job": job}
    api.create_namespaced_pod(
        NAMESPACE,
        {
            "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"name": "worker", "image": "busybox"}]},
        },
    )
    return name


def log_bytes_written() -> float:
    """What this process (the master) appended to any job log."""
    return REGISTRY.get_sample_value("danube_log_bytes_written_total") or 0.0


def finished_events(danube: Danube, job_id: JobId) -> int:
    recorder = danube.store.log.recorder
    return sum(
        1
        for n in recorder.select_notifications(1, 1_000_000)
        if n.topic.endswith("JobFinished") and job_id.hex.encode() in n.state
    )


def test_a_pod_adapter_killed_mid_run_and_started_again_ends_every_run_rightly_once(
    master: Master,
) -> None:
    marks, go = master.tmp / "marks", master.tmp / "go"
    orphan = orphan_pod(master.tmp / "kubeconfig")
    written = log_bytes_written()
    first = master.adapter()
    try:
        _, resumed = master.request(f"""
            from danube import pipeline, step

            @pipeline(name="demo")
            def build() -> None:
                step.run("echo 1 >> {marks}; echo one")
                step.run(
                    "echo 2 >> {marks}; echo half; echo half-err >&2; "
                    "while [ ! -e {go} ]; do sleep 0.05; done; echo second half"
                )
                step.run("echo 3 >> {marks}; echo three")
        """)
        cancelled_run, cancelled = master.request("""
            from danube import pipeline, step

            @pipeline(name="demo")
            def build() -> None:
                step.run("echo ready; sleep 300")
        """)
        master.printed(resumed, b"half-err\n", step=2, stream="stderr")
        master.printed(cancelled, b"ready\n")
        assert not any(p["metadata"]["name"] == orphan for p in master.double.pods(NAMESPACE))
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    # While no adapter runs: a cancel, a step that finishes, a new run.
    master.danube.runs.cancel_run(cancelled_run, Cause(actor="user:alice"))
    go.touch()
    master.danube.secrets.set("demo", "DEPLOY_TOKEN", SECRET, Cause(actor="user:admin"))
    _, later = master.request("""
        from danube import pipeline, secrets, step

        @pipeline(name="demo")
        def build() -> None:
            token = secrets.get("DEPLOY_TOKEN")
            print("coordinator sees", token)
            step.run("echo step sees $TOKEN", env={"TOKEN": token})
    """)
    second = master.adapter()
    try:
        jobs = (resumed, cancelled, later)
        wait_until(
            lambda: all(master.state(j) in TERMINAL for j in jobs),
            timeout=60,
            what="every job to end",
        )
        assert [master.state(j) for j in jobs] == ["success", "cancelled", "success"], (
            master.log(resumed).decode(errors="replace"),
            (master.tmp / "adapter.log").read_text(),
        )
        logs = master.danube.logs
        assert logs.step_bytes(resumed, 2, "stdout") == b"half\nsecond half\n"
        assert logs.step_bytes(resumed, 2, "stderr") == b"half-err\n"
        assert logs.step_bytes(resumed, 3, "stdout") == b"three\n"
        assert marks.read_text() == "1\n2\n3\n"  # each step ran exactly once
        assert [s.state for s in master.danube.views.steps(cancelled)] == ["cancelled"]
        assert all(finished_events(master.danube, j) == 1 for j in jobs)
        # One writer per job log: the adapter (the first, then the one that took over)
        # wrote every line, each step's opening once; this process (the server) none.
        assert log_bytes_written() == written
        resumed_log = master.log(resumed)
        for step in master.danube.views.steps(resumed):
            opening = f"── step {step.number}: ".encode()
            assert resumed_log.count(opening) == 1, resumed_log.decode(errors="replace")
            assert step.log_start is not None
            assert resumed_log[: step.log_start].rsplit(b"\n", 2)[-2].startswith(opening)
        log = master.log(later)
        assert SECRET.encode() not in log  # read from the server, masked by the adapter
        # The coordinator's log and the step's output interleave in the job's log.
        assert b"\ncoordinator sees ***\n" in logs.step_bytes(later, 0, "stdout")
        assert logs.step_bytes(later, 1, "stdout") == b"step sees ***\n"
        assert_nothing_left(master.double, NAMESPACE)  # the orphan's included
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0
    assert "Traceback" not in (master.tmp / "adapter.log").read_text()


def test_a_step_that_printed_a_secret_resumes_after_a_sigkill_without_repeats_or_fragments(
    master: Master,
) -> None:
    """What the step printed is stored masked (``***`` is shorter than the secret) and
    the adapter is killed while its masker holds a line back: the next adapter resumes
    from the unmasked position the stored output stands for, not from its length."""
    printed, go = master.tmp / "printed", master.tmp / "go"
    master.danube.secrets.set("demo", "DEPLOY_TOKEN", SECRET, Cause(actor="user:admin"))
    first = master.adapter()
    try:
        _, job_id = master.request(f"""
            from danube import pipeline, secrets, step

            @pipeline(name="demo")
            def build() -> None:
                token = secrets.get("DEPLOY_TOKEN")
                step.run(
                    'echo "token: $TOKEN"; while [ ! -e {printed} ]; do sleep 0.05; done; '
                    'printf dots; while [ ! -e {go} ]; do printf .; sleep 0.05; done; '
                    'echo; echo "again $TOKEN"; echo after',
                    env={{"TOKEN": token}},
                )
        """)
        logs = master.danube.logs
        wait_until(
            lambda: logs.step_bytes(job_id, 1, "stdout") == b"token: ***\n",
            timeout=30,
            what="the masked line to be stored",
        )
        printed.touch()  # dots now: a line the masker holds back while it grows
        out = master.double.volume_dir(NAMESPACE, f"danube-job-{job_id.hex}", "control")
        wait_until(
            lambda: b"dots..." in (out / "steps" / "1.out").read_bytes(),
            timeout=20,
            what="the step to print its dots",
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    go.touch()
    second = master.adapter()
    try:
        wait_until(lambda: master.state(job_id) in TERMINAL, timeout=60, what="the job to end")
        assert master.state(job_id) == "success", master.log(job_id).decode(errors="replace")
        stdout = master.danube.logs.step_bytes(job_id, 1, "stdout")
        assert re.fullmatch(rb"token: \*\*\*\ndots\.*\nagain \*\*\*\nafter\n", stdout), stdout
        fragments = {SECRET[i : i + 4].encode() for i in range(len(SECRET) - 3)}
        assert not [f for f in fragments if f in master.log(job_id)]
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0


def test_a_pod_adapter_killed_right_after_creating_a_pod_adopts_it(master: Master) -> None:
    marks = master.tmp / "marks"
    first = master.adapter()
    try:
        _, job_id = master.request(f"""
            from danube import pipeline, step

            @pipeline(name="demo")
            def build() -> None:
                step.run("echo 1 >> {marks}; echo one")
                step.run("echo 2 >> {marks}; echo two")
        """)
        wait_until(
            lambda: master.double.requests_matching(verb="create", resource="pods"),
            timeout=30,
            what="the pod to be created",
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    second = master.adapter()
    try:
        wait_until(lambda: master.state(job_id) in TERMINAL, timeout=60, what="the job to end")
        assert master.state(job_id) == "success", master.log(job_id).decode(errors="replace")
        assert marks.read_text() == "1\n2\n"
        assert master.danube.logs.step_bytes(job_id, 2, "stdout") == b"two\n"
        assert len(master.double.requests_matching(verb="create", resource="pods")) == 1
        assert_nothing_left(master.double, NAMESPACE)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0


def test_a_pod_that_vanished_while_no_adapter_ran_fails_its_job(master: Master) -> None:
    first = master.adapter()
    try:
        _, job_id = master.request("""
            from danube import pipeline, step

            @pipeline(name="demo")
            def build() -> None:
                step.run("echo ready; sleep 300")
        """)
        master.printed(job_id, b"ready\n")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    name = f"danube-job-{job_id.hex}"
    api = CoreV1Api(config.new_client_from_config(config_file=str(master.tmp / "kubeconfig")))
    api.delete_namespaced_pod(name, NAMESPACE)
    # Its Secret is the pod's: the garbage collector takes it, no adapter needed.
    assert_nothing_left(master.double, NAMESPACE, job_id)
    # The next adapter ticks a while before its first list of pods: it must neither
    # fail the job nor create its pod again before it knows (it used to do the latter).
    master.double.faults.fail_next(503, verb="list", resource="pods", times=2, retry_after=1)
    second = master.adapter()
    try:
        wait_until(lambda: master.state(job_id) in TERMINAL, timeout=60, what="the job to end")
        job = master.danube.views.job(job_id)
        assert job is not None and job.state == "failure"
        assert job.reason == f"the job's processes are gone (its pod {name} does not exist)"
        assert [s.state for s in master.danube.views.steps(job_id)] == ["failure"]
        assert finished_events(master.danube, job_id) == 1
        assert_nothing_left(master.double, NAMESPACE)
        assert len(master.double.requests_matching(verb="create", resource="pods")) == 1
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0


def test_the_pod_adapter_refuses_to_start_without_a_master_address(tmp_path: Path) -> None:
    env = danube_env(StoreConfig(kind="sqlite", data_dir=tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "pod-adapter"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "set DANUBE_K8S_MASTER_ADDRESS" in result.stderr
