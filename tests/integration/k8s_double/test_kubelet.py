"""The simulated kubelet: stepped and auto lifecycles, real processes, volumes, deletion."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

from kubernetes import client

from tests.k8s_double import KubernetesDouble

from .support import PY, container, pod_manifest, shell
from .watching import WatchRecorder

WORKSPACE = {"name": "workspace", "emptyDir": {}}
DANUBE = {"name": "danube", "emptyDir": {}}
MOUNTS = [
    {"name": "workspace", "mountPath": "/workspace"},
    {"name": "danube", "mountPath": "/var/run/danube"},
]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def conditions(pod: client.V1Pod) -> dict[str, str]:
    return {c.type: c.status for c in pod.status.conditions or []}


def test_a_stepped_pod_goes_through_the_phases(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    api.create_namespaced_pod(
        ns,
        pod_manifest(
            "job", container("main", shell("echo started; exec sleep 600")), container("worker")
        ),
    )
    recorder = WatchRecorder(double, api.list_namespaced_pod, ns).start()
    assert recorder.event()["type"] == "ADDED"

    assert double.kubelet.schedule(ns, "job")
    scheduled = recorder.event()["object"]
    assert scheduled.spec.node_name == "k8s-double-node"
    assert conditions(scheduled) == {"PodScheduled": "True"}
    assert scheduled.status.phase == "Pending"

    double.kubelet.start(ns, "job")
    pod = api.read_namespaced_pod("job", ns)
    assert pod.status.phase == "Running"
    assert pod.status.pod_ip and pod.status.host_ip and pod.status.start_time
    assert conditions(pod) == {
        "PodReadyToStartContainers": "True",
        "Initialized": "True",
        "Ready": "True",
        "ContainersReady": "True",
        "PodScheduled": "True",
    }
    statuses = {s.name: s for s in pod.status.container_statuses}
    assert statuses["main"].state.running is not None and statuses["main"].ready
    assert statuses["main"].container_id.startswith("containerd://")
    assert statuses["main"].image_id.startswith("registry.example/danube/runner@sha256:")
    double.wait_for(lambda: b"started" in double.logs(ns, "job", "main"), message="output")

    double.kubelet.terminate(ns, "job", "main", exit_code=0)
    pod = api.read_namespaced_pod("job", ns)
    assert pod.status.phase == "Running"  # the idle worker still runs
    main = next(s for s in pod.status.container_statuses if s.name == "main")
    assert (main.state.terminated.exit_code, main.state.terminated.reason) == (0, "Completed")
    assert main.state.terminated.finished_at >= main.state.terminated.started_at

    double.kubelet.terminate(ns, "job", "worker", exit_code=0)
    pod = api.read_namespaced_pod("job", ns)
    assert pod.status.phase == "Succeeded"
    assert conditions(pod)["Ready"] == "False"
    types = [e["type"] for e in recorder.events(3)]
    assert types == ["MODIFIED"] * 3
    recorder.stop()


def test_auto_mode_runs_init_and_containers_sharing_an_empty_dir(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.kubelet.auto = True
    clone = container(
        "clone",
        shell(
            "mkdir -p /workspace/src && echo 'print(6 * 7)' > /workspace/src/main.py && echo cloned"
        ),
        volumeMounts=MOUNTS,
    )
    coordinator = container(
        "coordinator",
        [
            PY,
            "-c",
            "import subprocess, pathlib;"
            "out = subprocess.run(['"
            + PY
            + "', 'main.py'], capture_output=True, text=True).stdout;"
            "pathlib.Path('/workspace/result.txt').write_text(out);"
            "pathlib.Path('$(STATUS_DIR)/status').write_text('done');"
            "print('result', out.strip())",
        ],
        workingDir="/workspace/src",
        env=[{"name": "STATUS_DIR", "value": "/var/run/danube"}],
        volumeMounts=MOUNTS,
    )
    worker = container("worker", volumeMounts=MOUNTS)
    manifest = pod_manifest("run-1", coordinator, worker, init=[clone], volumes=[WORKSPACE, DANUBE])
    api.create_namespaced_pod(ns, manifest)

    pod = double.wait_for_pod(
        ns,
        "run-1",
        lambda p: any(
            s["state"].get("terminated")
            for s in p["status"].get("containerStatuses", [])
            if s["name"] == "coordinator"
        ),
        message="the coordinator to finish",
    )
    read = api.read_namespaced_pod("run-1", ns)
    assert read.status.phase == "Running"  # the worker is still there
    init = read.status.init_container_statuses[0]
    assert (init.state.terminated.exit_code, init.state.terminated.reason) == (0, "Completed")
    coordinator_status = next(s for s in read.status.container_statuses if s.name == "coordinator")
    assert coordinator_status.state.terminated.exit_code == 0, pod
    workspace = double.volume_dir(ns, "run-1", "workspace")
    assert (workspace / "result.txt").read_text() == "42\n"
    assert (double.volume_dir(ns, "run-1", "danube") / "status").read_text() == "done"
    assert api.read_namespaced_pod_log("run-1", ns, container="clone") == "cloned\n"
    assert api.read_namespaced_pod_log("run-1", ns, container="coordinator") == "result 42\n"


def test_a_failing_init_container_fails_the_pod(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.kubelet.auto = True
    api.create_namespaced_pod(
        ns,
        pod_manifest(
            "bad-init",
            container("main", shell("exit 0")),
            init=[
                container("first", shell("exit 0")),
                container("second", shell("exit 3")),
                container("third", shell("exit 0")),
            ],
        ),
    )
    double.wait_for_phase(ns, "bad-init", "Failed")
    pod = api.read_namespaced_pod("bad-init", ns)
    inits = {s.name: s.state for s in pod.status.init_container_statuses}
    assert inits["second"].terminated.exit_code == 3
    assert inits["second"].terminated.reason == "Error"
    assert inits["third"].waiting.reason == "PodInitializing"
    assert pod.status.container_statuses[0].state.waiting.reason == "PodInitializing"
    initialized = next(c for c in pod.status.conditions if c.type == "Initialized")
    assert initialized.status == "False" and initialized.reason == "ContainersNotInitialized"


def test_a_failed_init_container_is_not_run_again_when_a_secret_changes(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.kubelet.auto = True
    api.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "data": {}})
    init = container("once", shell("echo ran >> /workspace/runs; exit 3"), volumeMounts=MOUNTS[:1])
    api.create_namespaced_pod(
        ns, pod_manifest("once", container("main"), init=[init], volumes=[WORKSPACE])
    )
    double.wait_for_phase(ns, "once", "Failed")
    api.patch_namespaced_secret("s", ns, {"metadata": {"labels": {"changed": "yes"}}})
    double.wait_for(
        lambda: double.secret(ns, "s")["metadata"].get("labels"), message="the secret update"
    )
    double.kubelet.sync(ns, "once")
    assert (double.volume_dir(ns, "once", "workspace") / "runs").read_text() == "ran\n"


def test_a_failed_container_fails_a_never_restarting_pod(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.kubelet.auto = True
    api.create_namespaced_pod(
        ns,
        pod_manifest(
            "fails",
            container(
                "main",
                shell("echo boom >&2; exit 2"),
                terminationMessagePolicy="FallbackToLogsOnError",
            ),
        ),
    )
    double.wait_for_phase(ns, "fails", "Failed")
    terminated = api.read_namespaced_pod("fails", ns).status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason, terminated.message) == (2, "Error", "boom\n")


def test_a_command_that_cannot_start_is_a_start_error(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.kubelet.auto = True
    api.create_namespaced_pod(ns, pod_manifest("nostart", container("main", ["no-such-binary"])))
    double.wait_for_phase(ns, "nostart", "Failed")
    terminated = (
        api.read_namespaced_pod("nostart", ns).status.container_statuses[0].state.terminated
    )
    assert (terminated.exit_code, terminated.reason) == (128, "StartError")
    assert "no-such-binary" in terminated.message


def test_secrets_are_files_and_environment(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    api.create_namespaced_secret(
        ns, {"metadata": {"name": "creds"}, "stringData": {"token": "t0k3n", "user": "danube"}}
    )
    double.kubelet.auto = True
    main = container(
        "main",
        shell('echo "$USER_NAME:$(cat /var/run/danube/secrets/token)"'),
        env=[
            {"name": "USER_NAME", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "user"}}},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
        volumeMounts=[{"name": "creds", "mountPath": "/var/run/danube/secrets", "readOnly": True}],
    )
    volume = {"name": "creds", "secret": {"secretName": "creds", "defaultMode": 0o400}}
    api.create_namespaced_pod(ns, pod_manifest("uses-secret", main, volumes=[volume]))
    double.wait_for_phase(ns, "uses-secret", "Succeeded")
    assert api.read_namespaced_pod_log("uses-secret", ns) == "danube:t0k3n\n"
    token = double.volume_dir(ns, "uses-secret", "creds") / "token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o400
    sa = double.pod_dir(ns, "uses-secret") / "volumes"
    assert any(
        (d / "namespace").exists() and (d / "namespace").read_text() == ns
        for d in sa.iterdir()
        if d.name.startswith("kube-api-access-")
    )


def test_a_missing_secret_waits_until_it_exists(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.kubelet.auto = True
    main = container(
        "main",
        shell("echo $PASSWORD"),
        env=[{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "late", "key": "pw"}}}],
    )
    api.create_namespaced_pod(ns, pod_manifest("waits", main))
    pod = double.wait_for_pod(
        ns,
        "waits",
        lambda p: any(
            s["state"].get("waiting", {}).get("reason") == "CreateContainerConfigError"
            for s in p["status"].get("containerStatuses", [])
        ),
        message="config error",
    )
    assert (
        'secret "late" not found'
        in pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
    )
    api.create_namespaced_secret(
        ns, {"metadata": {"name": "late"}, "data": {"pw": base64.b64encode(b"hunter2").decode()}}
    )
    double.wait_for_phase(ns, "waits", "Succeeded")
    assert api.read_namespaced_pod_log("waits", ns) == "hunter2\n"


def test_graceful_deletion_is_modified_then_deleted_and_kills_processes(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.kubelet.auto = True
    main = container(
        "main",
        shell("sleep 600 & echo $! > /workspace/child.pid; echo ready; wait"),
        volumeMounts=MOUNTS[:1],
    )
    api.create_namespaced_pod(
        ns, pod_manifest("victim", main, container("worker"), volumes=[WORKSPACE])
    )
    double.wait_for(lambda: b"ready" in double.logs(ns, "victim", "main"), message="ready")
    child = int((double.volume_dir(ns, "victim", "workspace") / "child.pid").read_text())
    assert alive(child)
    version = api.read_namespaced_pod("victim", ns).metadata.resource_version
    recorder = WatchRecorder(double, api.list_namespaced_pod, ns, resource_version=version).start()

    deleted = api.delete_namespaced_pod("victim", ns)
    assert deleted.metadata.deletion_timestamp is not None
    assert deleted.metadata.deletion_grace_period_seconds == 30
    events = recorder.events(4)
    assert [e["type"] for e in events] == ["MODIFIED", "MODIFIED", "MODIFIED", "DELETED"]
    assert events[0]["object"].metadata.deletion_timestamp is not None
    assert events[0]["object"].metadata.generation == 2
    assert events[2]["object"].metadata.deletion_grace_period_seconds == 0  # the kubelet's
    final = {s.name: s.state.terminated for s in events[1]["object"].status.container_statuses}
    assert final["main"].exit_code == 143 and final["worker"].exit_code == 137
    double.wait_for(lambda: not alive(child), message="the container's child to be killed")
    recorder.stop()


def test_processes_that_left_their_process_group_die_with_their_pod(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    """As with a container's cgroup: setsid does not take a process out of its pod."""
    double.kubelet.auto = True
    main = container(
        "main",
        shell("setsid sleep 600 & echo $! > /workspace/escaped.pid; echo ready; wait"),
        volumeMounts=MOUNTS[:1],
    )
    api.create_namespaced_pod(ns, pod_manifest("leaky", main, volumes=[WORKSPACE]))
    double.wait_for(lambda: b"ready" in double.logs(ns, "leaky", "main"), message="ready")
    escaped = int((double.volume_dir(ns, "leaky", "workspace") / "escaped.pid").read_text())
    assert os.getpgid(escaped) != os.getpgid(os.getpid())
    api.delete_namespaced_pod("leaky", ns, grace_period_seconds=0)
    double.wait_for(lambda: not alive(escaped), message="the escaped process to be killed")


