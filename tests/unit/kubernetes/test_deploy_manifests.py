"""``deploy/``: the pod adapter may do what it does to job pods, and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "base"  # the kustomize base


def documents() -> list[dict[str, Any]]:
    return [d for f in sorted(DEPLOY.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text())]


def find(kind: str, name: str) -> dict[str, Any]:
    return next(d for d in documents() if d["kind"] == kind and d["metadata"]["name"] == name)


def test_the_pod_adapter_role_covers_its_calls_in_the_jobs_namespace_only() -> None:
    role = find("Role", "danube-pod-adapter")
    assert role["metadata"]["namespace"] == "danube-jobs"
    granted = {(r, v) for rule in role["rules"] for r in rule["resources"] for v in rule["verbs"]}
    used = {
        ("pods", "list"), ("pods", "watch"), ("pods", "get"), ("pods", "create"),
        ("pods", "delete"), ("pods/exec", "create"), ("pods/exec", "get"), ("pods/log", "get"),
        ("secrets", "create"), ("secrets", "get"), ("secrets", "list"), ("secrets", "patch"),
        ("secrets", "delete"),
    }  # fmt: skip
    assert granted == used
    assert not any(d["kind"] in ("ClusterRole", "ClusterRoleBinding") for d in documents())


def test_only_the_pod_adapter_gets_a_token_for_the_api() -> None:
    adapter = find("Deployment", "danube-pod-adapter")["spec"]["template"]["spec"]
    assert adapter["serviceAccountName"] == "danube-pod-adapter"
    assert find("ServiceAccount", "danube")["automountServiceAccountToken"] is False
    for name in ("danube-server", "danube-projector", "danube-dispatcher"):
        assert (
            find("Deployment", name)["spec"]["template"]["spec"]["serviceAccountName"] == "danube"
        )


def test_job_pods_are_admitted_only_under_pod_security_restricted() -> None:
    labels = find("Namespace", "danube-jobs")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_pods_dial_the_servers_grpc_service() -> None:
    config = find("ConfigMap", "danube")["data"]
    service = find("Service", "danube-grpc")  # the gRPC Service job pods dial
    host, _, port = config["DANUBE_K8S_MASTER_ADDRESS"].rpartition(":")
    assert host.startswith(f"{service['metadata']['name']}.{service['metadata']['namespace']}")
    assert int(port) in {p["port"] for p in service["spec"]["ports"]}
