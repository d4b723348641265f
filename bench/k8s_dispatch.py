"""Kubernetes dispatch and exec figures (DESIGN.md §11), against the Kubernetes API double
(auto kubelet, pods as local processes), with the local executor measured in the same
run as the baseline. Prints one JSON object as its last line.

* dispatch: 50 runs requested at once; for each, the time from its request to the pod
  create call the double received (p50/p99), and from its request to the executor's
  ``start`` (dispatcher and reconciler) on Kubernetes and, as the baseline, on the local
  executor (the same point on both: ``dispatch_p50_ratio``). The request -> pod create
  time is split into Danube's share (request -> the adapter sending the create call)
  and the double's (the create call -> the double reading it), with the lag of the
  double's event loop sampled meanwhile. The double runs in a process of its own, as
  an API server does (``--in-process``: in this one, as before, where its work and
  Danube's share one interpreter lock). The same again with the nodes held: the
  double's kubelet leaves every pod Pending until all 50 creates were sent, so the pods
  of the first jobs (their checkout, their coordinator: Python processes) do not
  compete for these 2 cores with the dispatch of the last ones, as on a cluster whose
  nodes are other machines (``nodes_held_*``);
* exec: a pipeline of 20 trivial steps; each step's time from recorded start to recorded
  end, on Kubernetes (exec + in-pod runner + follower) and on the local executor.

    python bench/k8s_dispatch.py          # about 20 seconds
    python bench/k8s_dispatch.py --full   # 200 runs, 50 steps
    python bench/k8s_dispatch.py --in-process   # the double in the bench's process
"""

from __future__ import annotations

import json
import logging
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.bootstrap import Danube, build
from api.execution.embedded import start_execution
from api.processes import Supervisor
from api.settings import Settings
from domain.cause import Cause
from domain.execution.ports import Executor
from domain.ids import JobId, job_id_for, new_run_id
from domain.runs.application import RunRequest
from domain.runs.states import TERMINAL
from tests.k8s_double import KubernetesDouble
from tests.k8s_double.standalone import LagSampler, StandaloneDouble
from tests.k8s_double.standalone import pod_creates as received_creates

FULL = "--full" in sys.argv
IN_PROCESS = "--in-process" in sys.argv
RUNS = 200 if FULL else 50
STEPS = 50 if FULL else 20
NAMESPACE = "danube-jobs"
USER = Cause(actor="user:bench", trigger="manual")
NO_STEPS = """
    from danube import pipeline

    @pipeline(name="bench")
    def build() -> None:
        pass
"""
MANY_STEPS = f"""
    from danube import pipeline, step

    @pipeline(name="bench")
    def build() -> None:
        for i in range({STEPS}):
            step.run("true", name=f"step {{i}}")
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def repo(root: Path, danubefile: str) -> tuple[str, str]:
    root.mkdir(parents=True)
    (root / "danubefile.py").write_text(textwrap.dedent(danubefile))
    git = ["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "bench"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return str(root), head.stdout.strip()


@contextmanager
def system(tmp: Path, **settings: Any) -> Iterator[tuple[Danube, Executor]]:
    danube = build(
        Settings(
            data_dir=tmp / "data",
            log_level="error",
            max_concurrent_jobs=RUNS,
            **settings,
        )
    )
    supervisor = Supervisor()
    execution = start_execution(danube, supervisor, "127.0.0.1:0")
    try:
        yield danube, execution.executor
    finally:
        supervisor.stop()
        execution.stop()
        danube.close()


def request(danube: Danube, source: tuple[str, str]) -> JobId:
    run_id = new_run_id()
    danube.runs.request_run(
        RunRequest(
            run_id=run_id,
            pipeline="bench",
            repository=source[0],
            ref="refs/heads/main",
            commit_sha=source[1],
            trigger={"type": "manual"},
            spec={},
        ),
        USER,
    )
    return job_id_for(run_id, "main")


def wait_finished(danube: Danube, jobs: list[JobId], timeout: float) -> None:
    """Until every job has ended; a job that ended is not read again (the bench's own
    reads compete with the system it measures)."""
    deadline = time.monotonic() + timeout
    waiting, states = list(jobs), {}
    while time.monotonic() < deadline:
        for job in waiting:
            states[job] = getattr(danube.views.job(job), "state", "")
        waiting = [j for j in waiting if states[j] not in TERMINAL]
        if not waiting:
            failed = [s for s in states.values() if s != "success"]
            if failed:
                raise RuntimeError(f"{len(failed)} jobs did not succeed: {failed[:3]}")
            return
        time.sleep(0.05)
    raise TimeoutError(f"jobs did not finish within {timeout}s")


def dispatch(
    tmp: Path, calls: dict[str, float] | None = None, **settings: Any
) -> dict[JobId, tuple[float, float]]:
    """RUNS runs requested at once: each job's request time and when the dispatcher and
    reconciler got it to the executor's ``start`` (the same point on both executors);
    ``calls``, when given, gets when the adapter sent each pod's create call."""
    source = repo(tmp / "repo", NO_STEPS)
    with system(tmp, **settings) as (danube, executor_port):
        executor: Any = executor_port
        started: dict[JobId, float] = {}
        plain = executor.start

        def start(job: Any, output: Any) -> None:
            started.setdefault(job.job_id, time.time())
            plain(job, output)

        executor.start = start
        if calls is not None:
            api = executor.api
            create_pod = api.create_pod

            def timed_create(namespace: str, body: dict[str, Any]) -> dict[str, Any]:
                calls.setdefault(body["metadata"]["name"], time.time())
                result: dict[str, Any] = create_pod(namespace, body)
                return result

            api.create_pod = timed_create
        requested = {}
        for _ in range(RUNS):
            requested_at = time.time()
            requested[request(danube, source)] = requested_at
        wait_finished(danube, list(requested), timeout=240)
    return {job: (at, started[job]) for job, at in requested.items()}


