"""A danubefile runs end to end on "Kubernetes": steps, a secret masked, an artifact."""

from __future__ import annotations

from uuid import UUID

from prometheus_client import REGISTRY

from domain.cause import Cause
from domain.ids import RunId
from tests.integration.kubernetes.conftest import NAMESPACE, Kube
from tests.support import wait_until

ADMIN = Cause(actor="user:admin")
VALUE = "s3cr3t-Value-42"


def test_a_pipeline_with_steps_a_secret_and_an_artifact_succeeds_on_kubernetes(
    any_kube: Kube,
) -> None:
    kube = any_kube
    kube.danube.secrets.set("demo", "DEPLOY_TOKEN", VALUE, ADMIN)
    _, job_id = kube.request("""
        from danube import artifacts, pipeline, secrets, step

        @pipeline(name="demo")
        def build() -> None:
            token = secrets.get("DEPLOY_TOKEN")
            print("coordinator sees", token)
            step.run("echo hello; echo oops >&2", name="hello")
            step.run("echo step sees $TOKEN", env={"TOKEN": token})
            step.run("mkdir -p dist && printf wheel > dist/app.whl && ls /workspace/dist")
            artifacts.upload("dist/app.whl")
    """)
    job = kube.finished(job_id)
    log = kube.log(job_id)
    assert job.state == "success", log.decode(errors="replace")
    assert VALUE.encode() not in log
    assert b"step sees ***" in log and b"coordinator sees ***" in log
    assert b"hello\noops\n" in log
    steps = kube.danube.views.steps(job_id)
    assert [(s.number, s.state, s.exit_code) for s in steps] == [
        (1, "success", 0),
        (2, "success", 0),
        (3, "success", 0),
    ]
    shown = [a.name for a in kube.danube.views.artifacts(job_id)]
    assert [n for n in shown if n != "provenance.json"] == ["app.whl"]  # and it, once signed
    if kube.double is not None:
        creates = kube.double.requests_matching(verb="create", resource="pods")
        assert [r.namespace for r in creates] == [NAMESPACE]
    kube.nothing_left()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_api_calls_and_active_pods_are_measured(kube: Kube) -> None:
    before = {
        "created": sample("danube_k8s_api_calls_total", verb="create", resource="pods", code="201"),
        "throttled": sample(
            "danube_k8s_api_calls_total", verb="create", resource="pods", code="429"
        ),
        "timed": sample(
            "danube_k8s_api_call_duration_seconds_count", verb="create", resource="pods"
        ),
        "execs": sample(
            "danube_k8s_api_calls_total", verb="create", resource="pods/exec", code="101"
        ),
    }
    kube.double.faults.fail_next(429, verb="create", resource="pods", retry_after=0)
    _, job_id = kube.request("""
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("echo ready; sleep 300")
    """)
    kube.printed(job_id, b"ready\n")
    assert sample("danube_k8s_pods_active") == 1
    job = kube.danube.views.job(job_id)
    assert job is not None
    kube.danube.runs.cancel_run(RunId(UUID(job.run_id)), ADMIN)
    assert kube.finished(job_id).state == "cancelled"
    kube.nothing_left()
    wait_until(lambda: sample("danube_k8s_pods_active") == 0, what="no active pod counted")
    after = {
        "created": sample("danube_k8s_api_calls_total", verb="create", resource="pods", code="201"),
        "throttled": sample(
            "danube_k8s_api_calls_total", verb="create", resource="pods", code="429"
        ),
        "timed": sample(
            "danube_k8s_api_call_duration_seconds_count", verb="create", resource="pods"
        ),
        "execs": sample(
            "danube_k8s_api_calls_total", verb="create", resource="pods/exec", code="101"
        ),
    }
    assert after["created"] - before["created"] == 1
    assert after["throttled"] - before["throttled"] == 1
    assert after["timed"] - before["timed"] == 2  # every attempt is timed
    assert after["execs"] - before["execs"] >= 1
