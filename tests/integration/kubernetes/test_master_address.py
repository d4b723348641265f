"""``danube up`` on Kubernetes hands job pods its own gRPC address unless told another:
it refuses to start when pods could not reach that address (the pod adapter already
refuses without DANUBE_K8S_MASTER_ADDRESS)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.sql.store import StoreConfig
from api.execution.kubernetes import refuse_loopback_master
from api.settings import Settings, SettingsError
from tests.support import danube_env


def kubeconfig(path: Path, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    path.write_text(json.dumps(config))
    return path


def test_danube_up_refuses_to_hand_pods_a_loopback_address_of_a_remote_cluster(
    tmp_path: Path,
) -> None:
    env = danube_env(
        StoreConfig(kind="sqlite", data_dir=tmp_path),
        DANUBE_EXECUTOR="kubernetes",
        DANUBE_KUBECONFIG=str(kubeconfig(tmp_path / "kubeconfig", "https://10.0.0.1:6443")),
        DANUBE_GRPC_ADDRESS="127.0.0.1:0",
    )
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "up", "--no-example"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "danube up: DANUBE_K8S_MASTER_ADDRESS is not set" in result.stderr
    assert "https://10.0.0.1:6443" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("server", "grpc", "master", "refused"),
    [
        ("https://10.0.0.1:6443", "127.0.0.1:9000", "", True),
        ("https://10.0.0.1:6443", "0.0.0.0:9000", "", True),  # pods would get 127.0.0.1
        ("https://api.example.com:6443", "[::1]:9000", "", True),
        ("https://10.0.0.1:6443", "127.0.0.1:9000", "10.0.0.9:9000", False),
        ("https://10.0.0.1:6443", "10.0.0.9:9000", "", False),  # pods get this address
        ("http://127.0.0.1:6443", "127.0.0.1:9000", "", False),  # a cluster on this machine
        ("https://localhost:6443", "0.0.0.0:9000", "", False),
    ],
)
def test_a_loopback_master_address_is_refused_only_for_a_cluster_elsewhere(
    tmp_path: Path, server: str, grpc: str, master: str, refused: bool
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        executor="kubernetes",
        kubeconfig=str(kubeconfig(tmp_path / "kubeconfig", server)),
        k8s_master_address=master,
    )
    if refused:
        with pytest.raises(SettingsError, match="set DANUBE_K8S_MASTER_ADDRESS"):
            refuse_loopback_master(settings, grpc)
    else:
        refuse_loopback_master(settings, grpc)