class InProcessDouble:
    """The double in this process (``--in-process``), answering as StandaloneDouble."""

    def __init__(self, base_dir: Path, kubeconfig: Path, token: str, namespace: str) -> None:
        self.double = KubernetesDouble(token=token, auto=True, base_dir=base_dir)
        self.double.create_namespace(namespace)
        self.kubeconfig = self.double.write_kubeconfig(kubeconfig)
        self.sampler = LagSampler(self.double)

    def report(self) -> dict[str, Any]:
        return {"pod_creates": received_creates(self.double), "loop_lag": self.sampler.take()}

    def hold(self) -> None:
        self.double.kubelet.auto = False

    def release(self) -> None:
        self.double.kubelet.auto = True

    def close(self) -> None:
        self.sampler.stop()
        self.double.close()


def release_when_all_sent(
    double: InProcessDouble | StandaloneDouble, calls: dict[str, float]
) -> threading.Thread:
    """Hold the double's kubelet until every create call was sent, then release it."""
    double.hold()

    def release() -> None:
        deadline = time.monotonic() + 240
        while len(calls) < RUNS and time.monotonic() < deadline:
            time.sleep(0.01)
        double.release()

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    return thread


def shares(
    jobs: dict[JobId, tuple[float, float]], calls: dict[str, float], created: dict[str, Any]
) -> dict[str, list[float]]:
    """Per job: request -> create received, its Danube share and the double's."""
    pods = {job: f"danube-job-{job.hex}" for job in jobs}
    return {
        "total": [created[pods[j]] - at for j, (at, _) in jobs.items()],
        "danube": [calls[pods[j]] - at for j, (at, _) in jobs.items()],
        "double": [created[pods[j]] - calls[pods[j]] for j in jobs],
    }


def step_times(tmp: Path, **settings: Any) -> list[float]:
    source = repo(tmp / "repo", MANY_STEPS)
    with system(tmp, **settings) as (danube, _):
        job = request(danube, source)
        wait_finished(danube, [job], timeout=120)
        steps = danube.views.steps(job)
    assert len(steps) == STEPS
    return [
        (
            datetime.fromisoformat(s.finished_at) - datetime.fromisoformat(s.started_at)
        ).total_seconds()
        for s in steps
        if s.finished_at
    ]


