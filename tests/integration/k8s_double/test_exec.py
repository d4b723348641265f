"""Exec over WebSocket with kubernetes.stream.stream(..., binary=True); channel 3 parsed here."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from websocket import WebSocketBadStatusException

from tests.k8s_double import KubernetesDouble

from .support import container, open_exec, pod_manifest, run_exec, served, shell

WORKSPACE = {"name": "workspace", "emptyDir": {}}
MOUNT = [{"name": "workspace", "mountPath": "/workspace"}]


@pytest.fixture
def running(double: KubernetesDouble, api: client.CoreV1Api, ns: str) -> str:
    """A pod whose idle `worker` shares /workspace with a finished `main`."""
    double.kubelet.auto = True
    main = container("main", shell("echo hello > /workspace/greeting"), volumeMounts=MOUNT)
    worker = container(
        "worker", volumeMounts=MOUNT, env=[{"name": "DANUBE_STEP", "value": "build"}]
    )
    api.create_namespaced_pod(ns, pod_manifest("pod", main, worker, volumes=[WORKSPACE]))
    double.wait_for_pod(
        ns,
        "pod",
        lambda p: all(
            s["state"].get("terminated") or s["name"] == "worker"
            for s in p["status"].get("containerStatuses", [{"state": {}, "name": ""}])
        ),
        message="main to finish",
    )
    return "pod"


def test_exec_separates_stdout_and_stderr_and_reports_success(
    api: client.CoreV1Api, ns: str, running: str
) -> None:
    result = run_exec(
        api, ns, running, shell("cat /workspace/greeting; echo to-stderr >&2; echo $DANUBE_STEP")
    )
    assert result.protocol == "v5.channel.k8s.io"
    assert result.stdout == b"hello\nbuild\n"
    assert result.stderr == b"to-stderr\n"
    assert result.status == {"metadata": {}, "status": "Success"}
    assert result.exit_code == 0 and result.error is None


def test_a_non_zero_exit_is_reported_in_the_status(
    api: client.CoreV1Api, ns: str, running: str
) -> None:
    result = run_exec(api, ns, running, shell("exit 3"))
    assert result.exit_code == 3
    status = served(result.status, "V1Status")
    assert status.status == "Failure" and status.reason == "NonZeroExitCode"
    assert status.message.startswith("command terminated with non-zero exit code:")
    assert [(c.reason, c.message) for c in status.details.causes] == [("ExitCode", "3")]


def test_the_v4_protocol_when_it_is_the_only_one_offered(
    api: client.CoreV1Api, ns: str, running: str
) -> None:
    result = run_exec(
        api, ns, running, shell("echo out; echo err >&2; exit 5"), protocol="v4.channel.k8s.io"
    )
    assert result.protocol == "v4.channel.k8s.io"
    assert (result.stdout, result.stderr, result.exit_code) == (b"out\n", b"err\n", 5)


def test_stdin_is_forwarded_and_closed(api: client.CoreV1Api, ns: str, running: str) -> None:
    result = run_exec(
        api,
        ns,
        running,
        ["sh", "-c", "tr a-z A-Z > /workspace/upper; cat /workspace/upper"],
        stdin=b"shout\n",
    )
    assert result.stdout == b"SHOUT\n" and result.exit_code == 0


def test_exec_by_post_works_too(api: client.CoreV1Api, ns: str, running: str) -> None:
    result = run_exec(api, ns, running, ["echo", "posted"], post=True)
    assert result.stdout == b"posted\n" and result.exit_code == 0


def test_multibyte_output_survives_frame_boundaries(
    api: client.CoreV1Api, ns: str, running: str
) -> None:
    result = run_exec(
        api, ns, running, shell("i=0; while [ $i -lt 20000 ]; do printf 'é€'; i=$((i+1)); done")
    )
    assert result.stdout.decode("utf-8") == "é€" * 20000
    assert len(result.frames) > 1


def test_a_command_that_cannot_run_is_an_internal_error(
    api: client.CoreV1Api, ns: str, running: str
) -> None:
    result = run_exec(api, ns, running, ["no-such-command"])
    status = served(result.status, "V1Status")
    assert (status.reason, status.code) == ("InternalError", 500)
    assert "no-such-command" in status.message
    assert result.exit_code is None


def test_exec_into_a_container_that_is_not_running_fails_the_handshake(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    api.create_namespaced_pod(ns, pod_manifest("idle", container("worker")))
    double.kubelet.schedule(ns, "idle")
    with pytest.raises(ApiException) as failed:
        open_exec(api, ns, "idle", ["true"])
    assert failed.value.status == 0
    cause = failed.value.__context__
    assert isinstance(cause, WebSocketBadStatusException) and cause.status_code == 500


def test_exec_into_a_completed_pod_is_a_bad_request(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.kubelet.auto = True
    api.create_namespaced_pod(ns, pod_manifest("done", container("main", ["true"])))
    double.wait_for_phase(ns, "done", "Succeeded")
    with pytest.raises(ApiException) as failed:
        open_exec(api, ns, "done", ["true"], container="main")
    cause = failed.value.__context__
    assert isinstance(cause, WebSocketBadStatusException) and cause.status_code == 400


def test_the_exec_handshake_needs_the_token(
    double: KubernetesDouble, ns: str, running: str, tmp_path: Path
) -> None:
    path = double.write_kubeconfig(tmp_path / "wrong", token="wrong")
    api = client.CoreV1Api(config.new_client_from_config(config_file=str(path)))
    with pytest.raises(ApiException) as denied:
        open_exec(api, ns, running, ["true"])
    cause = denied.value.__context__
    assert isinstance(cause, WebSocketBadStatusException) and cause.status_code == 401
    exec_request = double.requests_matching(subresource="exec")[-1]
    assert exec_request.status == 401
