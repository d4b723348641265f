"""The job pod and its Secret, built by pure functions: tables of what they must say."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import replace
from typing import Any

import pytest

from adapters.kubernetes.pods import (
    PodTemplate,
    job_id_of,
    label_value,
    owner_patch,
    pod_manifest,
    pod_name,
    secret_manifest,
    strip_credentials,
    worker_resources,
)
from domain.execution.ports import JobLaunch
from domain.ids import JobId, RunId

JOB = JobId(uuid.UUID("0b6f3a3e-5f4c-5d7e-9a3b-2f1c0d9e8a7b"))
RUN = RunId(uuid.UUID("11111111-2222-4333-8444-555555555555"))
TOKEN = "job-token-Zm9vYmFy-very-secret"
PASSWORD = "hunter2-repo-password"
TEMPLATE = PodTemplate(namespace="ci-jobs", coordinator_image="danube:1.0")


def launch(**changes: Any) -> JobLaunch:
    values: dict[str, Any] = {
        "job_id": JOB,
        "run_id": RUN,
        "pipeline": "web/app",
        "repository": f"https://ci:{PASSWORD}@git.example.com/web/app.git",
        "commit_sha": "a" * 40,
        "ref": "refs/heads/main",
        "token": TOKEN,
        "env": {
            "DANUBE_MASTER_ADDRESS": "danube-grpc:9000",
            "DANUBE_REPO": f"https://ci:{PASSWORD}@git.example.com/web/app.git",
            "DANUBE_TRIGGER_REF": "refs/heads/$(HOME)",
        },
        "image": "node:22",
        "max_duration_seconds": 600,
        "workspace_size_gb": 5,
    }
    return JobLaunch(**(values | changes))


def containers(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = pod["spec"]
    return {c["name"]: c for c in spec["initContainers"] + spec["containers"]}


def env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["env"]}


def test_names_are_derived_from_the_job_id_alone() -> None:
    pod = pod_manifest(launch(), TEMPLATE)
    assert pod["metadata"]["name"] == pod_name(JOB) == f"danube-job-{JOB.hex}"
    assert len(pod["metadata"]["name"]) <= 63
    assert pod_manifest(launch(image="other"), TEMPLATE)["metadata"]["name"] == pod_name(JOB)
    assert secret_manifest(launch(), TEMPLATE)["metadata"]["name"] == pod_name(JOB)
    assert pod["metadata"]["namespace"] == "ci-jobs"


def test_labels_name_pipeline_run_job_and_manager() -> None:
    labels = pod_manifest(launch(), TEMPLATE)["metadata"]["labels"]
    assert labels == {
        "app.kubernetes.io/managed-by": "danube",
        "danube.dev/pipeline": "web-app",
        "danube.dev/run": str(RUN),
        "danube.dev/job": str(JOB),
    }
    assert job_id_of({"metadata": {"labels": labels}}) == JOB
    assert secret_manifest(launch(), TEMPLATE)["metadata"]["labels"] == labels


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("demo", "demo"),
        ("web/app", "web-app"),
        ("-leading and trailing-", "leading-and-trailing"),
        ("x" * 80, "x" * 63),
        ("ünïcode", "n-code"),
        ("///", "unnamed"),
    ],
)
def test_label_values_are_valid_whatever_the_pipeline_is_called(name: str, value: str) -> None:
    assert label_value(name) == value


def test_the_pod_runs_once_checkout_coordinator_and_an_idle_worker() -> None:
    pod = pod_manifest(launch(), TEMPLATE)
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never"
    assert [c["name"] for c in spec["initContainers"]] == ["checkout"]
    assert [c["name"] for c in spec["containers"]] == ["coordinator", "worker"]
    by_name = containers(pod)
    assert by_name["checkout"]["image"] == "danube:1.0"  # the coordinator's image has git
    assert by_name["coordinator"]["image"] == "danube:1.0"
    assert by_name["coordinator"]["command"] == ["python3", "-m", "danube.coordinator"]
    assert by_name["worker"]["image"] == "node:22"
    assert by_name["worker"]["command"][:2] == ["/bin/sh", "-c"]
    assert spec["activeDeadlineSeconds"] == 600 + TEMPLATE.start_budget_seconds
    assert spec["automountServiceAccountToken"] is False


def test_a_pipeline_without_an_image_gets_the_default_worker_image() -> None:
    worker = containers(pod_manifest(launch(image=""), TEMPLATE))["worker"]
    assert worker["image"] == "python:3.12-slim"


def test_everything_runs_non_root_without_privileges_for_pod_security_restricted() -> None:
    pod = pod_manifest(launch(), TEMPLATE)
    assert pod["spec"]["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "runAsGroup": 1000,
        "fsGroup": 1000,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    for container in containers(pod).values():
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["privileged"] is False
        assert context["runAsNonRoot"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert "ports" not in container
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert all(set(v) & {"emptyDir", "secret"} for v in volumes.values())  # no hostPath


@pytest.mark.parametrize(
    ("given", "requests", "limits"),
    [
        ({}, {"cpu": "500m", "memory": "1Gi"}, {"cpu": "2", "memory": "4Gi"}),
        (
            {"cpu_request": "1", "memory_limit": "8Gi"},
            {"cpu": "1", "memory": "1Gi"},
            {"cpu": "2", "memory": "8Gi"},
        ),
        (
            {
                "cpu_request": "250m",
                "memory_request": "512Mi",
                "cpu_limit": "1",
                "memory_limit": "1Gi",
            },
            {"cpu": "250m", "memory": "512Mi"},
            {"cpu": "1", "memory": "1Gi"},
        ),
        (
            {"cpu_limit": "", "unknown": "9"},
            {"cpu": "500m", "memory": "1Gi"},
            {"cpu": "2", "memory": "4Gi"},
        ),
    ],
)
def test_worker_resources_are_the_pipelines_over_the_defaults(
    given: dict[str, str], requests: dict[str, str], limits: dict[str, str]
) -> None:
    assert worker_resources(given) == {"requests": requests, "limits": limits}
    worker = containers(pod_manifest(launch(resources=given), TEMPLATE))["worker"]
    assert worker["resources"] == {"requests": requests, "limits": limits}


@pytest.mark.parametrize(("size", "limit"), [(5, "5Gi"), (1, "1Gi"), (0, "1Gi"), (200, "200Gi")])
def test_the_workspace_is_an_empty_dir_sized_by_the_pipeline(size: int, limit: str) -> None:
    pod = pod_manifest(launch(workspace_size_gb=size), TEMPLATE)
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["workspace"] == {"name": "workspace", "emptyDir": {"sizeLimit": limit}}
    for container in containers(pod).values():
        assert {"name": "workspace", "mountPath": "/workspace"} in container["volumeMounts"]
        assert container["workingDir"] == "/workspace"


def test_step_files_have_a_volume_of_their_own_with_its_own_size_limit() -> None:
    pod = pod_manifest(launch(workspace_size_gb=50), replace(TEMPLATE, control_size="300Mi"))
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["control"] == {"name": "control", "emptyDir": {"sizeLimit": "300Mi"}}
    assert volumes["home"] == {"name": "home", "emptyDir": {"sizeLimit": "50Gi"}}
    worker = containers(pod)["worker"]
    assert {"name": "control", "mountPath": "/danube"} in worker["volumeMounts"]
    assert {"name": "home", "mountPath": "/home/danube"} in worker["volumeMounts"]
    assert env(worker)["HOME"] == "/home/danube"  # tool caches do not fill the control volume
    for name in ("checkout", "coordinator"):
        assert all(m["name"] in {"workspace", "job-secret", "checkout-secret"} for m in
                   containers(pod)[name]["volumeMounts"])  # fmt: skip


def test_no_secret_value_is_anywhere_in_the_pod_manifest() -> None:
    text = json.dumps(pod_manifest(launch(), TEMPLATE))
    assert TOKEN not in text
    assert PASSWORD not in text
    assert base64.b64encode(TOKEN.encode()).decode() not in text
    coordinator = env(containers(pod_manifest(launch(), TEMPLATE))["coordinator"])
    assert coordinator["DANUBE_REPO"] == "https://git.example.com/web/app.git"
    assert "DANUBE_JOB_TOKEN" not in coordinator


def test_a_token_passed_in_the_environment_by_mistake_is_dropped() -> None:
    leaky = launch(env={"DANUBE_JOB_TOKEN": TOKEN, "SOMETHING": TOKEN, "KEEP": "me"})
    coordinator = env(containers(pod_manifest(leaky, TEMPLATE))["coordinator"])
    assert TOKEN not in json.dumps(coordinator) and coordinator["KEEP"] == "me"


def test_the_token_reaches_the_coordinator_only_as_a_file_from_the_jobs_secret() -> None:
    pod = pod_manifest(launch(), TEMPLATE)
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["job-secret"]["secret"]["secretName"] == pod_name(JOB)
    by_name = containers(pod)
    coordinator = by_name["coordinator"]
    assert env(coordinator)["DANUBE_JOB_TOKEN_FILE"] == "/var/run/danube/job/token"
    mount = next(m for m in coordinator["volumeMounts"] if m["name"] == "job-secret")
    assert mount == {"name": "job-secret", "mountPath": "/var/run/danube/job", "readOnly": True}
    assert not any(m["name"] == "job-secret" for m in by_name["worker"]["volumeMounts"])
    for container in by_name.values():
        assert all("valueFrom" not in e for e in container["env"])


def test_the_secret_holds_the_token_and_the_repository_url() -> None:
    secret = secret_manifest(launch(), TEMPLATE)
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data == {"token": TOKEN, "repository": launch().repository}
    assert secret["type"] == "Opaque" and secret["metadata"]["namespace"] == "ci-jobs"


def test_the_pod_is_made_the_owner_of_its_secret() -> None:
    pod = {"metadata": {"name": pod_name(JOB), "uid": "u-1"}}
    assert owner_patch(pod) == {
        "metadata": {
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Pod", "name": pod_name(JOB), "uid": "u-1"}
            ]
        }
    }


def test_kubernetes_variable_references_are_escaped_in_commands_and_values() -> None:
    by_name = containers(pod_manifest(launch(), TEMPLATE))
    assert env(by_name["coordinator"])["DANUBE_TRIGGER_REF"] == "refs/heads/$$(HOME)"
    assert all("$" not in word.replace("$$", "") for word in by_name["checkout"]["command"])


@pytest.mark.parametrize(
    ("url", "stripped"),
    [
        ("https://u:p@host/r.git", "https://host/r.git"),
        ("https://token@host/r.git", "https://host/r.git"),
        ("https://host/r.git", "https://host/r.git"),
        ("git@host:r.git", "git@host:r.git"),
        ("ssh://git@host/r.git", "ssh://git@host/r.git"),
        ("ssh://git:pw@host/r.git", "ssh://host/r.git"),
        ("/srv/git/r", "/srv/git/r"),
    ],
)
def test_credentials_are_stripped_from_repository_urls(url: str, stripped: str) -> None:
    assert strip_credentials(url) == stripped
