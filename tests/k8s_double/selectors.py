"""Label and field selectors with the API server's grammar and error messages."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .status import bad_request

JsonDict = dict[str, Any]

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_SET = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ = re.compile(rf"^\s*({_KEY})\s*(==|!=|=)\s*([-A-Za-z0-9_.]*)\s*$")
_EXISTS = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # "!=", "notin"


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def parse_label_selector(text: str | None) -> list[Requirement]:
    if not text or not text.strip():
        return []
    requirements = []
    for part in _split_top_level(text):
        requirements.append(_parse_requirement(part))
    return requirements


def _parse_requirement(part: str) -> Requirement:
    if m := _SET.match(part):
        values = tuple(v.strip() for v in m.group(4).split(",") if v.strip())
        return Requirement(m.group(1), m.group(3), values)
    if m := _EQ.match(part):
        op = "=" if m.group(3) in ("=", "==") else "!="
        return Requirement(m.group(1), op, (m.group(4),))
    if m := _EXISTS.match(part):
        return Requirement(m.group(2), "!" if m.group(1) else "exists")
    raise bad_request(
        f"unable to parse requirement: found '{part.strip()}', expected: "
        "'=', '!=', '==', 'in', notin'"
    )


def labels_match(requirements: list[Requirement], obj: JsonDict) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(r.matches(labels) for r in requirements)


# field selectors ------------------------------------------------------------------


def _path(*keys: str) -> Callable[[JsonDict], str]:
    def get(obj: JsonDict) -> str:
        value: Any = obj
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    return get


_COMMON = {
    "metadata.name": _path("metadata", "name"),
    "metadata.namespace": _path("metadata", "namespace"),
}
FIELDS: dict[str, dict[str, Callable[[JsonDict], str]]] = {
    "pods": {
        **_COMMON,
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": lambda o: "true" if o.get("spec", {}).get("hostNetwork") else "false",
        "status.phase": _path("status", "phase"),
        "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    "secrets": {**_COMMON, "type": _path("type")},
    "namespaces": {
        "metadata.name": _path("metadata", "name"),
        "status.phase": _path("status", "phase"),
    },
    "events": {
        **_COMMON,
        "involvedObject.kind": _path("involvedObject", "kind"),
        "involvedObject.name": _path("involvedObject", "name"),
        "involvedObject.namespace": _path("involvedObject", "namespace"),
        "involvedObject.uid": _path("involvedObject", "uid"),
        "reason": _path("reason"),
        "type": _path("type"),
        "source": _path("source", "component"),
    },
}


@dataclass(frozen=True)
class FieldRequirement:
    get: Callable[[JsonDict], str]
    negate: bool
    value: str

    def matches(self, obj: JsonDict) -> bool:
        return (self.get(obj) == self.value) != self.negate


def parse_field_selector(resource: str, text: str | None) -> list[FieldRequirement]:
    if not text or not text.strip():
        return []
    known = FIELDS.get(resource, _COMMON)
    result = []
    for part in text.split(","):
        m = re.match(r"^\s*([A-Za-z0-9_.\[\]]+)\s*(==|!=|=)\s*(.*?)\s*$", part)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.groups()
        if field not in known:
            raise bad_request(f"field label not supported: {field}")
        result.append(FieldRequirement(known[field], op == "!=", value))
    return result


def fields_match(requirements: list[FieldRequirement], obj: JsonDict) -> bool:
    return all(r.matches(obj) for r in requirements)


@dataclass(frozen=True)
class Selector:
    """A label + field selector bound to one resource."""

    labels: list[Requirement]
    fields: list[FieldRequirement]

    @classmethod
    def parse(cls, resource: str, label: str | None, field: str | None) -> Selector:
        return cls(parse_label_selector(label), parse_field_selector(resource, field))

    def matches(self, obj: JsonDict) -> bool:
        return labels_match(self.labels, obj) and fields_match(self.fields, obj)
