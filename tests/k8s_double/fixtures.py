"""pytest fixtures for the Kubernetes double; import them in a conftest.py:

from tests.k8s_double.fixtures import k8s_double, k8s_kubeconfig  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .double import KubernetesDouble

TOKEN = "k8s-double-token"


@pytest.fixture
def k8s_double() -> Iterator[KubernetesDouble]:
    """A fresh double (bearer token required, kubelet stepped by the test)."""
    double = KubernetesDouble(token=TOKEN)
    try:
        yield double
    finally:
        double.close()
    assert not double.server_errors, "\n".join(double.server_errors)


@pytest.fixture
def k8s_kubeconfig(k8s_double: KubernetesDouble, tmp_path: Path) -> Path:
    """A kubeconfig file pointing at `k8s_double`, with its token."""
    return k8s_double.write_kubeconfig(tmp_path / "kubeconfig")
