"""Each fault ends the job in the right state with a clear reason, and no pod or Secret
of it is left behind."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import CoreV1Api
from prometheus_client import REGISTRY

from domain.cause import Cause
from domain.ids import job_id_for, new_run_id
from tests.integration.kubernetes.conftest import NAMESPACE, Kube
from tests.support import wait_until

QUICK = """
    from danube import pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        step.run("echo one")
        step.run("echo two")
"""
WAITING_STEP = """
    from danube import pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        step.run("echo ready; sleep 300")
"""


def started_step(kube: Kube, job_id: Any) -> None:
    kube.printed(job_id, b"ready\n")


@pytest.mark.parametrize("kube_overrides", [{"k8s_image_pull_timeout": "2s"}])
def test_an_image_that_still_cannot_be_pulled_after_the_wait_fails_the_job(kube: Kube) -> None:
    kube.double.faults.image_pull_failure(
        image="registry.example/missing:1", message="unexpected status from HEAD request: 503"
    )
    _, job_id = kube.request(QUICK, image="registry.example/missing:1")
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert job.reason.startswith(
        "the worker container (registry.example/missing:1) could not start: "
    ), job.reason
    assert "unexpected status from HEAD request: 503" in job.reason  # the kubelet's words
    assert "; still failing after " in job.reason
    created = kube.double.requests_matching(verb="create", resource="pods")[0].at
    deleted = kube.double.requests_matching(verb="delete", resource="pods")[0].at
    assert deleted - created >= 1  # not at the first ErrImagePull (times are in seconds)
    kube.nothing_left()


@pytest.mark.parametrize("kube_overrides", [{"k8s_image_pull_timeout": "60s"}])
def test_an_image_pull_that_fails_for_a_while_then_works_runs_the_job(kube: Kube) -> None:
    kube.double.faults.image_pull_failure(image="registry.example/flaky:1")
    _, job_id = kube.request(QUICK, image="registry.example/flaky:1")
    kube.double.wait_for(
        lambda: (
            (kube.double.container_status(NAMESPACE, kube.pod_of(job_id), "worker") or {})
            .get("state", {})
            .get("waiting", {})
            .get("reason")
            == "ImagePullBackOff"
        ),
        message="the worker's pull to back off",
    )
    assert kube.state(job_id) not in ("failure", "cancelled")
    kube.double.faults.clear_container_faults()  # the registry is back: the kubelet retries
    job = kube.finished(job_id)
    assert job.state == "success", (job.reason, kube.log(job_id).decode(errors="replace"))
    kube.nothing_left()


def test_an_invalid_image_name_fails_the_job_at_once(kube: Kube) -> None:
    _, job_id = kube.request(QUICK, image="Registry.Example/UPPER CASE:1")
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert "could not start: InvalidImageName" in job.reason
    kube.nothing_left()


def test_a_container_config_error_fails_the_job(kube: Kube) -> None:
    kube.double.faults.create_container_config_error(container="coordinator")
    _, job_id = kube.request(QUICK)
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert "coordinator container" in job.reason and "CreateContainerConfigError" in job.reason
    kube.nothing_left()


def test_a_worker_oom_killed_while_the_coordinator_runs_fails_with_oomkilled(kube: Kube) -> None:
    _, job_id = kube.request(WAITING_STEP)
    started_step(kube, job_id)
    kube.double.faults.oom_kill(NAMESPACE, kube.pod_of(job_id), "worker")
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert "the worker container was OOMKilled (exit code 137)" in job.reason
    step = kube.danube.views.steps(job_id)[0]
    assert (step.state, step.exit_code) == ("failure", None)  # failed with its job, not cancelled
    assert "OOMKilled" in step.reason
    kube.nothing_left()


def test_an_evicted_pod_fails_the_job(kube: Kube) -> None:
    _, job_id = kube.request(WAITING_STEP)
    started_step(kube, job_id)
    kube.double.faults.evict(NAMESPACE, kube.pod_of(job_id))
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert job.reason.startswith("the pod was evicted: The node was low on resource: memory")
    kube.nothing_left()


@pytest.mark.parametrize("kube_overrides", [{"k8s_unschedulable_timeout": "1s"}])
def test_an_unschedulable_pod_fails_the_job_after_the_configured_wait(kube: Kube) -> None:
    kube.double.faults.unschedulable()
    _, job_id = kube.request(QUICK)
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert "could not be scheduled for" in job.reason and "Insufficient memory" in job.reason
    assert kube.danube.views.job(job_id).started_at is None  # type: ignore[union-attr]
    kube.nothing_left()


@pytest.mark.parametrize("kube_overrides", [{"k8s_node_lost_timeout": "1s"}])
def test_a_lost_node_fails_the_job_and_its_pod_is_force_deleted(kube: Kube) -> None:
    _, job_id = kube.request(WAITING_STEP)
    started_step(kube, job_id)
    kube.double.faults.lose_node()
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert "stopped responding" in job.reason and "node lost" in job.reason
    kube.nothing_left()
    deletes = kube.double.requests_matching(verb="delete", resource="pods")
    assert any(r.query.get("gracePeriodSeconds") == ["0"] for r in deletes)


def test_a_terminating_namespace_fails_the_job_clearly(kube: Kube) -> None:
    kube.double.faults.terminate_namespace(NAMESPACE)
    _, job_id = kube.request(QUICK)
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert "403" in job.reason and "being terminated" in job.reason
    kube.nothing_left()


def test_server_errors_and_throttling_are_retried_honouring_retry_after(kube: Kube) -> None:
    faults = kube.double.faults
    faults.fail_next(500, verb="create", resource="pods", times=2)
    faults.fail_next(429, verb="create", resource="secrets", retry_after=1)
    _, job_id = kube.request(QUICK)
    job = kube.finished(job_id)
    assert job.state == "success", kube.log(job_id).decode(errors="replace")
    secrets = kube.double.requests_matching(verb="create", resource="secrets")
    assert [r.status for r in secrets] == [429, 201]
    assert secrets[1].at - secrets[0].at >= 0.95  # Retry-After: 1
    assert [r.status for r in kube.double.requests_matching(verb="create", resource="pods")] == [
        500,
        500,
        201,
    ]
    kube.nothing_left()


def test_unauthorized_fails_the_job_with_a_clear_reason(kube: Kube) -> None:
    kube.double.faults.fail_next(401, verb="create", resource="secrets")
    _, job_id = kube.request(QUICK)
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert "refused the pod adapter's credentials (401 Unauthorized)" in job.reason
    kube.nothing_left()


def test_an_ambiguous_create_is_retried_and_409_with_our_labels_is_success(kube: Kube) -> None:
    kube.double.faults.reset_next(when="after", verb="create", resource="pods")
    _, job_id = kube.request(QUICK)
    job = kube.finished(job_id)
    assert job.state == "success", kube.log(job_id).decode(errors="replace")
    creates = kube.double.requests_matching(verb="create", resource="pods")
    assert [r.status for r in creates] == [0, 409]
    kube.nothing_left()


def test_a_connection_reset_before_the_request_is_retried(kube: Kube) -> None:
    kube.double.faults.reset_next(when="before", verb="create", resource="secrets")
    _, job_id = kube.request(QUICK)
    assert kube.finished(job_id).state == "success"
    kube.nothing_left()


def test_a_pod_of_that_name_that_is_not_the_jobs_fails_it_and_is_left_alone(kube: Kube) -> None:
    run_id = new_run_id()
    job_id = job_id_for(run_id, "main")
    foreign = {
        "metadata": {"name": kube.pod_of(job_id), "labels": {"app": "someone-else"}},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]},
    }
    kube.double.kubelet.auto = False
    CoreV1Api(kube.api_client()).create_namespaced_pod(NAMESPACE, foreign)
    kube.request(QUICK, run_id=run_id)
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert "is not this job's" in job.reason
    kube.double.wait_for(
        lambda: not kube.double.secrets(NAMESPACE), message="the job's Secret to be deleted"
    )
    assert [p["metadata"]["labels"] for p in kube.double.pods(NAMESPACE)] == [
        {"app": "someone-else"}
    ]


def test_a_pod_deleted_outside_danube_fails_the_job(kube: Kube) -> None:
    _, job_id = kube.request(WAITING_STEP)
    started_step(kube, job_id)
    CoreV1Api(kube.api_client()).delete_namespaced_pod(kube.pod_of(job_id), NAMESPACE)
    job = kube.finished(job_id)
    assert (job.state, job.reason) == ("failure", "the pod was deleted outside Danube")
    step = kube.danube.views.steps(job_id)[0]
    assert step.state == "failure" and "deleted outside Danube" in step.reason
    kube.nothing_left()


def test_a_commit_that_cannot_be_checked_out_fails_the_job_with_gits_words(kube: Kube) -> None:
    _, job_id = kube.request(QUICK, commit="0123456789abcdef0123456789abcdef01234567")
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert job.reason.startswith("checkout failed (exit code 128): fatal:"), job.reason
    assert kube.danube.views.steps(job_id) == []
    kube.nothing_left()


def test_throttling_then_a_conflict_with_no_pod_there_creates_the_pod_again(kube: Kube) -> None:
    faults = kube.double.faults
    faults.fail_next(503, verb="create", resource="pods", retry_after=1)
    faults.fail_next(409, verb="create", resource="pods")
    _, job_id = kube.request(QUICK)
    job = kube.finished(job_id)
    assert job.state == "success", kube.log(job_id).decode(errors="replace")
    creates = kube.double.requests_matching(verb="create", resource="pods")
    assert [r.status for r in creates] == [503, 409, 201]
    assert creates[1].at - creates[0].at >= 0.95  # Retry-After: 1
    reads = kube.double.requests_matching(verb="get", resource="pods", name=kube.pod_of(job_id))
    assert [r.status for r in reads][:1] == [404]  # the conflict was checked: no pod there
    kube.nothing_left()


def api_errors() -> float:
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "danube_k8s_api_calls"
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels.get("code") == "error"
    )


def test_a_job_succeeds_through_an_api_server_that_refused_connections_for_a_while(
    kube: Kube, tmp_path: Any
) -> None:
    go = tmp_path / "go"
    _, job_id = kube.request(f"""
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("echo ready; while [ ! -e {go} ]; do sleep 0.05; done; echo done")
            step.run("echo two")
    """)
    started_step(kube, job_id)
    before = api_errors()
    with kube.double.faults.connections_refused():
        wait_until(lambda: api_errors() >= before + 3, timeout=20, what="calls to be refused")
        go.touch()  # the step ends while the adapter cannot see it
    job = kube.finished(job_id)
    assert job.state == "success", kube.log(job_id).decode(errors="replace")
    assert kube.danube.logs.step_bytes(job_id, 1, "stdout") == b"ready\ndone\n"
    assert kube.danube.logs.step_bytes(job_id, 2, "stdout") == b"two\n"
    kube.nothing_left()


def test_the_jobs_secret_is_owned_by_its_pod(kube: Kube) -> None:
    """So the Secret goes with the pod even when no adapter deletes it."""
    run_id, job_id = kube.request(WAITING_STEP)
    started_step(kube, job_id)
    pod = kube.double.pod(NAMESPACE, kube.pod_of(job_id))
    assert pod is not None
    meta = pod["metadata"]
    owner = {"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"]}

    def owners() -> list[Any]:
        secret = kube.double.secret(NAMESPACE, kube.pod_of(job_id)) or {}
        return list((secret.get("metadata") or {}).get("ownerReferences") or [])

    assert wait_until(owners, what="the Secret to get its owner") == [owner]
    kube.danube.runs.cancel_run(run_id, Cause(actor="user:alice"))
    assert kube.finished(job_id).state == "cancelled"
    kube.nothing_left()
