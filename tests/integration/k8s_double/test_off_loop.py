"""What the double does off its event loop stays as faithful as on it: processes
started in a thread, leftovers reaped in a thread, stored objects shared copy-on-write,
and the double in a process of its own."""

from __future__ import annotations

import time
from pathlib import Path

from kubernetes import client, config

from tests.k8s_double import KubernetesDouble
from tests.k8s_double.standalone import StandaloneDouble
from tests.support import wait_until

from .support import container, pod_manifest, run_exec, shell
from .test_kubelet import MOUNTS, WORKSPACE, alive
from .watching import WatchRecorder, summary


def test_what_containers_left_behind_dies_when_each_ends(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    """Several containers ending at once, each leaving a process outside its group: the
    reaper kills every one (one scan for all of them) and the pods still succeed."""
    double.kubelet.auto = True
    names = [f"leaky-{i}" for i in range(4)]
    for name in names:
        main = container(
            "main",
            shell("setsid sleep 600 & echo $! > /workspace/escaped.pid; exit 0"),
            volumeMounts=MOUNTS[:1],
        )
        api.create_namespaced_pod(ns, pod_manifest(name, main, volumes=[WORKSPACE]))
    for name in names:
        double.wait_for_phase(ns, name, "Succeeded")
    escaped = [
        int((double.volume_dir(ns, name, "workspace") / "escaped.pid").read_text())
        for name in names
    ]
    double.wait_for(
        lambda: not any(alive(pid) for pid in escaped), message="every leftover to be killed"
    )


def test_exec_with_stdin_and_the_exit_code_through_processes_started_in_a_thread(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.kubelet.auto = True
    api.create_namespaced_pod(ns, pod_manifest("p", container("main", ["sleep", "600"])))
    double.wait_for_phase(ns, "p", "Running")
    result = run_exec(api, ns, "p", shell("cat; exit 3"), "main", stdin=b"through stdin\n")
    assert result.stdout == b"through stdin\n"
    assert result.exit_code == 3


def test_a_missing_command_is_a_start_error_not_a_stuck_container(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.kubelet.auto = True
    missing = container("main", ["/nonexistent/binary"])
    api.create_namespaced_pod(ns, pod_manifest("p", missing))
    pod = double.wait_for_phase(ns, "p", "Failed")
    state = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (state["reason"], state["exitCode"]) == ("StartError", 128)


def test_a_watch_replays_every_version_as_it_was_written(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    """Stored objects are shared, never changed in place: the history keeps each
    version as it was, however often the object changed after."""
    api.create_namespaced_pod(ns, pod_manifest("p"))
    version = api.list_namespaced_pod(ns).metadata.resource_version
    for step in ("1", "2", "3"):
        api.patch_namespaced_pod("p", ns, {"metadata": {"labels": {"step": step}}})
    double.kubelet.schedule(ns, "p")
    recorder = WatchRecorder(double, api.list_namespaced_pod, ns, resource_version=version).start()
    events = recorder.events(4)
    assert summary(events) == [("MODIFIED", "p")] * 4
    assert [e["object"].metadata.labels.get("step") for e in events] == ["1", "2", "3", "3"]
    assert [e["object"].spec.node_name for e in events] == [None, None, None, "k8s-double-node"]
    recorder.stop()
    assert double.pod(ns, "p")["metadata"]["labels"] == {"step": "3"}


def test_a_standalone_double_serves_reports_creates_and_holds_pods(tmp_path: Path) -> None:
    with StandaloneDouble(
        tmp_path / "double", tmp_path / "kubeconfig", token="t", namespaces=("jobs",)
    ) as double:
        api = client.CoreV1Api(config.new_client_from_config(config_file=str(double.kubeconfig)))
        double.hold()
        sent = time.time()
        api.create_namespaced_pod("jobs", pod_manifest("held", container("main", ["true"])))
        report = double.report()
        assert set(report["pod_creates"]) == {"held"}
        assert sent <= report["pod_creates"]["held"] <= time.time()
        assert all(lag >= 0 for lag in report["loop_lag"])
        assert api.read_namespaced_pod("held", "jobs").status.phase == "Pending"
        double.release()
        wait_until(
            lambda: api.read_namespaced_pod("held", "jobs").status.phase == "Succeeded",
            timeout=30,
            what="the released pod to run",
        )
        api.api_client.close()
