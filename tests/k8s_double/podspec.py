"""Pods on create and update: defaulting, admission (service account token volume,
default tolerations), validation, QoS class, spec immutability."""

from __future__ import annotations

from typing import Any

from .meta import clone, is_label, random_suffix
from .objects import LABEL_DETAIL, cause, invalid_value, prepare_metadata, pull_policy, required
from .status import bad_request, invalid

JsonDict = dict[str, Any]
SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def new_pod(obj: JsonDict, namespace: str) -> JsonDict:
    prepare_metadata("pods", obj, namespace)
    obj["metadata"]["generation"] = 1
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        raise bad_request("spec must be an object")
    validate_pod_spec(obj["metadata"]["name"], spec)
    default_pod_spec(spec)
    obj["status"] = {"phase": "Pending", "qosClass": qos_class(spec)}
    return obj


def default_pod_spec(spec: JsonDict) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    spec["serviceAccount"] = spec["serviceAccountName"]
    volumes = spec.setdefault("volumes", [])
    for volume in volumes:
        if "secret" in volume:
            volume["secret"].setdefault("defaultMode", 0o644)
    if spec.get("automountServiceAccountToken") is not False:
        _add_service_account_volume(spec)
    if not volumes:
        spec.pop("volumes")
    for container in spec.get("initContainers", []) + spec["containers"]:
        _default_container(container)
    tolerations = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key for t in tolerations):
            tolerations.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )


def _default_container(container: JsonDict) -> None:
    container.setdefault("imagePullPolicy", pull_policy(container.get("image", "")))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    resources = container.setdefault("resources", {})
    for group in ("limits", "requests"):
        for key, value in (resources.get(group) or {}).items():
            resources[group][key] = quantity(value)
    for port in container.get("ports", []):
        port.setdefault("protocol", "TCP")
    for env in container.get("env", []):
        field_ref = (env.get("valueFrom") or {}).get("fieldRef")
        if field_ref is not None:
            field_ref.setdefault("apiVersion", "v1")


def _add_service_account_volume(spec: JsonDict) -> None:
    name = f"kube-api-access-{random_suffix()}"
    spec["volumes"].append(
        {
            "name": name,
            "projected": {
                "defaultMode": 0o644,
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {
                        "configMap": {
                            "name": "kube-root-ca.crt",
                            "items": [{"key": "ca.crt", "path": "ca.crt"}],
                        }
                    },
                    {
                        "downwardAPI": {
                            "items": [
                                {
                                    "path": "namespace",
                                    "fieldRef": {
                                        "apiVersion": "v1",
                                        "fieldPath": "metadata.namespace",
                                    },
                                }
                            ]
                        }
                    },
                ],
            },
        }
    )
    for container in spec.get("initContainers", []) + spec.get("containers", []):
        mounts = container.setdefault("volumeMounts", [])
        if not any(m.get("mountPath") == SERVICE_ACCOUNT_MOUNT for m in mounts):
            mounts.append({"name": name, "readOnly": True, "mountPath": SERVICE_ACCOUNT_MOUNT})


def validate_pod_spec(name: str, spec: JsonDict) -> None:
    causes: list[JsonDict] = []
    volumes = spec.get("volumes") or []
    volume_names = [v.get("name") for v in volumes]
    for i, volume_name in enumerate(volume_names):
        if not volume_name or not is_label(volume_name):
            causes.append(
                required(f"spec.volumes[{i}].name")
                if not volume_name
                else invalid_value(f"spec.volumes[{i}].name", volume_name, LABEL_DETAIL)
            )
    if not spec.get("containers"):
        causes.append(required("spec.containers"))
    seen: set[str] = set()
    for group in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(group) or []):
            causes += _container_causes(f"spec.{group}[{i}]", container, seen, volume_names)
    policy = spec.get("restartPolicy")
    if policy is not None and policy not in ("Always", "OnFailure", "Never"):
        causes.append(
            cause(
                "FieldValueNotSupported",
                "spec.restartPolicy",
                f'Unsupported value: "{policy}": supported values: "Always", "OnFailure", "Never"',
            )
        )
    if causes:
        raise invalid("Pod", name, causes)


def _container_causes(
    path: str, container: JsonDict, seen: set[str], volume_names: list[Any]
) -> list[JsonDict]:
    causes = []
    cname = container.get("name")
    if not cname:
        causes.append(required(f"{path}.name"))
    elif not is_label(cname):
        causes.append(invalid_value(f"{path}.name", cname, LABEL_DETAIL))
    elif cname in seen:
        causes.append(cause("FieldValueDuplicate", f"{path}.name", f'Duplicate value: "{cname}"'))
    seen.add(cname or "")
    if not container.get("image"):
        causes.append(required(f"{path}.image"))
    paths: set[str] = set()
    for j, mount in enumerate(container.get("volumeMounts") or []):
        if mount.get("name") not in volume_names:
            causes.append(
                cause(
                    "FieldValueNotFound",
                    f"{path}.volumeMounts[{j}].name",
                    f'Not found: "{mount.get("name")}"',
                )
            )
        mount_path = mount.get("mountPath")
        if not mount_path:
            causes.append(required(f"{path}.volumeMounts[{j}].mountPath"))
        elif mount_path in paths:
            causes.append(
                invalid_value(f"{path}.volumeMounts[{j}].mountPath", mount_path, "must be unique")
            )
        paths.add(mount_path or "")
    return causes


MUTABLE_POD_SPEC = (
    "activeDeadlineSeconds",
    "tolerations",
    "terminationGracePeriodSeconds",
    "schedulingGates",
)


def check_pod_update(old: JsonDict, new: JsonDict) -> None:
    """Pod spec is immutable except images, activeDeadlineSeconds, tolerations."""
    before, after = clone(old["spec"]), clone(new.get("spec") or {})
    for spec in (before, after):
        for key in MUTABLE_POD_SPEC:
            spec.pop(key, None)
        for container in spec.get("initContainers", []) + spec.get("containers", []):
            container.pop("image", None)
    if before != after:
        raise invalid(
            "Pod",
            old["metadata"]["name"],
            [
                cause(
                    "FieldValueForbidden",
                    "spec",
                    "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
                    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
                    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
                    "(allow it to be set to 1 if it was previously negative)",
                )
            ],
        )
    for container in new["spec"].get("initContainers", []) + new["spec"].get("containers", []):
        if not container.get("image"):
            raise invalid("Pod", old["metadata"]["name"], [required("spec.containers[*].image")])


def quantity(value: Any) -> str:
    """The API server serializes quantities as canonical strings (1, 500m, 64Mi)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if float(value).is_integer():
        return str(int(value))
    return f"{round(value * 1000)}m"


def qos_class(spec: JsonDict) -> str:
    containers = spec.get("initContainers", []) + spec.get("containers", [])
    requests_any, guaranteed = False, True
    for container in containers:
        resources = container.get("resources") or {}
        limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
        if limits or requests:
            requests_any = True
        for resource in ("cpu", "memory"):
            limit = limits.get(resource)
            if limit is None or requests.get(resource, limit) != limit:
                guaranteed = False
    if not requests_any:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"
