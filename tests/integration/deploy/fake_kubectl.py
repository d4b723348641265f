"""A kubectl standing in for a cluster in install.sh's tests (no API server can run on
these machines): it keeps objects as files, answers the verbs install.sh uses as kubectl
does (output lines, exit status, AlreadyExists), and hands offline work (kustomize,
client-side dry runs) to the real kubectl. Every call is logged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

STATE = Path(os.environ["FAKE_KUBECTL_STATE"])
REAL = os.environ["REAL_KUBECTL"]


def path(kind: str, namespace: str, name: str) -> Path:
    return STATE / f"{kind}.{namespace or '_'}.{name}.json"


def load(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    file = path(kind, namespace, name)
    return json.loads(file.read_text()) if file.exists() else None


def store(obj: dict[str, Any]) -> None:
    meta = obj["metadata"]
    path(obj["kind"], meta.get("namespace", ""), meta["name"]).write_text(json.dumps(obj))


def resource(obj: dict[str, Any]) -> str:
    group = obj["apiVersion"].rpartition("/")[0]
    return f"{obj['kind'].lower()}{'.' + group.split('.')[0] if group else ''}/{obj['metadata']['name']}"


def option(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1] if flag in argv else ""


def not_found(what: str, name: str) -> int:
    print(f'Error from server (NotFound): {what} "{name}" not found', file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    with (STATE / "calls.log").open("a") as log:
        log.write(" ".join(argv) + "\n")
    if argv[0] == "kustomize" or "--dry-run=client" in argv:
        os.execv(REAL, [REAL, *argv])
    namespace = option(argv, "-n")
    verb, kind, name = [*argv, "", "", ""][:3]
    if argv[:2] == ["config", "current-context"]:
        print("fake")
    elif verb == "cluster-info" or verb == "rollout":
        pass
    elif (verb, kind) == ("get", "namespace"):
        return 0 if load("Namespace", "", name) else not_found("namespaces", name)
    elif (verb, kind) == ("create", "namespace"):
        store({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        print(f"namespace/{name} created")
    elif (verb, kind) == ("get", "crd"):
        return 0 if load("CustomResourceDefinition", "", name) else not_found("crd", name)
    elif (verb, kind) == ("get", "secret"):
        secret = load("Secret", namespace, name)
        if secret is None:
            return not_found("secrets", name)
        if option(argv, "-o").startswith("jsonpath={.data."):
            print(secret["data"][option(argv, "-o")[len("jsonpath={.data.") : -1]], end="")
    elif (verb, kind) == ("create", "secret"):
        rendered = subprocess.run(
            [REAL, *argv, "--dry-run=client", "-o", "yaml"], stdin=sys.stdin, capture_output=True
        )
        secret = yaml.safe_load(rendered.stdout)
        if load("Secret", namespace, secret["metadata"]["name"]):
            print(f'error: secrets "{name}" already exists', file=sys.stderr)
            return 1
        store(secret)
        print(f"secret/{secret['metadata']['name']} created")
    elif argv[:2] == ["apply", "-f"]:
        source = sys.stdin.read() if argv[2] == "-" else Path(argv[2]).read_text()
        for obj in (doc for doc in yaml.safe_load_all(source) if doc):
            meta = obj["metadata"]
            before = load(obj["kind"], meta.get("namespace", ""), meta["name"])
            verb = "created" if before is None else "unchanged" if before == obj else "configured"
            store(obj)
            print(f"{resource(obj)} {verb}")
    else:
        print(f"fake kubectl: {' '.join(argv)} is not something install.sh does", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
