"""Every fault of the double, as the official client sees it."""

from __future__ import annotations

import json
import os
import select
from typing import Any

import pytest
import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from websocket import WebSocketBadStatusException

from tests.k8s_double import KubernetesDouble

from .support import collect, container, open_exec, pod_manifest, run_exec, served, shell
from .watching import WatchRecorder

WORKSPACE = {"name": "workspace", "emptyDir": {}}
MOUNT = [{"name": "workspace", "mountPath": "/workspace"}]


def status_of(exc: ApiException) -> client.V1Status:
    return served(json.loads(exc.body), "V1Status")


def waiting_reason(double: KubernetesDouble, ns: str, pod: str, name: str) -> str | None:
    status = double.container_status(ns, pod, name) or {}
    return status.get("state", {}).get("waiting", {}).get("reason")


def start_pod(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str, name: str, *containers: dict[str, Any]
) -> None:
    double.kubelet.auto = True
    api.create_namespaced_pod(ns, pod_manifest(name, *containers, volumes=[WORKSPACE]))
    double.wait_for_phase(ns, name, "Running")


# containers ---------------------------------------------------------------------------


def test_an_image_pull_failure_backs_off(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.faults.image_pull_failure(image="registry.example/missing:1")
    double.kubelet.auto = True
    recorder = WatchRecorder(double, api.list_namespaced_pod, ns).start()
    api.create_namespaced_pod(
        ns,
        pod_manifest(
            "pull", container("main", image="registry.example/missing:1"), container("worker")
        ),
    )
    reasons: list[str] = []
    while "ImagePullBackOff" not in reasons:
        pod = recorder.event()["object"]
        for status in pod.status.container_statuses or []:
            waiting = status.state.waiting
            if status.name == "main" and waiting and waiting.reason not in reasons[-1:]:
                reasons.append(waiting.reason)
    assert reasons[-2:] == ["ErrImagePull", "ImagePullBackOff"]
    assert pod.status.phase == "Pending"
    events = api.list_namespaced_event(ns, field_selector="involvedObject.name=pull")
    assert {"Failed", "BackOff"} <= {e.reason for e in events.items}
    double.faults.clear_container_faults()
    double.wait_for_phase(ns, "pull", "Running")
    recorder.stop()


def test_an_invalid_image_name(double: KubernetesDouble, api: client.CoreV1Api, ns: str) -> None:
    double.kubelet.auto = True
    api.create_namespaced_pod(ns, pod_manifest("bad", container("main", image="Not/Valid:x")))
    double.faults.invalid_image_name(container="second")
    api.create_namespaced_pod(ns, pod_manifest("forced", container("second")))
    double.wait_for(
        lambda: (
            waiting_reason(double, ns, "bad", "main") == "InvalidImageName"
            and waiting_reason(double, ns, "forced", "second") == "InvalidImageName"
        ),
        message="InvalidImageName",
    )
    assert api.read_namespaced_pod("bad", ns).status.phase == "Pending"


def test_a_create_container_config_error(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.faults.create_container_config_error(pod="cfg", message='secret "gone" not found')
    double.kubelet.auto = True
    api.create_namespaced_pod(ns, pod_manifest("cfg", container("main", ["true"])))
    double.wait_for(
        lambda: waiting_reason(double, ns, "cfg", "main") == "CreateContainerConfigError",
        message="CreateContainerConfigError",
    )
    waiting = api.read_namespaced_pod("cfg", ns).status.container_statuses[0].state.waiting
    assert waiting.message == 'secret "gone" not found'


def test_an_oom_killed_worker_leaves_the_pod_running(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    start_pod(
        double,
        api,
        ns,
        "oom",
        container("coordinator", ["sleep", "600"]),
        container("worker", ["sleep", "600"]),
    )
    double.faults.oom_kill(ns, "oom", "worker")
    pod = api.read_namespaced_pod("oom", ns)
    worker = next(s for s in pod.status.container_statuses if s.name == "worker")
    assert (worker.state.terminated.reason, worker.state.terminated.exit_code) == ("OOMKilled", 137)
    assert pod.status.phase == "Running"
    assert next(c for c in pod.status.conditions if c.type == "Ready").status == "False"


def test_an_evicted_pod_fails_with_a_disruption_condition(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    start_pod(double, api, ns, "evictee", container("main", ["sleep", "600"]))
    double.faults.evict(ns, "evictee")
    pod = api.read_namespaced_pod("evictee", ns)
    assert (pod.status.phase, pod.status.reason) == ("Failed", "Evicted")
    disruption = next(c for c in pod.status.conditions if c.type == "DisruptionTarget")
    assert (disruption.status, disruption.reason) == ("True", "TerminationByKubelet")
    assert pod.status.container_statuses[0].state.terminated.exit_code == 137


def test_deadline_exceeded_and_preemption(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    start_pod(double, api, ns, "late", container("main", ["sleep", "600"]))
    double.faults.deadline_exceeded(ns, "late")
    late = api.read_namespaced_pod("late", ns)
    assert (late.status.phase, late.status.reason) == ("Failed", "DeadlineExceeded")
    start_pod(double, api, ns, "victim", container("main", ["sleep", "600"]))
    double.kubelet.hold_deletions = True
    double.faults.preempt(ns, "victim")
    victim = api.read_namespaced_pod("victim", ns)
    assert victim.metadata.deletion_timestamp is not None
    assert any(
        c.type == "DisruptionTarget" and c.reason == "PreemptionByScheduler"
        for c in victim.status.conditions
    )
    double.kubelet.finish_deletions()
    double.wait_for(lambda: double.pod(ns, "victim") is None, message="preempted pod gone")


def test_an_unschedulable_pod_stays_pending(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.faults.unschedulable(message="0/1 nodes are available: 1 Insufficient cpu.")
    double.kubelet.auto = True
    api.create_namespaced_pod(ns, pod_manifest("big", container("main", ["true"])))
    pod = double.wait_for_pod(
        ns, "big", lambda p: p["status"].get("conditions"), message="PodScheduled condition"
    )
    condition = api.read_namespaced_pod("big", ns).status.conditions[0]
    assert (condition.type, condition.status, condition.reason) == (
        "PodScheduled",
        "False",
        "Unschedulable",
    )
    assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")
    events = api.list_namespaced_event(ns, field_selector="reason=FailedScheduling")
    assert events.items[0].message == "0/1 nodes are available: 1 Insufficient cpu."
    double.faults.schedulable()
    double.wait_for_phase(ns, "big", "Succeeded")


# node loss --------------------------------------------------------------------------------


def test_a_lost_node_breaks_exec_and_logs_and_holds_deletions(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    start_pod(double, api, ns, "stranded", container("main", ["sleep", "600"]))
    start_pod(double, api, ns, "forced", container("main", ["sleep", "600"]))
    double.faults.lose_node()
    pod = api.read_namespaced_pod("stranded", ns)
    assert next(c for c in pod.status.conditions if c.type == "Ready").status == "False"

    with pytest.raises(ApiException) as logs:
        api.read_namespaced_pod_log("stranded", ns)
    assert logs.value.status == 500
    with pytest.raises(ApiException) as execs:
        open_exec(api, ns, "stranded", ["true"], container="main")
    cause = execs.value.__context__
    assert isinstance(cause, WebSocketBadStatusException) and cause.status_code == 500

    api.delete_namespaced_pod("stranded", ns)
    assert api.read_namespaced_pod("stranded", ns).metadata.deletion_timestamp is not None
    api.delete_namespaced_pod("forced", ns, grace_period_seconds=0)
    assert double.pod(ns, "forced") is None
    double.faults.restore_node()
    double.wait_for(lambda: double.pod(ns, "stranded") is None, message="deletion")


# namespaces -------------------------------------------------------------------------------


def test_creating_in_a_terminating_namespace_is_forbidden(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.faults.terminate_namespace(ns)
    assert api.read_namespace(ns).status.phase == "Terminating"
    with pytest.raises(ApiException) as pod:
        api.create_namespaced_pod(ns, pod_manifest("p"))
    assert pod.value.status == 403
    assert json.loads(pod.value.body) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'pods "p" is forbidden: unable to create new content in namespace {ns} '
        "because it is being terminated",
        "reason": "Forbidden",
        "details": {
            "name": "p",
            "kind": "pods",
            "causes": [
                {
                    "reason": "NamespaceTerminating",
                    "message": f"namespace {ns} is being terminated",
                    "field": "metadata.namespace",
                }
            ],
        },
        "code": 403,
    }
    with pytest.raises(ApiException) as secret:
        api.create_namespaced_secret(ns, {"metadata": {"name": "s"}})
    assert status_of(secret.value).reason == "Forbidden"
    double.faults.finish_namespace_termination(ns)
    double.wait_for(
        lambda: all(n["metadata"]["name"] != ns for n in double.namespaces()),
        message="namespace gone",
    )


# API errors ---------------------------------------------------------------------------------


def test_injected_api_errors_have_real_status_bodies(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.faults.fail_next(500, verb="create", resource="pods")
    with pytest.raises(ApiException) as internal:
        api.create_namespaced_pod(ns, pod_manifest("p"))
    assert (internal.value.status, status_of(internal.value).reason) == (500, "InternalError")
    assert double.pod(ns, "p") is None

    double.faults.fail_next(401, resource="pods")
    with pytest.raises(ApiException) as unauthorized:
        api.list_namespaced_pod(ns)
    assert status_of(unauthorized.value).reason == "Unauthorized"

    api.create_namespaced_pod(ns, pod_manifest("p"))
    double.faults.fail_next(409, verb="patch", resource="pods", name="p")
    with pytest.raises(ApiException) as conflict:
        api.patch_namespaced_pod("p", ns, {"metadata": {"labels": {"a": "b"}}})
    assert status_of(conflict.value).reason == "Conflict"
    double.faults.fail_next(409, verb="create", resource="pods")
    with pytest.raises(ApiException) as exists:
        api.create_namespaced_pod(ns, pod_manifest("q"))
    assert status_of(exists.value).reason == "AlreadyExists"


def test_throttling_is_retried_by_the_client_for_reads_only(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.faults.fail_next(429, verb="list", resource="pods", retry_after=0)
    double.faults.fail_next(503, verb="list", resource="pods", retry_after=0)
    assert api.list_namespaced_pod(ns).items == []
    assert [r.status for r in double.requests_matching(verb="list", resource="pods")] == [
        429,
        503,
        200,
    ]

    double.faults.fail_next(429, verb="create", resource="pods", retry_after=1)
    with pytest.raises(ApiException) as throttled:
        api.create_namespaced_pod(ns, pod_manifest("p"))
    assert throttled.value.status == 429
    assert throttled.value.headers["Retry-After"] == "1"
    assert status_of(throttled.value).details.retry_after_seconds == 1
    double.faults.fail_next(503, verb="create", resource="pods", retry_after=2)
    with pytest.raises(ApiException) as unavailable:
        api.create_namespaced_pod(ns, pod_manifest("p"))
    assert status_of(unavailable.value).reason == "ServiceUnavailable"


# broken connections -------------------------------------------------------------------------


def test_a_reset_before_a_read_is_retried_but_not_before_a_create(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.faults.reset_next(verb="list", resource="pods")
    assert api.list_namespaced_pod(ns).items == []
    assert [r.fault for r in double.requests_matching(verb="list")] == ["reset", None]

    double.faults.reset_next(verb="create", resource="pods")
    with pytest.raises(urllib3.exceptions.ProtocolError):
        api.create_namespaced_pod(ns, pod_manifest("p"))
    assert double.pod(ns, "p") is None


def test_a_reset_after_a_create_leaves_the_pod_created(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.faults.reset_next(when="after", verb="create", resource="pods")
    with pytest.raises(urllib3.exceptions.ProtocolError):
        api.create_namespaced_pod(ns, pod_manifest("ambiguous"))
    with pytest.raises(ApiException) as again:
        api.create_namespaced_pod(ns, pod_manifest("ambiguous"))
    assert status_of(again.value).reason == "AlreadyExists"


def test_a_reset_in_the_middle_of_a_response(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    api.create_namespaced_pod(ns, pod_manifest("p"))
    double.faults.reset_next(when="mid", verb="get", resource="pods", name="p")
    with pytest.raises(urllib3.exceptions.ProtocolError):
        api.read_namespaced_pod("p", ns)
    assert api.read_namespaced_pod("p", ns).metadata.name == "p"


def test_refused_connections_then_the_same_port_again(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    port = double.port
    with double.faults.connections_refused():
        with pytest.raises(urllib3.exceptions.MaxRetryError) as refused:
            api.list_namespaced_pod(ns, _request_timeout=2)
        assert isinstance(refused.value.reason, urllib3.exceptions.NewConnectionError)
    assert double.port == port
    assert api.list_namespaced_pod(ns).items == []


# exec ---------------------------------------------------------------------------------------


def test_a_dropped_exec_leaves_the_command_running(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    start_pod(double, api, ns, "ex", container("worker", volumeMounts=MOUNT))
    workspace = double.volume_dir(ns, "ex", "workspace")
    os.mkfifo(workspace / "gate")
    double.faults.exec_drop(after_bytes=5)
    ws = open_exec(
        api, ns, "ex", shell("echo step-output; cat /workspace/gate; echo 0 > /workspace/exit-code")
    )
    result = collect(ws)
    assert result.error is not None
    assert result.stdout.startswith(b"step")
    assert result.status is None and result.open_at_error  # as the notes say: still "open"
    with open(workspace / "gate", "w") as gate:  # the command goes on without the client
        gate.write("go\n")
    exit_file = workspace / "exit-code"
    double.wait_for(exit_file.exists, message="the command to finish on its own")


def test_a_stalled_exec_goes_silent_and_answers_no_pings(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    start_pod(double, api, ns, "ex", container("worker", volumeMounts=MOUNT))
    workspace = double.volume_dir(ns, "ex", "workspace")
    os.mkfifo(workspace / "gate")
    double.faults.exec_stall(after_bytes=5)
    ws = open_exec(
        api,
        ns,
        "ex",
        shell("echo step-output; cat /workspace/gate; echo more; echo 0 > /workspace/exit-code"),
    )
    result = collect(ws, timeout=1.0)
    assert isinstance(result.error, TimeoutError)
    assert result.stdout == b"step-output\n" and ws.is_open()
    ws.sock.ping()
    with open(workspace / "gate", "w") as gate:  # the command goes on regardless
        gate.write("go\n")
    double.wait_for((workspace / "exit-code").exists, message="the command to finish")
    readable, _, _ = select.select([ws.sock.sock], [], [], 0.5)
    assert readable == [], "a black hole sends nothing: no output, status, close or pong"
    ws.close()


def test_an_exec_closed_without_status(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    start_pod(double, api, ns, "ex", container("worker"))
    double.faults.exec_close_without_status()
    result = run_exec(api, ns, "ex", ["echo", "out"])
    assert (result.stdout, result.status, result.error) == (b"out\n", None, None)


def test_an_exec_internal_error(double: KubernetesDouble, api: client.CoreV1Api, ns: str) -> None:
    start_pod(double, api, ns, "ex", container("worker"))
    double.faults.exec_internal_error(message="container runtime is down")
    result = run_exec(api, ns, "ex", ["echo", "never"])
    assert result.stdout == b""
    assert result.status == {
        "metadata": {},
        "status": "Failure",
        "message": "Internal error occurred: error executing command in container: "
        "container runtime is down",
        "reason": "InternalError",
        "details": {
            "causes": [
                {"message": "error executing command in container: container runtime is down"}
            ]
        },
        "code": 500,
    }


def test_a_stepped_image_pull_failure_backs_off_on_the_next_sync(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.faults.image_pull_failure(container="main")
    api.create_namespaced_pod(ns, pod_manifest("stepped", container("main", ["true"])))
    double.kubelet.schedule(ns, "stepped")
    double.kubelet.start(ns, "stepped")
    assert waiting_reason(double, ns, "stepped", "main") == "ErrImagePull"
    double.kubelet.sync(ns, "stepped")
    assert waiting_reason(double, ns, "stepped", "main") == "ImagePullBackOff"
    double.faults.clear_container_faults()
    double.kubelet.sync(ns, "stepped")
    double.wait_for_phase(ns, "stepped", "Succeeded")
