"""Each fault ends the job in the right state with a clear reason, and no pod or Secret
of it is left behind."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import CoreV1Api

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
    wait_until(lambda: b"ready\n" in kube.log(job_id), timeout=20, what="the step to start")


def test_an_image_that_cannot_be_pulled_fails_the_job(kube: Kube) -> None:
    kube.double.faults.image_pull_failure(image="registry.example/missing:1")
    _, job_id = kube.request(QUICK, image="registry.example/missing:1")
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert "worker container (registry.example/missing:1) could not start" in job.reason
    assert "ErrImagePull" in job.reason or "ImagePullBackOff" in job.reason
    kube.no_pods_left()


def test_a_container_config_error_fails_the_job(kube: Kube) -> None:
    kube.double.faults.create_container_config_error(container="coordinator")
    _, job_id = kube.request(QUICK)
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert "coordinator container" in job.reason and "CreateContainerConfigError" in job.reason
    kube.no_pods_left()


def test_a_worker_oom_killed_while_the_coordinator_runs_fails_with_oomkilled(kube: Kube) -> None:
    _, job_id = kube.request(WAITING_STEP)
    started_step(kube, job_id)
    kube.double.faults.oom_kill(NAMESPACE, kube.pod_of(job_id), "worker")
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert "the worker container was OOMKilled (exit code 137)" in job.reason
    step = kube.danube.views.steps(job_id)[0]
    assert step.state in ("failure", "cancelled")
    kube.no_pods_left()


def test_an_evicted_pod_fails_the_job(kube: Kube) -> None:
    _, job_id = kube.request(WAITING_STEP)
    started_step(kube, job_id)
    kube.double.faults.evict(NAMESPACE, kube.pod_of(job_id))
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert job.reason.startswith("the pod was evicted: The node was low on resource: memory")
    kube.no_pods_left()


@pytest.mark.parametrize("kube_overrides", [{"k8s_unschedulable_timeout": "1s"}])
def test_an_unschedulable_pod_fails_the_job_after_the_configured_wait(kube: Kube) -> None:
    kube.double.faults.unschedulable()
    _, job_id = kube.request(QUICK)
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert "could not be scheduled for" in job.reason and "Insufficient memory" in job.reason
    assert kube.danube.views.job(job_id).started_at is None  # type: ignore[union-attr]
    kube.no_pods_left()


@pytest.mark.parametrize("kube_overrides", [{"k8s_node_lost_timeout": "1s"}])
def test_a_lost_node_fails_the_job_and_its_pod_is_force_deleted(kube: Kube) -> None:
    _, job_id = kube.request(WAITING_STEP)
    started_step(kube, job_id)
    kube.double.faults.lose_node()
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert "stopped responding" in job.reason and "node lost" in job.reason
    kube.no_pods_left()
    deletes = kube.double.requests_matching(verb="delete", resource="pods")
    assert any(r.query.get("gracePeriodSeconds") == ["0"] for r in deletes)


def test_a_terminating_namespace_fails_the_job_clearly(kube: Kube) -> None:
    kube.double.faults.terminate_namespace(NAMESPACE)
    _, job_id = kube.request(QUICK)
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert "403" in job.reason and "being terminated" in job.reason
    assert kube.double.pods(NAMESPACE) == []


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
    kube.no_pods_left()


def test_unauthorized_fails_the_job_with_a_clear_reason(kube: Kube) -> None:
    kube.double.faults.fail_next(401, verb="create", resource="secrets")
    _, job_id = kube.request(QUICK)
    job = kube.finished(job_id)
    assert job.state == "failure"
    assert "refused the pod adapter's credentials (401 Unauthorized)" in job.reason
    assert kube.double.pods(NAMESPACE) == []


def test_an_ambiguous_create_is_retried_and_409_with_our_labels_is_success(kube: Kube) -> None:
    kube.double.faults.reset_next(when="after", verb="create", resource="pods")
    _, job_id = kube.request(QUICK)
    job = kube.finished(job_id)
    assert job.state == "success", kube.log(job_id).decode(errors="replace")
    creates = kube.double.requests_matching(verb="create", resource="pods")
    assert [r.status for r in creates] == [0, 409]
    kube.no_pods_left()


def test_a_connection_reset_before_the_request_is_retried(kube: Kube) -> None:
    kube.double.faults.reset_next(when="before", verb="create", resource="secrets")
    _, job_id = kube.request(QUICK)
    assert kube.finished(job_id).state == "success"
    kube.no_pods_left()


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
