"""Danube's settings for the Kubernetes executor: defaults, validation, and what the
executor is configured with."""

from __future__ import annotations

import os
from typing import Any

import pytest

from api.execution.kubernetes import kubernetes_settings
from api.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def no_settings_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what each test says: no DANUBE_* variable or config file of the environment."""
    for name in list(os.environ):
        if name.startswith("DANUBE_"):
            monkeypatch.delenv(name)


def test_defaults_and_what_the_executor_gets() -> None:
    settings = kubernetes_settings(Settings(kubeconfig="/etc/kube/config", k8s_context="ci"))
    assert (settings.client.kubeconfig, settings.client.context) == ("/etc/kube/config", "ci")
    assert settings.pod.namespace == "danube-jobs"
    assert settings.pod.coordinator_image == "ghcr.io/danube-ci/danube:latest"
    assert settings.pod.coordinator_command == ("python3", "-m", "danube.coordinator")
    assert settings.pod.checkout_image == "" and settings.pod.run_as_user == 1000
    assert (settings.waits.unschedulable_seconds, settings.waits.node_lost_seconds) == (300, 60)
    assert settings.waits.start_seconds == 900
    assert settings.waits.image_pull_seconds == 120
    assert settings.pod.control_size == "1Gi"


def test_durations_commands_and_addresses_are_parsed() -> None:
    settings = Settings(
        k8s_unschedulable_timeout="2m",
        k8s_node_lost_timeout="45s",
        k8s_start_timeout="1h",
        k8s_exec_idle_timeout="2m",
        k8s_image_pull_timeout="5m",
        k8s_control_volume_size="300Mi",
        k8s_coordinator_command="'/opt/py 3/bin/python' -m danube.coordinator",
        k8s_master_address="danube-grpc.danube-system:9000",
    )
    wired = kubernetes_settings(settings)
    assert (wired.waits.unschedulable_seconds, wired.waits.node_lost_seconds) == (120, 45)
    assert wired.waits.start_seconds == 3600
    assert wired.steps.idle_timeout == 120
    assert (wired.waits.image_pull_seconds, wired.pod.control_size) == (300, "300Mi")
    assert wired.pod.coordinator_command == ("/opt/py 3/bin/python", "-m", "danube.coordinator")


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"k8s_coordinator_command": "  "}, "DANUBE_K8S_COORDINATOR_COMMAND"),
        ({"k8s_coordinator_command": "python3 'unclosed"}, "not a valid command line"),
        ({"k8s_master_address": "no-port"}, "DANUBE_K8S_MASTER_ADDRESS"),
        ({"k8s_unschedulable_timeout": "soon"}, "DANUBE_K8S_UNSCHEDULABLE_TIMEOUT"),
        ({"k8s_run_as_user": 0}, "DANUBE_K8S_RUN_AS_USER"),
        ({"k8s_exec_idle_timeout": "0s"}, "DANUBE_K8S_EXEC_IDLE_TIMEOUT"),
        ({"k8s_image_pull_timeout": "never"}, "DANUBE_K8S_IMAGE_PULL_TIMEOUT"),
        ({"k8s_control_volume_size": "1GB"}, "DANUBE_K8S_CONTROL_VOLUME_SIZE"),
        ({"pod_adapter_metrics_address": ":x"}, "DANUBE_POD_ADAPTER_METRICS_ADDRESS"),
    ],
)
def test_invalid_values_stop_start_up_naming_the_setting(
    values: dict[str, Any], problem: str
) -> None:
    with pytest.raises(SettingsError, match=problem):
        load_settings(**values)


def test_the_kubernetes_section_of_the_file_reaches_the_settings(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "danube.toml"
    path.write_text(
        '[kubernetes]\ncoordinator_image = "registry.example/danube:2"\n'
        'unschedulable_timeout = "90s"\nmaster_address = "10.0.0.5:9000"\n'
    )
    monkeypatch.setenv("DANUBE_CONFIG", str(path))
    settings = load_settings()
    assert settings.k8s_coordinator_image == "registry.example/danube:2"
    assert (settings.k8s_unschedulable_timeout, settings.k8s_master_address) == (
        90,
        "10.0.0.5:9000",
    )
