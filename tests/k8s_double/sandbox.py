"""A pod's sandbox: a directory per volume (emptyDir, secret, downwardAPI, projected)
and per container, and the rewriting of mount paths that stands in for mounts.

Every occurrence of a container's `mountPath` in its command, args, env values and
workingDir (and in exec commands and what exec stdin carries) is replaced with the
local directory of the volume.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

JsonDict = dict[str, Any]
SecretLookup = Callable[[str, str], JsonDict | None]


class MountError(Exception):
    """A volume cannot be set up (the pod stays ContainerCreating)."""


class Sandbox:
    """A pod's directory: one directory per volume and a private root per container."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def volume_dir(self, name: str) -> Path:
        path = self.root / "volumes" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def container_dir(self, name: str) -> Path:
        path = self.root / "containers" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def mounts(self, container: JsonDict) -> list[tuple[str, Path]]:
        result = []
        for mount in container.get("volumeMounts") or []:
            local = self.volume_dir(mount["name"])
            if mount.get("subPath"):
                local = local / mount["subPath"]
                local.mkdir(parents=True, exist_ok=True)
            result.append((mount["mountPath"].rstrip("/") or "/", local))
        return sorted(result, key=lambda m: -len(m[0]))

    def rewrite(self, container: JsonDict, text: str) -> str:
        for mount_path, local in self.mounts(container):
            if mount_path == "/":
                continue
            pattern = r"(?<![\w.-])" + re.escape(mount_path) + r"(?=/|$|[^\w.-])"
            text = re.sub(pattern, str(local).replace("\\", "\\\\"), text)
        return text

    def working_dir(self, container: JsonDict) -> Path:
        wanted = container.get("workingDir")
        if not wanted:
            return self.container_dir(container["name"])
        rewritten = self.rewrite(container, wanted)
        path = (
            Path(rewritten)
            if rewritten != wanted
            else (self.container_dir(container["name"]) / wanted.lstrip("/"))
        )
        path.mkdir(parents=True, exist_ok=True)
        return path


def _write_file(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.chmod(0o600)
    path.write_bytes(data)
    path.chmod(mode)


def _secret_files(
    volume: str,
    source: JsonDict,
    namespace: str,
    get_secret: SecretLookup,
    target: Path,
    default_mode: int,
) -> None:
    name = source.get("secretName") or source.get("name") or ""
    secret = get_secret(namespace, name)
    if secret is None:
        if source.get("optional"):
            return
        raise MountError(
            f'MountVolume.SetUp failed for volume "{volume}" : secret "{name}" not found'
        )
    data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    items = source.get("items") or [{"key": k, "path": k} for k in data]
    for item in items:
        if item["key"] not in data:
            if source.get("optional"):
                continue
            raise MountError(
                f'MountVolume.SetUp failed for volume "{volume}" : '
                f"references non-existent secret key: {item['key']}"
            )
        mode = item.get("mode", default_mode)
        _write_file(target / item["path"], data[item["key"]], mode)


def field_value(pod: JsonDict, path: str) -> str:
    meta, status = pod["metadata"], pod.get("status") or {}
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": pod["spec"].get("nodeName"),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName"),
        "status.podIP": status.get("podIP"),
        "status.hostIP": status.get("hostIP"),
    }
    if path in simple:
        return str(simple[path] or "")
    m = re.match(r"^metadata\.(labels|annotations)(?:\['(.+)'\])?$", path)
    if m:
        values = meta.get(m.group(1)) or {}
        if m.group(2):
            return str(values.get(m.group(2), ""))
        return "\n".join(f'{k}="{v}"' for k, v in sorted(values.items()))
    return ""


def materialize_volumes(sandbox: Sandbox, pod: JsonDict, get_secret: SecretLookup) -> None:
    namespace = pod["metadata"]["namespace"]
    for volume in pod["spec"].get("volumes") or []:
        target = sandbox.volume_dir(volume["name"])
        if "secret" in volume:
            source = volume["secret"]
            _secret_files(
                volume["name"],
                source,
                namespace,
                get_secret,
                target,
                source.get("defaultMode", 0o644),
            )
        elif "downwardAPI" in volume:
            for item in volume["downwardAPI"].get("items") or []:
                value = field_value(pod, (item.get("fieldRef") or {}).get("fieldPath", ""))
                _write_file(target / item["path"], value.encode(), item.get("mode", 0o644))
        elif "projected" in volume:
            _projected(volume, pod, get_secret, target)


def _projected(volume: JsonDict, pod: JsonDict, get_secret: SecretLookup, target: Path) -> None:
    mode = volume["projected"].get("defaultMode", 0o644)
    for source in volume["projected"].get("sources") or []:
        if "serviceAccountToken" in source:
            token = b"eyJhbGciOiJSUzI1NiJ9.k8s-double-service-account-token.c2ln"
            _write_file(target / source["serviceAccountToken"]["path"], token, mode)
        elif "secret" in source:
            _secret_files(
                volume["name"],
                source["secret"],
                pod["metadata"]["namespace"],
                get_secret,
                target,
                mode,
            )
        elif "downwardAPI" in source:
            for item in source["downwardAPI"].get("items") or []:
                value = field_value(pod, (item.get("fieldRef") or {}).get("fieldPath", ""))
                _write_file(target / item["path"], value.encode(), mode)
        elif (source.get("configMap") or {}).get("name") == "kube-root-ca.crt":
            for item in source["configMap"].get("items") or []:
                pem = b"-----BEGIN CERTIFICATE-----\nazhzLWRvdWJsZQ==\n-----END CERTIFICATE-----\n"
                _write_file(target / item["path"], pem, mode)
