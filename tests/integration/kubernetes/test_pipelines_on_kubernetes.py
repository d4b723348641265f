"""A danubefile runs end to end on "Kubernetes": steps, a secret masked, an artifact."""

from __future__ import annotations

from domain.cause import Cause
from tests.integration.kubernetes.conftest import NAMESPACE, Kube

ADMIN = Cause(actor="user:admin")
VALUE = "s3cr3t-Value-42"


def test_a_pipeline_with_steps_a_secret_and_an_artifact_succeeds_on_kubernetes(kube: Kube) -> None:
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
    assert [a.name for a in kube.danube.views.artifacts(job_id)] == ["app.whl"]
    creates = kube.double.requests_matching(verb="create", resource="pods")
    assert [r.namespace for r in creates] == [NAMESPACE]
    kube.no_pods_left()
