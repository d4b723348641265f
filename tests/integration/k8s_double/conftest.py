from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.k8s_double import KubernetesDouble

from .support import validate_served

TOKEN = "test-token"


@pytest.fixture
def double() -> Iterator[KubernetesDouble]:
    """A double requiring a bearer token; every body it served is checked at teardown."""
    k8s = KubernetesDouble(token=TOKEN)
    try:
        yield k8s
        validate_served(k8s.requests)
        assert not k8s.server_errors, "\n".join(k8s.server_errors)
    finally:
        k8s.close()


@pytest.fixture
def kubeconfig(double: KubernetesDouble, tmp_path: Path) -> Path:
    return double.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def api_client(kubeconfig: Path) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=str(kubeconfig))
    yield api
    api.close()


@pytest.fixture
def api(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def ns(double: KubernetesDouble) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    double.create_namespace(name)
    return name