def main() -> None:
    logging.disable(logging.WARNING)
    root = Path(tempfile.mkdtemp(prefix="danube-bench-k8s-"))
    double: InProcessDouble | StandaloneDouble
    if IN_PROCESS:
        double = InProcessDouble(root / "double", root / "kubeconfig", "bench", NAMESPACE)
    else:
        double = StandaloneDouble(
            root / "double", root / "kubeconfig", token="bench", namespaces=(NAMESPACE,)
        )
    kube = {
        "executor": "kubernetes",
        "kubeconfig": str(double.kubeconfig),
        "k8s_namespace_jobs": NAMESPACE,
        "k8s_coordinator_command": f"{sys.executable} -m danube.coordinator",
    }
    try:
        double.report()  # the lag from here on
        started = time.monotonic()
        calls: dict[str, float] = {}
        kube_jobs = dispatch(root / "dispatch-k8s", calls, **kube)
        kube_dispatch_s = time.monotonic() - started
        observed = double.report()
        lags = observed["loop_lag"]
        split = shares(kube_jobs, calls, observed["pod_creates"])
        held_calls: dict[str, float] = {}
        releaser = release_when_all_sent(double, held_calls)
        held_jobs = dispatch(root / "dispatch-k8s-held", held_calls, **kube)
        releaser.join()
        held_observed = double.report()
        held = shares(held_jobs, held_calls, held_observed["pod_creates"])
        local_jobs = dispatch(root / "dispatch-local", executor="local")
        kube_steps = step_times(root / "steps-k8s", **kube)
        local_steps = step_times(root / "steps-local", executor="local")
    finally:
        double.close()
    to_create, to_call, in_double = split["total"], split["danube"], split["double"]
    kube_start = [begun - at for at, begun in kube_jobs.values()]
    local_start = [begun - at for at, begun in local_jobs.values()]
    kube_p50, local_p50 = statistics.median(kube_steps), statistics.median(local_steps)
    figures = {
        "runs_requested_at_once": RUNS,
        "double": "in this process" if IN_PROCESS else "own process",
        "request_to_pod_create_p50_ms": ms(percentile(to_create, 0.5)),
        "request_to_pod_create_p99_ms": ms(percentile(to_create, 0.99)),
        "danube_share_request_to_create_call_p50_ms": ms(percentile(to_call, 0.5)),
        "danube_share_request_to_create_call_p99_ms": ms(percentile(to_call, 0.99)),
        "double_share_create_call_to_received_p50_ms": ms(percentile(in_double, 0.5)),
        "double_share_create_call_to_received_p99_ms": ms(percentile(in_double, 0.99)),
        "double_loop_lag_p50_ms": ms(percentile(lags, 0.5)),
        "double_loop_lag_p99_ms": ms(percentile(lags, 0.99)),
        "nodes_held_request_to_pod_create_p50_ms": ms(percentile(held["total"], 0.5)),
        "nodes_held_request_to_pod_create_p99_ms": ms(percentile(held["total"], 0.99)),
        "nodes_held_danube_share_p50_ms": ms(percentile(held["danube"], 0.5)),
        "nodes_held_danube_share_p99_ms": ms(percentile(held["danube"], 0.99)),
        "nodes_held_double_share_p50_ms": ms(percentile(held["double"], 0.5)),
        "nodes_held_double_share_p99_ms": ms(percentile(held["double"], 0.99)),
        "nodes_held_double_loop_lag_p99_ms": ms(percentile(held_observed["loop_lag"], 0.99)),
        "request_to_executor_start_p50_ms": ms(percentile(kube_start, 0.5)),
        "request_to_executor_start_p99_ms": ms(percentile(kube_start, 0.99)),
        "baseline_request_to_local_start_p50_ms": ms(percentile(local_start, 0.5)),
        "baseline_request_to_local_start_p99_ms": ms(percentile(local_start, 0.99)),
        "dispatch_p50_ratio": round(
            percentile(kube_start, 0.5) / max(1e-9, percentile(local_start, 0.5)), 2
        ),
        "all_runs_finished_on_kubernetes_s": round(kube_dispatch_s, 2),
        "steps": STEPS,
        "kubernetes_step_p50_ms": ms(kube_p50),
        "kubernetes_step_p99_ms": ms(percentile(kube_steps, 0.99)),
        "baseline_local_step_p50_ms": ms(local_p50),
        "baseline_local_step_p99_ms": ms(percentile(local_steps, 0.99)),
        "step_exec_overhead_ms": ms(kube_p50 - local_p50),
        "step_p50_ratio": round(kube_p50 / max(1e-9, local_p50), 2),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
