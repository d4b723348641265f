"""Signed SLSA provenance: written by the control plane when a job ends, stored as the
job's ``provenance.json``; the envelope is checked here by a DSSE verification written
from the specification (not Danube's), the statement against the SLSA v1 provenance
schema (written below from https://slsa.dev/spec/v1.0/provenance and the in-toto
Statement v1 spec), and ``danube provenance verify`` tells each tampering by its message.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from adapters.sql.store import StoreConfig
from api.bootstrap import build
from api.execution.provenance import provenance_follower
from api.processes import HttpServer
from api.server import create_app
from domain.ids import job_id_for, new_run_id
from domain.runs.application import RunRequest
from domain.runs.entities import Artifact
from domain.runs.states import JobState
from tests.integration.execution.cli_support import cli_for
from tests.integration.execution.conftest import USER, Embedded, settings_for
from tests.support import free_port, http_get, sign_in, wait_until

BUILD = """
    from danube import artifacts, pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        step.run("printf 'built\\\\n' > app.bin", name="compile")
        step.run("mkdir -p dist && echo doc > dist/readme.txt", name="docs")
        artifacts.upload("app.bin")
        artifacts.upload("dist", name="dist.tar.gz")
"""

URI = {"type": "string", "pattern": "^[a-zA-Z][a-zA-Z0-9+.-]*:"}
TIMESTAMP = {
    "type": "string",
    "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$",
}
DIGEST = {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}}
RESOURCE_DESCRIPTOR = {
    "type": "object",
    "properties": {
        "uri": URI,
        "digest": DIGEST,
        "name": {"type": "string"},
        "downloadLocation": URI,
        "mediaType": {"type": "string"},
        "content": {"type": "string"},
        "annotations": {"type": "object"},
    },
    "additionalProperties": False,
    "anyOf": [{"required": ["uri"]}, {"required": ["digest"]}, {"required": ["content"]}],
}
SLSA_V1_STATEMENT = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["_type", "subject", "predicateType", "predicate"],
    "additionalProperties": False,
    "properties": {
        "_type": {"const": "https://in-toto.io/Statement/v1"},
        "subject": {
            "type": "array",
            "items": {
                "allOf": [RESOURCE_DESCRIPTOR, {"required": ["name", "digest"]}],
            },
        },
        "predicateType": {"const": "https://slsa.dev/provenance/v1"},
        "predicate": {
            "type": "object",
            "required": ["buildDefinition", "runDetails"],
            "additionalProperties": False,
            "properties": {
                "buildDefinition": {
                    "type": "object",
                    "required": ["buildType", "externalParameters"],
                    "additionalProperties": False,
                    "properties": {
                        "buildType": URI,
                        "externalParameters": {"type": "object"},
                        "internalParameters": {"type": "object"},
                        "resolvedDependencies": {"type": "array", "items": RESOURCE_DESCRIPTOR},
                    },
                },
                "runDetails": {
                    "type": "object",
                    "required": ["builder"],
                    "additionalProperties": False,
                    "properties": {
                        "builder": {
                            "type": "object",
                            "required": ["id"],
                            "additionalProperties": False,
                            "properties": {
                                "id": URI,
                                "builderDependencies": {
                                    "type": "array",
                                    "items": RESOURCE_DESCRIPTOR,
                                },
                                "version": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                },
                            },
                        },
                        "metadata": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "invocationId": {"type": "string"},
                                "startedOn": TIMESTAMP,
                                "finishedOn": TIMESTAMP,
                            },
                        },
                        "byproducts": {"type": "array", "items": RESOURCE_DESCRIPTOR},
                    },
                },
            },
        },
    },
}


def pae(payload_type: bytes, body: bytes) -> bytes:
    """DSSE v1 PAE, from the protocol text: "DSSEv1" SP LEN(type) SP type SP LEN(body)
    SP body, LEN as ASCII decimal byte count."""
    return b" ".join(
        [b"DSSEv1", str(len(payload_type)).encode(), payload_type, str(len(body)).encode(), body]
    )


def dsse_verify(envelope: dict[str, Any], key: Ed25519PublicKey) -> dict[str, Any]:
    """An independent DSSE verifier: accept if any signature verifies over PAE."""
    assert set(envelope) == {"payload", "payloadType", "signatures"}
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    body = base64.b64decode(envelope["payload"])
    verified = 0
    for signature in envelope["signatures"]:
        assert set(signature) <= {"keyid", "sig"}
        key.verify(base64.b64decode(signature["sig"]), pae(b"application/vnd.in-toto+json", body))
        verified += 1
    assert verified >= 1
    statement: dict[str, Any] = json.loads(body)
    return statement


@pytest.fixture
def base_url(embedded: Embedded) -> Iterator[str]:
    port = free_port()
    embedded.supervisor.add("http", HttpServer(create_app(embedded.danube), "127.0.0.1", port))
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_get(f"{url}/health")[0] == 200, what="the HTTP server")
    sign_in(url, embedded.danube)
    return url


def provenance_of(embedded: Embedded, job_id: Any) -> bytes:
    def stored() -> bool:
        return any(a.name == "provenance.json" for a in embedded.danube.views.artifacts(job_id))

    wait_until(stored, timeout=30, what="the provenance artifact")
    with embedded.danube.artifacts.open(job_id.hex, "provenance.json") as file:
        return file.read()


def test_a_finished_job_has_signed_provenance_that_independent_verifiers_accept(
    embedded: Embedded, base_url: str, tmp_path: Path
) -> None:
    run_id, job_id = embedded.request(BUILD, image="python:3.12-slim")
    job = embedded.finished(job_id)
    assert job.state == "success", embedded.log(job_id).decode(errors="replace")
    envelope = json.loads(provenance_of(embedded, job_id))
    status, pem = http_get(f"{base_url}/api/v1/provenance/public-key")
    assert status == 200
    key = serialization.load_pem_public_key(pem)
    assert isinstance(key, Ed25519PublicKey)

    statement = dsse_verify(envelope, key)
    jsonschema.validate(statement, SLSA_V1_STATEMENT)
    stored = {a.name: a.sha256 for a in embedded.danube.views.artifacts(job_id)}
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    assert subjects == {"app.bin": stored["app.bin"], "dist.tar.gz": stored["dist.tar.gz"]}
    assert subjects["app.bin"] == hashlib.sha256(b"built\n").hexdigest()
    build = statement["predicate"]["buildDefinition"]
    assert build["externalParameters"]["pipeline"] == "demo"
    assert build["externalParameters"]["trigger"] == {"type": "manual"}
    assert build["externalParameters"]["cause"]["actor"] == "user:test"
    run = embedded.danube.runs.get(run_id)
    assert build["resolvedDependencies"] == [
        {
            "uri": f"git+file://{run.repository}@refs/heads/main",
            "digest": {"gitCommit": run.commit_sha},
        }
    ]
    internal = build["internalParameters"]
    assert internal["workerImage"] == "python:3.12-slim"
    assert [(s["name"], s["exitCode"]) for s in internal["steps"]] == [
        ("compile", 0),
        ("docs", 0),
    ]
    details = statement["predicate"]["runDetails"]
    assert details["builder"]["id"] == "http://127.0.0.1:8080/builder"
    assert details["metadata"]["invocationId"] == f"urn:danube:job:{job_id.hex}"


def test_verify_checks_signature_and_digests_and_names_each_tampering(
    embedded: Embedded, tmp_path: Path
) -> None:
    _, job_id = embedded.request(BUILD)
    assert embedded.finished(job_id).state == "success"
    raw = provenance_of(embedded, job_id)
    cli = cli_for(embedded.danube.store.config, tmp_path)
    public = tmp_path / "danube.pub"
    result = cli("keys", "public")
    assert result.returncode == 0, result.stderr
    public.write_text(result.stdout)
    file, artifact = tmp_path / "provenance.json", tmp_path / "app.bin"
    file.write_bytes(raw)
    artifact.write_bytes(b"built\n")

    def verify(*extra: str) -> tuple[int, str]:
        result = cli("provenance", "verify", *extra)
        return result.returncode, result.stdout + result.stderr

    code, out = verify(str(file), "--public-key", str(public), "--artifact", str(artifact))
    assert code == 0, out
    assert "verified" in out and "app.bin: sha256" in out
    code, out = verify("--job", job_id.hex)
    assert code == 0, out
    assert "app.bin" in out and "dist.tar.gz" in out

    artifact.write_bytes(b"built, then changed\n")
    code, out = verify(str(file), "--public-key", str(public), "--artifact", str(artifact))
    assert code == 1 and "artifact app.bin" in out and "the artifact was changed" in out

    envelope = json.loads(raw)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["buildDefinition"]["resolvedDependencies"][0]["digest"] = {
        "gitCommit": "0" * 40
    }
    changed = dict(
        envelope, payload=_b64(json.dumps(statement, sort_keys=True, separators=(",", ":")))
    )
    file.write_text(json.dumps(changed))
    code, out = verify(str(file), "--public-key", str(public))
    assert code == 1 and "the statement was changed after signing" in out

    original = json.loads(base64.b64decode(envelope["payload"]))
    reordered = dict(reversed(list(original.items())))  # same content, keys reordered
    file.write_text(json.dumps(dict(envelope, payload=_b64(json.dumps(reordered)))))
    code, out = verify(str(file), "--public-key", str(public))
    assert code == 1 and "re-serialised after signing" in out

    other = tmp_path / "other.pub"
    other.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    file.write_bytes(raw)
    code, out = verify(str(file), "--public-key", str(other))
    assert code == 1 and "not by the given key" in out

    file.write_text(json.dumps(dict(envelope, payloadType="application/json")))
    code, out = verify(str(file), "--public-key", str(public))
    assert code == 1 and "payloadType was changed" in out

    file.write_text("{not json")
    code, out = verify(str(file), "--public-key", str(public))
    assert code == 1 and "not a DSSE envelope" in out


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_a_job_without_artifacts_gets_no_provenance(embedded: Embedded, tmp_path: Path) -> None:
    _, with_nothing = embedded.request("""
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("true")
    """)
    assert embedded.finished(with_nothing).state == "success"
    _, with_artifact = embedded.request(BUILD)
    provenance_of(embedded, with_artifact)  # followed in order: the first job is done
    assert embedded.danube.views.artifacts(with_nothing) == []
    result = cli_for(embedded.danube.store.config, tmp_path)(
        "provenance", "verify", "--job", with_nothing.hex
    )
    assert result.returncode == 1
    assert "is not stored (yet)" in result.stderr


def test_a_job_that_ended_while_no_follower_ran_gets_its_provenance_on_start(
    store_config: StoreConfig, tmp_path: Path
) -> None:
    danube = build(settings_for(store_config, tmp_path / "data"))
    try:
        provenance_follower(danube)  # an earlier start: follows from here on
        run_id = new_run_id()
        job_id = job_id_for(run_id, "main")
        request = RunRequest(run_id, "demo", "https://git.example/demo.git", "refs/heads/main",
                             "c" * 40, {"type": "manual"})  # fmt: skip
        danube.runs.request_run(request, USER)
        danube.runs.schedule_job(run_id, job_id, USER)
        danube.runs.start_job(run_id, job_id, USER)
        with danube.artifacts.begin(job_id.hex, "app.bin") as upload:
            upload.write(b"built\n")
            size, sha256 = upload.commit()
        danube.runs.record_artifact(run_id, job_id, Artifact("app.bin", "file", size, sha256))
        danube.runs.finish_job(run_id, job_id, JobState.SUCCESS, "", USER)

        follower = provenance_follower(danube)  # started again: catches up
        follower.catch_up()
        envelope = json.loads(danube.artifacts.open(job_id.hex, "provenance.json").read())
        statement = json.loads(base64.b64decode(envelope["payload"]))
        assert statement["subject"] == [{"name": "app.bin", "digest": {"sha256": sha256}}]
        position = danube.store.log.position()
        provenance_follower(danube).catch_up()
        assert danube.store.log.position() == position, "written once"
    finally:
        danube.close()
