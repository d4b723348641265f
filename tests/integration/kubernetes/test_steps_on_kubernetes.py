"""Steps over exec: a dropped connection or one closed without a status is reattached
with no output lost or repeated, and the step runs once; timeouts and cancel end the
pod and its Secret."""

from __future__ import annotations

import tracemalloc

import pytest

from adapters.kubernetes.steps import StepPolicy
from domain.cause import Cause
from tests.integration.kubernetes.conftest import Kube

# Output in bursts, so a connection can drop between and within them; each run of the
# step leaves a line in a file outside the pod (the pod's processes are local here).
BURSTS = """
    from danube import pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        step.run(
            "echo run >> {runs}; "
            "for b in 1 2 3; do i=0; while [ $i -lt 300 ]; do i=$((i+1)); "
            "echo out-$b-$i; echo err-$b-$i >&2; done; sleep 0.2; done; exit 4",
            check=False,
        )
"""


def expected(stream: str) -> bytes:
    return b"".join(f"{stream}-{b}-{i}\n".encode() for b in range(1, 4) for i in range(1, 301))


def run_bursts(kube: Kube, tmp_path) -> tuple:  # type: ignore[no-untyped-def,type-arg]
    runs = tmp_path / "runs"
    _, job_id = kube.request(BURSTS.format(runs=runs))
    job = kube.finished(job_id)
    assert job.state == "success", kube.log(job_id).decode(errors="replace")
    step = kube.danube.views.steps(job_id)[0]
    out = kube.danube.logs.step_bytes(job_id, 1, "stdout")
    err = kube.danube.logs.step_bytes(job_id, 1, "stderr")
    return step, out, err, runs.read_text()


@pytest.mark.parametrize("after_bytes", [1, 5000, 12000])
def test_a_dropped_exec_connection_is_reattached_without_loss_or_repetition(
    kube: Kube,
    tmp_path,
    after_bytes: int,  # type: ignore[no-untyped-def]
) -> None:
    kube.double.faults.exec_drop(after_bytes=after_bytes, container="worker", times=2)
    step, out, err, runs = run_bursts(kube, tmp_path)
    assert (step.state, step.exit_code) == ("failure", 4)
    assert out == expected("out") and err == expected("err")
    assert runs == "run\n"
    execs = kube.double.requests_matching(resource="pods", subresource="exec")
    assert len(execs) >= 3  # two dropped, then one to the end (and one reading the status)
    kube.nothing_left()


def test_an_exec_closed_without_a_status_is_reattached(kube: Kube, tmp_path) -> None:  # type: ignore[no-untyped-def]
    kube.double.faults.exec_close_without_status(container="worker")
    step, out, err, runs = run_bursts(kube, tmp_path)
    assert (step.state, step.exit_code) == ("failure", 4)
    assert out == expected("out") and err == expected("err")
    assert runs == "run\n"
    kube.nothing_left()


def test_an_exec_the_runtime_could_not_start_is_tried_again(kube: Kube, tmp_path) -> None:  # type: ignore[no-untyped-def]
    kube.double.faults.exec_internal_error(container="worker")
    step, out, _, runs = run_bursts(kube, tmp_path)
    assert (step.state, step.exit_code) == ("failure", 4)
    assert out == expected("out") and runs == "run\n"
    kube.nothing_left()


def test_a_step_over_its_timeout_times_out_and_the_job_with_it(any_kube: Kube) -> None:
    kube = any_kube
    _, job_id = kube.request("""
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("echo started; sleep 300", timeout=1)
    """)
    job = kube.finished(job_id)
    step = kube.danube.views.steps(job_id)[0]
    assert (step.state, step.exit_code, step.reason) == ("timeout", None, "step timed out after 1s")
    assert job.state == "timeout"
    kube.nothing_left()


def test_a_job_over_its_max_duration_times_out_and_its_pod_goes(any_kube: Kube) -> None:
    kube = any_kube
    _, job_id = kube.request(
        """
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("echo ready; sleep 300")
        """,
        max_duration_seconds=2,
    )
    job = kube.finished(job_id, timeout=30)
    assert job.state == "timeout" and "max_duration_seconds (2s)" in job.reason, job.reason
    assert [s.state for s in kube.danube.views.steps(job_id)] == ["timeout"]
    kube.nothing_left()


def test_cancelling_a_running_job_deletes_its_pod_and_secret(any_kube: Kube) -> None:
    kube = any_kube
    run_id, job_id = kube.request("""
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("echo ready; sleep 300")
    """)
    kube.printed(job_id, b"ready\n")
    pod = kube.pod_of(job_id)
    assert pod in [s["metadata"]["name"] for s in kube.objects.secrets(kube.namespace)]
    kube.danube.runs.cancel_run(run_id, Cause(actor="user:alice"))
    job = kube.finished(job_id)
    assert job.state == "cancelled"
    assert [s.state for s in kube.danube.views.steps(job_id)] == ["cancelled"]
    kube.nothing_left()
    if kube.double is not None:
        deleted = {r.resource for r in kube.double.requests_matching(verb="delete")}
        assert deleted == {"pods", "secrets"}


@pytest.mark.parametrize("executor_tweaks", [{"steps": StepPolicy(idle_timeout=1.0)}])
def test_a_silent_exec_connection_is_given_up_and_reattached(kube: Kube, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A black hole (open, but no output, status or pong) mid-step: the adapter notices
    within its idle timeout and reattaches; the step still runs once, every byte once."""
    kube.double.faults.exec_stall(after_bytes=5000, container="worker")
    step, out, err, runs = run_bursts(kube, tmp_path)
    assert (step.state, step.exit_code) == ("failure", 4)
    assert out == expected("out") and err == expected("err")
    assert runs == "run\n"
    kube.nothing_left()


@pytest.mark.parametrize("executor_tweaks", [{"steps": StepPolicy(idle_timeout=0.6)}])
def test_a_quiet_step_is_not_disturbed_by_the_idle_watchdog(kube: Kube, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Pings keep a healthy connection that carries no output alive: one exec, no
    reattaching, however long the step is quiet."""
    _, job_id = kube.request("""
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("echo begin; sleep 3; echo end")
    """)
    job = kube.finished(job_id, timeout=30)
    assert job.state == "success"
    assert kube.danube.logs.step_bytes(job_id, 1, "stdout") == b"begin\nend\n"
    execs = kube.double.requests_matching(resource="pods", subresource="exec")
    assert len(execs) == 1


def test_a_step_printing_megabytes_at_once_loses_nothing_and_is_not_held_in_memory(
    kube: Kube,
) -> None:
    """The last output of a step often arrives with the exec's status and close frame:
    it is still stored, to the last byte. And output passes through the pod adapter a
    frame at a time: 16 MiB printed at once never sit in its memory together."""
    size = 16 * 1024 * 1024
    _, job_id = kube.request(f"""
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("head -c {size} /dev/zero | tr -c a a; echo; echo done")
    """)
    tracemalloc.start()
    try:
        job = kube.finished(job_id, timeout=120)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert job.state == "success"
    out = kube.danube.logs.step_bytes(job_id, 1, "stdout")
    assert (len(out), out[-6:]) == (size + 6, b"\ndone\n")
    assert out == b"a" * size + b"\ndone\n"
    assert peak < 8 * 1024 * 1024, f"{peak / 2**20:.1f} MiB of traced memory at the peak"
