"""Container logs through read_namespaced_pod_log, with and without follow."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.k8s_double import KubernetesDouble

from .support import container, pod_manifest, shell

WORKSPACE = {"name": "workspace", "emptyDir": {}}
MOUNT = [{"name": "workspace", "mountPath": "/workspace"}]


def fifo_pod(double: KubernetesDouble, api: client.CoreV1Api, ns: str) -> Path:
    """A container that prints, blocks on a FIFO the test feeds, prints again and exits."""
    double.kubelet.auto = True
    init = container("mkfifo", ["mkfifo", "/workspace/gate"], volumeMounts=MOUNT)
    main = container(
        "main", shell("echo first; cat /workspace/gate; echo last"), volumeMounts=MOUNT
    )
    api.create_namespaced_pod(
        ns, pod_manifest("talker", main, container("worker"), init=[init], volumes=[WORKSPACE])
    )
    double.wait_for(lambda: b"first" in double.logs(ns, "talker", "main"), message="output")
    return double.volume_dir(ns, "talker", "workspace") / "gate"


def test_following_a_log_streams_until_the_container_ends(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    gate = fifo_pod(double, api, ns)
    response = api.read_namespaced_pod_log(
        "talker", ns, container="main", follow=True, _preload_content=False, _request_timeout=10
    )
    assert response.readline() == b"first\n"

    def feed() -> None:
        with open(gate, "w") as fifo:
            fifo.write("middle\n")

    feeder = threading.Thread(target=feed)
    feeder.start()
    assert response.readline() == b"middle\n"
    assert response.readline() == b"last\n"
    assert response.read() == b""  # the stream ends with the container
    feeder.join(5)
    response.release_conn()
    assert api.read_namespaced_pod_log("talker", ns, container="main") == "first\nmiddle\nlast\n"


def test_a_log_without_follow_returns_what_exists(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    gate = fifo_pod(double, api, ns)
    assert api.read_namespaced_pod_log("talker", ns, container="main") == "first\n"
    fd = os.open(gate, os.O_WRONLY)
    os.close(fd)  # EOF for cat: the container goes on and ends
    double.wait_for(lambda: b"last" in double.logs(ns, "talker", "main"), message="the end")


def test_tail_lines_limit_bytes_and_timestamps(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.kubelet.auto = True
    api.create_namespaced_pod(
        ns,
        pod_manifest(
            "lines", container("main", shell("for i in 1 2 3 4 5; do echo line $i; done"))
        ),
    )
    double.wait_for_phase(ns, "lines", "Succeeded")
    assert api.read_namespaced_pod_log("lines", ns, tail_lines=2) == "line 4\nline 5\n"
    assert api.read_namespaced_pod_log("lines", ns, limit_bytes=8) == "line 1\nl"
    stamped = api.read_namespaced_pod_log("lines", ns, timestamps=True).splitlines()
    stamp, text = stamped[0].split(" ", 1)
    assert text == "line 1" and stamp.endswith("Z") and "T" in stamp


def test_log_errors_are_statuses(double: KubernetesDouble, api: client.CoreV1Api, ns: str) -> None:
    api.create_namespaced_pod(ns, pod_manifest("two", container("a"), container("b")))
    with pytest.raises(ApiException) as which:
        api.read_namespaced_pod_log("two", ns)
    assert which.value.status == 400
    assert json.loads(which.value.body)["message"] == (
        "a container name must be specified for pod two, choose one of: [a b]"
    )
    double.kubelet.schedule(ns, "two")
    with pytest.raises(ApiException) as waiting:
        api.read_namespaced_pod_log("two", ns, container="a")
    assert json.loads(waiting.value.body)["message"] == (
        'container "a" in pod "two" is waiting to start: ContainerCreating'
    )
    with pytest.raises(ApiException) as missing:
        api.read_namespaced_pod_log("nope", ns)
    assert missing.value.status == 404
