"""Secrets reach only the pipelines that may read them, masked in every log; artifacts
round-trip with their sha256; bad names are refused."""

from __future__ import annotations

import hashlib
import io
import tarfile

from domain.cause import Cause
from domain.secrets.aggregates import GLOBAL
from tests.integration.execution.conftest import Embedded

ADMIN = Cause(actor="user:admin")
VALUE = "s3cr3t-Value-42"


def test_a_secret_is_readable_and_masked_wherever_it_is_printed(embedded: Embedded) -> None:
    embedded.danube.secrets.set("demo", "DEPLOY_TOKEN", VALUE, ADMIN)
    _, job_id = embedded.request("""
        from danube import pipeline, secrets, step

        @pipeline(name="demo")
        def build() -> None:
            token = secrets.get("DEPLOY_TOKEN")
            print("coordinator sees", token)
            step.run("echo step sees $TOKEN; echo split-$TOKEN-end >&2", env={"TOKEN": token})
            assert token == "s3cr3t-Value-42"
    """)
    job = embedded.finished(job_id)
    assert job.state == "success", embedded.log(job_id).decode(errors="replace")
    log = embedded.log(job_id)
    assert VALUE.encode() not in log
    assert b"step sees ***" in log and b"coordinator sees ***" in log
    assert job.secrets_read == ["DEPLOY_TOKEN"]


def test_the_log_of_events_never_holds_a_secret_value(embedded: Embedded) -> None:
    embedded.danube.secrets.set(GLOBAL, "NPM_TOKEN", VALUE, ADMIN)
    _, job_id = embedded.request("""
        from danube import pipeline, secrets, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("true", env={"TOKEN": secrets.get("NPM_TOKEN")})
    """)
    assert embedded.finished(job_id).state == "success"
    recorder = embedded.danube.store.log.recorder
    for notification in recorder.select_notifications(1, 100_000):
        assert VALUE.encode() not in notification.state, notification.topic


def test_a_pipeline_cannot_read_another_pipelines_secret(embedded: Embedded) -> None:
    embedded.danube.secrets.set("other", "PRIVATE", VALUE, ADMIN)
    _, job_id = embedded.request("""
        from danube import pipeline, secrets

        @pipeline(name="demo")
        def build() -> None:
            secrets.get("PRIVATE")
    """)
    job = embedded.finished(job_id)
    assert job.state == "failure"
    assert b"PRIVATE" in embedded.log(job_id)
    assert job.secrets_read == []


def test_a_removed_secret_can_never_be_decrypted_again(embedded: Embedded) -> None:
    secrets = embedded.danube.secrets
    secrets.set("demo", "OLD", VALUE, ADMIN)
    secrets.set("demo", "OLD", VALUE + "-2", ADMIN)
    assert secrets.find("demo", "OLD") == ("demo", VALUE + "-2")
    secrets.remove("demo", "OLD", ADMIN)
    assert embedded.danube.store.keys.all() == []  # every data key it ever had is gone


def test_artifacts_round_trip_with_their_sha256(embedded: Embedded) -> None:
    _, job_id = embedded.request("""
        from danube import artifacts, pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("mkdir -p dist/sub && printf 'wheel' > dist/app.whl && printf x > dist/sub/y")
            info = artifacts.upload("dist/app.whl")
            assert info.size == 5
            artifacts.upload("dist", name="dist.tar.gz")
    """)
    job = embedded.finished(job_id)
    assert job.state == "success", embedded.log(job_id).decode(errors="replace")
    stored = {a.name: a for a in embedded.danube.views.artifacts(job_id)}
    # The signed provenance joins them once recorded, after the job's end.
    assert set(stored) - {"provenance.json"} == {"app.whl", "dist.tar.gz"}
    with embedded.danube.artifacts.open(job_id.hex, "app.whl") as file:
        content = file.read()
    assert content == b"wheel"
    assert stored["app.whl"].sha256 == hashlib.sha256(b"wheel").hexdigest()
    assert (stored["app.whl"].kind, stored["dist.tar.gz"].kind) == ("file", "directory")
    with embedded.danube.artifacts.open(job_id.hex, "dist.tar.gz") as file:
        archive = file.read()
    assert hashlib.sha256(archive).hexdigest() == stored["dist.tar.gz"].sha256
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        names = set(tar.getnames())
    assert {"dist/app.whl", "dist/sub/y"} <= names or {"app.whl", "sub/y"} <= names


def test_an_artifact_name_that_escapes_is_refused(embedded: Embedded) -> None:
    _, job_id = embedded.request("""
        from danube import artifacts, pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("echo data > f")
            artifacts.upload("f", name="../../etc/evil")
    """)
    job = embedded.finished(job_id)
    assert job.state == "failure"
    assert b"evil" in embedded.log(job_id)
    assert embedded.danube.views.artifacts(job_id) == []
