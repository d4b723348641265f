"""What the API server does to an object on create and update: defaulting, admission
(service account token volume, default tolerations) and validation."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from .meta import clone, is_label, is_subdomain, new_uid, random_suffix, rfc3339
from .status import ApiError, bad_request, invalid

JsonDict = dict[str, Any]

SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
KINDS = {"pods": "Pod", "secrets": "Secret", "namespaces": "Namespace", "events": "Event"}
_IMAGE = re.compile(
    r"^(?:(?P<host>[a-zA-Z0-9.-]+(?::[0-9]+)?)/)?(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def _cause(kind: str, field: str, message: str) -> JsonDict:
    return {"reason": kind, "message": message, "field": field}


def required(field: str) -> JsonDict:
    return _cause("FieldValueRequired", field, "Required value")


def invalid_value(field: str, value: Any, detail: str) -> JsonDict:
    return _cause("FieldValueInvalid", field, f'Invalid value: "{value}": {detail}')


LABEL_DETAIL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                "or '-', and must start and end with an alphanumeric character")
SUBDOMAIN_DETAIL = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                    "characters, '-' or '.', and must start and end with an alphanumeric character")


# images ---------------------------------------------------------------------------

def image_is_valid(image: str) -> bool:
    return bool(image) and bool(_IMAGE.match(image))


def normalize_image(image: str) -> str:
    """docker.io/library/busybox:latest for busybox, as the runtime reports it."""
    m = _IMAGE.match(image)
    if not m:
        return image
    host, path, tag, digest = m.group("host"), m.group("path"), m.group("tag"), m.group("digest")
    if host is None or ("." not in host and ":" not in host and host != "localhost"):
        path = f"{host}/{path}" if host else path
        host = "docker.io"
        if "/" not in path:
            path = f"library/{path}"
    if digest:
        return f"{host}/{path}@{digest}"
    return f"{host}/{path}:{tag or 'latest'}"


def pull_policy(image: str) -> str:
    m = _IMAGE.match(image)
    if m and (m.group("digest") or (m.group("tag") and m.group("tag") != "latest")):
        return "IfNotPresent"
    return "Always"


# metadata -------------------------------------------------------------------------

def prepare_metadata(resource: str, obj: JsonDict, namespace: str | None) -> JsonDict:
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise bad_request("metadata must be an object")
    if namespace is not None:
        if meta.get("namespace") not in (None, "", namespace):
            raise bad_request("the namespace of the provided object does not match the "
                              "namespace sent on the request")
        meta["namespace"] = namespace
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = meta["generateName"] + random_suffix()
    name = meta.get("name") or ""
    kind = KINDS[resource]
    if not name:
        raise invalid(kind, "", [_cause("FieldValueRequired", "metadata.name",
                                        "Required value: name or generateName is required")])
    valid = is_label(name) if resource == "namespaces" else is_subdomain(name)
    if not valid:
        detail = LABEL_DETAIL if resource == "namespaces" else SUBDOMAIN_DETAIL
        raise invalid(kind, name, [invalid_value("metadata.name", name, detail)])
    for system_field in ("uid", "resourceVersion", "deletionTimestamp",
                         "deletionGracePeriodSeconds", "selfLink"):
        meta.pop(system_field, None)
    meta["uid"] = new_uid()
    meta["creationTimestamp"] = rfc3339()
    obj["kind"] = kind
    obj["apiVersion"] = "v1"
    return obj


# namespaces and secrets ---------------------------------------------------------

def new_namespace(obj: JsonDict) -> JsonDict:
    prepare_metadata("namespaces", obj, None)
    name = obj["metadata"]["name"]
    labels = obj["metadata"].setdefault("labels", {})
    labels["kubernetes.io/metadata.name"] = name
    obj["spec"] = {"finalizers": ["kubernetes"]}
    obj["status"] = {"phase": "Active"}
    return obj


def new_secret(obj: JsonDict, namespace: str) -> JsonDict:
    prepare_metadata("secrets", obj, namespace)
    obj.setdefault("type", "Opaque")
    normalize_secret_data(obj)
    return obj


def normalize_secret_data(obj: JsonDict) -> None:
    data = dict(obj.get("data") or {})
    for key, value in (obj.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(str(value).encode("utf-8")).decode("ascii")
    name = obj["metadata"]["name"]
    for key, value in data.items():
        if not _SECRET_KEY.match(key):
            raise invalid("Secret", name, [invalid_value(f"data[{key}]", key,
                          "a valid config key must consist of alphanumeric characters, "
                          "'-', '_' or '.'")])
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise bad_request(f'Secret in version "v1" cannot be handled as a Secret: illegal '
                              f"base64 data at input byte 0 (key {key})") from None
    if data:
        obj["data"] = data


def check_secret_update(old: JsonDict, new: JsonDict) -> None:
    normalize_secret_data(new)
    if old.get("immutable") and (new.get("data") != old.get("data") or not new.get("immutable")):
        raise invalid("Secret", old["metadata"]["name"], [_cause(
            "FieldValueForbidden", "data",
            "Forbidden: field is immutable when `immutable` is set")])
    if new.get("type") != old.get("type"):
        raise invalid("Secret", old["metadata"]["name"], [_cause(
            "FieldValueInvalid", "type",
            f'Invalid value: "{new.get("type")}": field is immutable')])


# pods -----------------------------------------------------------------------------

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
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": 300})


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
    spec["volumes"].append({
        "name": name,
        "projected": {
            "defaultMode": 0o644,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt",
                               "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                    "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        },
    })
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
            causes.append(required(f"spec.volumes[{i}].name") if not volume_name else
                          invalid_value(f"spec.volumes[{i}].name", volume_name, LABEL_DETAIL))
    if not spec.get("containers"):
        causes.append(required("spec.containers"))
    seen: set[str] = set()
    for group in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(group) or []):
            causes += _container_causes(f"spec.{group}[{i}]", container, seen, volume_names)
    policy = spec.get("restartPolicy")
    if policy is not None and policy not in ("Always", "OnFailure", "Never"):
        causes.append(_cause("FieldValueNotSupported", "spec.restartPolicy",
                             f'Unsupported value: "{policy}": supported values: "Always", '
                             '"OnFailure", "Never"'))
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
        causes.append(_cause("FieldValueDuplicate", f"{path}.name", f'Duplicate value: "{cname}"'))
    seen.add(cname or "")
    if not container.get("image"):
        causes.append(required(f"{path}.image"))
    paths: set[str] = set()
    for j, mount in enumerate(container.get("volumeMounts") or []):
        if mount.get("name") not in volume_names:
            causes.append(_cause("FieldValueNotFound", f"{path}.volumeMounts[{j}].name",
                                 f'Not found: "{mount.get("name")}"'))
        mount_path = mount.get("mountPath")
        if not mount_path:
            causes.append(required(f"{path}.volumeMounts[{j}].mountPath"))
        elif mount_path in paths:
            causes.append(invalid_value(f"{path}.volumeMounts[{j}].mountPath", mount_path,
                                        "must be unique"))
        paths.add(mount_path or "")
    return causes


MUTABLE_POD_SPEC = ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds",
                    "schedulingGates")


def check_pod_update(old: JsonDict, new: JsonDict) -> None:
    """Pod spec is immutable except images, activeDeadlineSeconds, tolerations."""
    before, after = clone(old["spec"]), clone(new.get("spec") or {})
    for spec in (before, after):
        for key in MUTABLE_POD_SPEC:
            spec.pop(key, None)
        for container in spec.get("initContainers", []) + spec.get("containers", []):
            container.pop("image", None)
    if before != after:
        raise invalid("Pod", old["metadata"]["name"], [_cause(
            "FieldValueForbidden", "spec",
            "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
            "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
            "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
            "(allow it to be set to 1 if it was previously negative)")])
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


def strip_for_update(new: JsonDict, old: JsonDict) -> JsonDict:
    """Fields a client may not change through the main resource keep their old values."""
    meta, old_meta = new.setdefault("metadata", {}), old["metadata"]
    for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                "namespace", "generation"):
        if key in old_meta:
            meta[key] = old_meta[key]
        else:
            meta.pop(key, None)
    new["kind"], new["apiVersion"] = old["kind"], old["apiVersion"]
    if "status" in old:
        new["status"] = clone(old["status"])
    return new


def check_name(new: JsonDict, name: str) -> None:
    given = (new.get("metadata") or {}).get("name")
    if given not in (None, name):
        raise ApiError(bad_request(f"the name of the object ({given}) does not match the name "
                                   f"on the URL ({name})").status)
