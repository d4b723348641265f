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

KINDS = {"pods": "Pod", "secrets": "Secret", "namespaces": "Namespace", "events": "Event"}
_IMAGE = re.compile(
    r"^(?:(?P<host>[a-zA-Z0-9.-]+(?::[0-9]+)?)/)?(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def cause(kind: str, field: str, message: str) -> JsonDict:
    return {"reason": kind, "message": message, "field": field}


def required(field: str) -> JsonDict:
    return cause("FieldValueRequired", field, "Required value")


def invalid_value(field: str, value: Any, detail: str) -> JsonDict:
    return cause("FieldValueInvalid", field, f'Invalid value: "{value}": {detail}')


LABEL_DETAIL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
    "or '-', and must start and end with an alphanumeric character"
)
SUBDOMAIN_DETAIL = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
    "characters, '-' or '.', and must start and end with an alphanumeric character"
)


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
            raise bad_request(
                "the namespace of the provided object does not match the "
                "namespace sent on the request"
            )
        meta["namespace"] = namespace
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = meta["generateName"] + random_suffix()
    name = meta.get("name") or ""
    kind = KINDS[resource]
    if not name:
        raise invalid(
            kind,
            "",
            [
                cause(
                    "FieldValueRequired",
                    "metadata.name",
                    "Required value: name or generateName is required",
                )
            ],
        )
    valid = is_label(name) if resource == "namespaces" else is_subdomain(name)
    if not valid:
        detail = LABEL_DETAIL if resource == "namespaces" else SUBDOMAIN_DETAIL
        raise invalid(kind, name, [invalid_value("metadata.name", name, detail)])
    for system_field in (
        "uid",
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ):
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
            raise invalid(
                "Secret",
                name,
                [
                    invalid_value(
                        f"data[{key}]",
                        key,
                        "a valid config key must consist of alphanumeric characters, "
                        "'-', '_' or '.'",
                    )
                ],
            )
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise bad_request(
                f'Secret in version "v1" cannot be handled as a Secret: illegal '
                f"base64 data at input byte 0 (key {key})"
            ) from None
    if data:
        obj["data"] = data


def check_secret_update(old: JsonDict, new: JsonDict) -> None:
    normalize_secret_data(new)
    if old.get("immutable") and (new.get("data") != old.get("data") or not new.get("immutable")):
        raise invalid(
            "Secret",
            old["metadata"]["name"],
            [
                cause(
                    "FieldValueForbidden",
                    "data",
                    "Forbidden: field is immutable when `immutable` is set",
                )
            ],
        )
    if new.get("type") != old.get("type"):
        raise invalid(
            "Secret",
            old["metadata"]["name"],
            [
                cause(
                    "FieldValueInvalid",
                    "type",
                    f'Invalid value: "{new.get("type")}": field is immutable',
                )
            ],
        )


def strip_for_update(new: JsonDict, old: JsonDict) -> JsonDict:
    """Fields a client may not change through the main resource keep their old values."""
    meta, old_meta = new.setdefault("metadata", {}), old["metadata"]
    for key in (
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "namespace",
        "generation",
    ):
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
        raise ApiError(
            bad_request(
                f"the name of the object ({given}) does not match the name on the URL ({name})"
            ).status
        )
