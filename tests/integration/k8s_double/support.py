"""Helpers for the double's own tests: schema checks with the client's models, an exec
runner that parses channel 3 itself, and pod manifests."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import kubernetes.client.models as models
from kubernetes import client
from kubernetes.stream import stream

from tests.k8s_double import RequestRecord

JsonDict = dict[str, Any]
_CLIENT = client.ApiClient()
_PRIMITIVES = {"str", "int", "bool", "float", "datetime", "date", "object", "bytes", "bytearray"}
LIST_MODELS = {
    "pods": "V1PodList",
    "secrets": "V1SecretList",
    "namespaces": "V1NamespaceList",
    "events": "CoreV1EventList",
}
ITEM_MODELS = {
    "pods": "V1Pod",
    "secrets": "V1Secret",
    "namespaces": "V1Namespace",
    "events": "CoreV1Event",
}


def unknown_fields(data: Any, type_name: str, path: str = "$") -> list[str]:
    """Keys of `data` the client's model `type_name` does not know (recursively)."""
    if data is None or type_name in _PRIMITIVES:
        return []
    if type_name.startswith("List["):
        inner = type_name[5:-1]
        return [
            p for i, item in enumerate(data) for p in unknown_fields(item, inner, f"{path}[{i}]")
        ]
    if type_name.startswith("Dict["):
        inner = type_name.split(", ", 1)[1][:-1]
        return [p for k, v in data.items() for p in unknown_fields(v, inner, f"{path}.{k}")]
    klass = getattr(models, type_name)
    if not isinstance(data, dict):
        return [f"{path}: expected an object for {type_name}, got {data!r}"]
    by_json = {json_key: attr for attr, json_key in klass.attribute_map.items()}
    problems = []
    for key, value in data.items():
        if key not in by_json:
            problems.append(f"{path}.{key}: not a field of {type_name}")
        else:
            problems += unknown_fields(value, klass.openapi_types[by_json[key]], f"{path}.{key}")
    return problems


def served(body: Any, model: str) -> Any:
    """Deserialize with the client's model, after checking there is no unknown field."""
    problems = unknown_fields(body, model)
    assert not problems, problems
    return _CLIENT.deserialize(json.dumps(body), model, "application/json")


def response_model(record: RequestRecord) -> str | None:
    if record.status >= 400:
        return "V1Status"
    if record.resource not in ITEM_MODELS or record.subresource not in ("", "status"):
        return None
    if record.verb in ("list", "deletecollection"):
        return LIST_MODELS[record.resource]
    if record.verb == "delete" and record.resource == "secrets":
        return "V1Status"
    return ITEM_MODELS[record.resource]


def validate_served(records: list[RequestRecord]) -> int:
    """Check every JSON body and watch event the double served; returns how many."""
    checked = 0
    for record in records:
        model = response_model(record)
        if record.response is not None and model is not None:
            served(record.response, model)
            checked += 1
        for event in record.events:
            if "type" not in event:  # an exec status frame
                served(event, "V1Status")
            elif event["type"] == "ERROR":
                served(event["object"], "V1Status")
            elif event["type"] != "BOOKMARK":
                served(event["object"], ITEM_MODELS[record.resource])
            checked += 1
    return checked


# exec ---------------------------------------------------------------------------------


@dataclass
class ExecResult:
    stdout: bytes = b""
    stderr: bytes = b""
    status: JsonDict | None = None
    error: BaseException | None = None
    protocol: str | None = None
    frames: list[int] = field(default_factory=list)
    open_at_error: bool | None = None

    @property
    def exit_code(self) -> int | None:
        if self.status is None:
            return None
        if self.status.get("status") == "Success":
            return 0
        if self.status.get("reason") == "NonZeroExitCode":
            return int(self.status["details"]["causes"][0]["message"])
        return None


def open_exec(
    api: client.CoreV1Api,
    namespace: str,
    pod: str,
    command: list[str],
    container: str = "worker",
    stdin: bool = False,
    protocol: str | None = None,
    post: bool = False,
) -> Any:
    headers = {"sec-websocket-protocol": protocol} if protocol else None
    method = api.connect_post_namespaced_pod_exec if post else api.connect_get_namespaced_pod_exec
    return stream(
        method,
        pod,
        namespace,
        command=command,
        container=container,
        stdin=stdin,
        stdout=True,
        stderr=True,
        tty=False,
        _preload_content=False,
        binary=True,
        _headers=headers,
    )


def collect(ws: Any, timeout: float = 10.0) -> ExecResult:
    """Read every frame until the server closes; channel 3 is parsed here."""
    result = ExecResult(protocol=ws.subprotocol)
    deadline = time.monotonic() + timeout
    status = b""
    try:
        while ws.is_open():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("exec did not finish")
            ws.update(timeout=remaining)
            for channel in (1, 2, 3):
                data = ws.read_channel(channel)
                if data:
                    result.frames.append(channel)
                if channel == 1:
                    result.stdout += data
                elif channel == 2:
                    result.stderr += data
                else:
                    status += data
    except Exception as exc:  # a dropped connection surfaces here
        result.error = exc
        result.open_at_error = ws.is_open()
    finally:
        # Frames received before the close or the drop stay buffered: reading one channel
        # reads every frame that has arrived, so output may come in with the status.
        for channel in (1, 2, 3):
            try:
                data = ws.read_channel(channel)
            except Exception:  # the socket is gone; nothing more is buffered
                continue
            if channel == 1:
                result.stdout += data
            elif channel == 2:
                result.stderr += data
            else:
                status += data
    if status:
        result.status = json.loads(status)
    return result


def run_exec(
    api: client.CoreV1Api,
    namespace: str,
    pod: str,
    command: list[str],
    container: str = "worker",
    stdin: bytes | None = None,
    protocol: str | None = None,
    post: bool = False,
) -> ExecResult:
    ws = open_exec(api, namespace, pod, command, container, stdin is not None, protocol, post)
    try:
        if stdin is not None:
            ws.write_stdin(stdin)
            ws.close_channel(0)
        return collect(ws)
    finally:
        ws.close()


# manifests ------------------------------------------------------------------------------

PY = sys.executable


def container(name: str, command: list[str] | None = None, **extra: Any) -> JsonDict:
    body: JsonDict = {"name": name, "image": "registry.example/danube/runner:1.0"}
    if command is not None:
        body["command"] = command
    body.update(extra)
    return body


def pod_manifest(
    name: str,
    *containers: JsonDict,
    labels: dict[str, str] | None = None,
    init: list[JsonDict] | None = None,
    volumes: list[JsonDict] | None = None,
    restart_policy: str = "Never",
    **spec: Any,
) -> JsonDict:
    body: JsonDict = {
        "restartPolicy": restart_policy,
        "containers": list(containers) or [container("worker")],
        **spec,
    }
    if init:
        body["initContainers"] = init
    if volumes:
        body["volumes"] = volumes
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": body,
    }


def shell(script: str) -> list[str]:
    return ["sh", "-c", script]