def test_deletion_with_grace_period_zero_is_immediate(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.kubelet.auto = True
    api.create_namespaced_pod(ns, pod_manifest("now", container("main", ["sleep", "600"])))
    double.wait_for_phase(ns, "now", "Running")
    api.delete_namespaced_pod("now", ns, grace_period_seconds=0)
    assert double.pod(ns, "now") is None


def test_hold_deletions_keeps_a_pod_terminating(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.kubelet.auto = True
    double.kubelet.hold_deletions = True
    api.create_namespaced_pod(ns, pod_manifest("slow", container("main", ["sleep", "600"])))
    double.wait_for_phase(ns, "slow", "Running")
    api.delete_namespaced_pod("slow", ns)
    assert api.read_namespaced_pod("slow", ns).metadata.deletion_timestamp is not None
    double.kubelet.finish_deletions()
    double.wait_for(lambda: double.pod(ns, "slow") is None, message="deletion")


def test_restart_policy_always_crash_loops_until_restarted(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.kubelet.auto = True
    api.create_namespaced_pod(
        ns,
        pod_manifest("loop", container("main", shell("echo run; exit 1")), restart_policy="Always"),
    )
    pod = double.wait_for_pod(
        ns,
        "loop",
        lambda p: p["status"].get("containerStatuses", [{}])[0].get("restartCount") == 1,
        message="a crash",
    )
    status = api.read_namespaced_pod("loop", ns).status
    main = status.container_statuses[0]
    assert status.phase == "Running", pod
    assert main.state.waiting.reason == "CrashLoopBackOff"
    assert main.last_state.terminated.exit_code == 1
    double.kubelet.restart(ns, "loop", "main")
    double.wait_for_pod(
        ns,
        "loop",
        lambda p: p["status"]["containerStatuses"][0].get("restartCount") == 2,
        message="a second crash",
    )
    assert api.read_namespaced_pod_log("loop", ns, previous=True) == "run\n"


def test_paths_and_variables_are_rewritten_for_the_container(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.kubelet.auto = True
    main = container(
        "main",
        shell("pwd; echo $OUT; echo $(DIR)"),
        workingDir="/workspace/src",
        env=[{"name": "DIR", "value": "/workspace/x"}, {"name": "OUT", "value": "$(DIR)/out"}],
        volumeMounts=MOUNTS[:1],
    )
    api.create_namespaced_pod(ns, pod_manifest("paths", main, volumes=[WORKSPACE]))
    double.wait_for_phase(ns, "paths", "Succeeded")
    local = double.volume_dir(ns, "paths", "workspace")
    lines = api.read_namespaced_pod_log("paths", ns).splitlines()
    assert lines == [f"{local}/src", f"{local}/x/out", f"{local}/x"]
    assert os.path.isdir(local / "src")


def test_init_containers_can_be_stepped_one_call_at_a_time(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    init = [
        container("prepare", shell("echo prepared > /workspace/state"), volumeMounts=MOUNTS[:1])
    ]
    main = container("main", shell("cat /workspace/state"), volumeMounts=MOUNTS[:1])
    api.create_namespaced_pod(ns, pod_manifest("steps", main, init=init, volumes=[WORKSPACE]))
    double.kubelet.schedule(ns, "steps")
    pending = api.read_namespaced_pod("steps", ns)
    assert pending.status.phase == "Pending" and pending.status.container_statuses is None

    assert double.kubelet.run_init_containers(ns, "steps")
    initialized = api.read_namespaced_pod("steps", ns)
    assert initialized.status.phase == "Pending"
    assert initialized.status.init_container_statuses[0].state.terminated.exit_code == 0
    assert initialized.status.container_statuses[0].state.waiting.reason == "ContainerCreating"

    double.kubelet.start(ns, "steps")
    double.wait_for_phase(ns, "steps", "Succeeded")
    assert api.read_namespaced_pod_log("steps", ns, container="main") == "prepared\n"
    assert api.read_namespaced_pod_status("steps", ns).status.phase == "Succeeded"


def test_the_kubelet_and_scheduler_record_events(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    double.kubelet.auto = True
    api.create_namespaced_pod(ns, pod_manifest("evented", container("main", ["true"])))
    double.wait_for_phase(ns, "evented", "Succeeded")
    events = api.list_namespaced_event(ns, field_selector="involvedObject.name=evented").items
    assert [
        e.reason for e in events if e.reason in ("Scheduled", "Pulled", "Created", "Started")
    ] == ["Scheduled", "Pulled", "Created", "Started"]
    scheduled = next(e for e in events if e.reason == "Scheduled")
    assert scheduled.source.component == "default-scheduler"
    assert scheduled.involved_object.kind == "Pod"


def test_closing_the_double_kills_every_process(tmp_path: Path) -> None:
    double = KubernetesDouble(auto=True)
    api = client.CoreV1Api(client.ApiClient(client.Configuration(host=double.url)))
    main = container(
        "main", shell("sleep 600 & echo $! > /workspace/pid; wait"), volumeMounts=MOUNTS[:1]
    )
    api.create_namespaced_pod("default", pod_manifest("left", main, volumes=[WORKSPACE]))
    pid_file = double.wait_for(
        lambda: next(double.base_dir.glob("default/left-*/volumes/workspace/pid"), None),
        message="the pid file",
    )
    double.wait_for(lambda: pid_file.read_text().strip(), message="the pid")
    pid = int(pid_file.read_text())
    assert alive(pid)
    double.close()
    assert not alive(pid)
    assert not double.base_dir.exists()
