"""deploy/ renders with ``kubectl kustomize`` and every object is valid for the stated
Kubernetes version; and what an operator relies on is in it (replicas, probes, Pod
Security, the pod adapter's narrow Role, the registry, the job pods' network policy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.deploy.render import DEPLOY, KUBERNETES_VERSIONS, by_kind, invalid, render

KUSTOMIZATIONS = sorted(path.parent for path in DEPLOY.rglob("kustomization.yaml"))
ROLES = ("danube-projector", "danube-dispatcher", "danube-scheduler", "danube-pod-adapter")


@pytest.fixture(scope="module")
def default() -> list[dict[str, Any]]:
    return render(DEPLOY)


def pod_specs(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        obj["metadata"]["name"]: obj["spec"]["template"]["spec"]
        for obj in objects
        if obj["kind"] in {"Deployment", "StatefulSet"}
    }


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_kustomization_renders_and_every_object_is_valid(directory: Path) -> None:
    objects = render(directory)
    assert objects
    assert invalid(objects) == []


def test_a_misspelt_field_is_caught_by_the_validation(default: list[dict[str, Any]]) -> None:
    service = dict(by_kind(default, "Service")["registry"])
    service["spec"] = {**service["spec"], "selectr": {"app": "x"}}
    assert invalid([service]) == [
        f"Service/registry: spec: Additional properties are not allowed ('selectr' was "
        f"unexpected) (Kubernetes {version})"
        for version in KUBERNETES_VERSIONS
    ]


def test_the_external_db_overlay_runs_no_database_and_the_default_does() -> None:
    with_db = {(o["kind"], o["metadata"]["name"]) for o in render(DEPLOY)}
    external = {(o["kind"], o["metadata"]["name"]) for o in render(DEPLOY / "overlays/external-db")}
    assert ("StatefulSet", "danube-postgres") in with_db
    assert with_db - external == {
        ("StatefulSet", "danube-postgres"),
        ("Service", "danube-postgres"),
    }


def test_each_role_runs_two_replicas_and_the_scheduler_runs_danube_scheduler(
    default: list[dict[str, Any]],
) -> None:
    deployments = by_kind(default, "Deployment")
    for role in (*ROLES, "danube-server"):
        assert deployments[role]["spec"]["replicas"] == 2, role
    scheduler = deployments["danube-scheduler"]["spec"]["template"]["spec"]["containers"][0]
    assert scheduler["command"] == ["danube", "scheduler"]


def test_only_the_roles_that_open_secrets_mount_the_master_key(
    default: list[dict[str, Any]],
) -> None:
    """The projector and the dispatcher (``build_core``) and the scheduler
    (``build_scheduler``) never read the master key: a compromise of any of them must not
    hand out every secret and job token."""

    def mounts_the_key(spec: dict[str, Any]) -> bool:
        volumes = spec.get("volumes", [])
        return any(v.get("secret", {}).get("secretName") == "danube-master-key" for v in volumes)

    specs = pod_specs(default)
    mounting = {name for name, spec in specs.items() if mounts_the_key(spec)}
    assert mounting == {"danube-server", "danube-pod-adapter"}


def test_the_server_is_probed_on_health_and_kept_up_through_disruptions(
    default: list[dict[str, Any]],
) -> None:
    server = by_kind(default, "Deployment")["danube-server"]["spec"]["template"]["spec"]
    main = server["containers"][0]
    assert main["livenessProbe"]["httpGet"]["path"] == "/health"
    assert main["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    services = by_kind(default, "Service")
    assert [p["port"] for p in services["danube-server"]["spec"]["ports"]] == [8080]
    assert [p["port"] for p in services["danube-grpc"]["spec"]["ports"]] == [9000]
    config = by_kind(default, "ConfigMap")["danube"]["data"]
    assert config["DANUBE_K8S_MASTER_ADDRESS"] == "danube-grpc.danube-system.svc:9000"
    pdb = by_kind(default, "PodDisruptionBudget")["danube-server"]["spec"]
    assert pdb["minAvailable"] == 1
    assert pdb["selector"]["matchLabels"] == {"app.kubernetes.io/name": "danube-server"}


def test_every_pod_admits_under_pod_security_restricted_with_resources(
    default: list[dict[str, Any]],
) -> None:
    namespaces = by_kind(default, "Namespace")
    for name in ("danube-system", "danube-jobs"):
        labels = namespaces[name]["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    for name, spec in pod_specs(default).items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in containers(spec):
            where = f"{name}/{container['name']}"
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, where
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], where
            assert container["resources"]["requests"], where
            assert container["resources"]["limits"]["memory"], where


def test_the_pod_adapter_may_touch_only_pods_exec_logs_and_secrets_of_the_jobs_namespace(
    default: list[dict[str, Any]],
) -> None:
    roles = by_kind(default, "Role")
    assert list(roles) == ["danube-pod-adapter"]
    role = roles["danube-pod-adapter"]
    assert role["metadata"]["namespace"] == "danube-jobs"
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert resources == {"pods", "pods/exec", "pods/log", "secrets"}
    assert {g for rule in role["rules"] for g in rule["apiGroups"]} == {""}
    assert by_kind(default, "ClusterRole") == {}
    binding = by_kind(default, "RoleBinding")["danube-pod-adapter"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "danube-pod-adapter", "namespace": "danube-system"}
    ]
    specs = pod_specs(default)
    assert specs["danube-pod-adapter"]["serviceAccountName"] == "danube-pod-adapter"
    # every other Danube pod runs without a Kubernetes API token
    assert by_kind(default, "ServiceAccount")["danube"]["automountServiceAccountToken"] is False
    for name, spec in specs.items():
        if name != "danube-pod-adapter":
            assert spec.get("serviceAccountName", "danube") == "danube" or not spec.get(
                "automountServiceAccountToken", True
            ), name


def test_the_registry_answers_as_registry_danube_system_5000_with_deletion_enabled(
    default: list[dict[str, Any]],
) -> None:
    service = by_kind(default, "Service")["registry"]
    assert service["metadata"]["namespace"] == "danube-system"
    assert service["spec"]["type"] == "ClusterIP"
    assert [p["port"] for p in service["spec"]["ports"]] == [5000]
    spec = pod_specs(default)["registry"]
    registry = spec["containers"][0]
    assert registry["image"].startswith("registry:2")
    env = {e["name"]: e["value"] for e in registry["env"]}
    assert env["REGISTRY_STORAGE_DELETE_ENABLED"] == "true"
    (mount,) = [m for m in registry["volumeMounts"] if m["mountPath"] == "/var/lib/registry"]
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    claim = volume["persistentVolumeClaim"]["claimName"]
    assert claim in by_kind(default, "PersistentVolumeClaim")


def test_job_pods_accept_no_ingress_and_reach_only_grpc_dns_and_the_registry(
    default: list[dict[str, Any]],
) -> None:
    policies = [p for p in by_kind(default, "NetworkPolicy").values()]
    assert {p["metadata"]["namespace"] for p in policies} == {"danube-jobs"}
    ingress = [p for p in policies if "Ingress" in p["spec"]["policyTypes"]]
    assert ingress and all(
        p["spec"]["podSelector"] == {} and not p["spec"].get("ingress") for p in ingress
    )
    (egress,) = [p for p in policies if "Egress" in p["spec"]["policyTypes"]]
    assert egress["spec"]["podSelector"] == {}
    reached = set()
    for rule in egress["spec"]["egress"]:
        (peer,) = rule["to"]
        app = peer["podSelector"]["matchLabels"]
        namespace = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for port in rule["ports"]:
            reached.add((namespace, *app.values(), port["protocol"], port["port"]))
    assert reached == {
        ("danube-system", "danube-server", "TCP", 9000),
        ("kube-system", "kube-dns", "UDP", 53),
        ("kube-system", "kube-dns", "TCP", 53),
        ("danube-system", "registry", "TCP", 5000),
    }
    server = pod_specs(default)["danube-server"]["containers"][0]
    assert {"name": "grpc", "containerPort": 9000} in server["ports"]


def test_postgres_keeps_its_data_on_a_volume_claim(default: list[dict[str, Any]]) -> None:
    postgres = by_kind(default, "StatefulSet")["danube-postgres"]
    (claim,) = postgres["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    mounts = postgres["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "data", "mountPath": "/var/lib/postgresql/data"} in mounts
