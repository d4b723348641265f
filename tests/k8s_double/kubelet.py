"""The simulated scheduler + kubelet of the double's single node.

Pods progress only when a test steps them (`schedule`, `run_init_containers`, `start`,
`terminate`, ...) or, in auto mode, as soon as they are created. Process exits are
always observed, as a kubelet would. Every change is written to the pod's status and so
reaches watches as a MODIFIED event.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cluster import NODE_NAME, Cluster
from .faults import DEFAULT_UNSCHEDULABLE
from .meta import clone, hex_id, utcnow
from .objects import image_is_valid, normalize_image
from .pods import PodRuntime, new_runtime
from .podstatus import ContainerRecord, build_status
from .runtime import (
    ConfigError,
    LogBuffer,
    MountError,
    Sandbox,
    container_argv,
    container_env,
    exit_status,
    kill_group,
    materialize_volumes,
    process_env,
    pump,
    spawn,
)

JsonDict = dict[str, Any]
HOST_IP = "10.88.0.2"
NODE_LOST_UNSCHEDULABLE = ("0/1 nodes are available: 1 node(s) had untolerated taint "
                           "{node.kubernetes.io/unreachable: }. preemption: 0/1 nodes are "
                           "available: 1 Preemption is not helpful for scheduling.")


class KubeletError(Exception):
    """A step asked of the kubelet that does not apply to the pod's state."""


class Kubelet:
    def __init__(self, cluster: Cluster, base_dir: Path, on_change: Callable[[], None]) -> None:
        self.cluster = cluster
        self.store = cluster.store
        self.base_dir = base_dir
        self.on_change = on_change
        self.auto = False
        self.node_ready = True
        self.hold_deletions = False
        self.kill_grace = 2.0
        self.pods: dict[str, PodRuntime] = {}
        self._ips = itertools.count(2)
        self._tasks: set[asyncio.Task[Any]] = set()

    # lookups --------------------------------------------------------------------------

    def runtime(self, namespace: str, name: str) -> PodRuntime:
        pod = self.store.get("pods", namespace, name)
        if pod is None or pod["metadata"]["uid"] not in self.pods:
            raise KubeletError(f"no pod {namespace}/{name}")
        return self.pods[pod["metadata"]["uid"]]

    def pod_object(self, rt: PodRuntime) -> JsonDict | None:
        pod = self.store.get("pods", rt.namespace, rt.name)
        return pod if pod is not None and pod["metadata"]["uid"] == rt.uid else None

    # hooks from the control plane -------------------------------------------------------

    def pod_created(self, pod: JsonDict) -> None:
        rt = new_runtime(pod, self.on_change)
        self.pods[rt.uid] = rt
        if self.auto:
            self._spawn(self.sync(rt))

    def pod_deleting(self, pod: JsonDict) -> None:
        rt = self.pods.get(pod["metadata"]["uid"])
        if rt is not None:
            self._spawn(self.stop_pod(rt))

    def pod_removed(self, pod: JsonDict) -> None:
        rt = self.pods.get(pod["metadata"]["uid"])
        if rt is not None and not rt.removed:
            rt.removed = rt.stopping = True
            self._kill_everything(rt)

    def secret_changed(self, namespace: str) -> None:
        if not self.auto:
            return
        for rt in list(self.pods.values()):
            if rt.namespace == namespace and not rt.stopping and not rt.fully_started:
                self._spawn(self.sync(rt))

    def set_auto(self, auto: bool) -> None:
        self.auto = auto
        if auto:
            self.resync_all()

    def resync_all(self) -> None:
        for rt in list(self.pods.values()):
            if not rt.stopping and not rt.fully_started:
                self._spawn(self.sync(rt))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # status ---------------------------------------------------------------------------

    def write_status(self, rt: PodRuntime, kubelet: bool = True) -> None:
        """Publish the pod's status (the kubelet cannot while its node is lost)."""
        if rt.removed or (kubelet and not self.node_ready):
            return
        pod = self.pod_object(rt)
        if pod is None:
            return
        updated = clone(pod)
        if rt.record.scheduled and not updated["spec"].get("nodeName"):
            updated["spec"]["nodeName"] = rt.record.node
        updated["status"] = build_status(rt.spec, rt.qos, rt.record, list(rt.containers.values()))
        if updated != pod:
            self.store.modify("pods", updated)

    def event(self, rt: PodRuntime, reason: str, message: str, *, warning: bool = False,
              container: str | None = None, component: str = "kubelet") -> None:
        pod = self.pod_object(rt)
        if pod is not None and (self.node_ready or component != "kubelet"):
            self.cluster.events.pod(pod, reason, message, warning=warning,
                                    component=component, container=container)

    # scheduling -----------------------------------------------------------------------

    def schedule(self, rt: PodRuntime, node: str | None = None) -> bool:
        if rt.record.scheduled:
            return True
        message = self.cluster.faults.unschedulable_message(rt.namespace, rt.name)
        if message is None and not self.node_ready:
            message = NODE_LOST_UNSCHEDULABLE
        if message is not None:
            self.mark_unschedulable(rt, message)
            return False
        rt.record.scheduled, rt.record.unschedulable = True, None
        rt.record.node = node or NODE_NAME
        self.write_status(rt, kubelet=False)
        self.event(rt, "Scheduled", f"Successfully assigned {rt.namespace}/{rt.name} to "
                   f"{rt.record.node}", component="default-scheduler")
        return True

    def mark_unschedulable(self, rt: PodRuntime, message: str = DEFAULT_UNSCHEDULABLE) -> None:
        if rt.record.scheduled:
            raise KubeletError(f"pod {rt.namespace}/{rt.name} is already scheduled")
        rt.record.unschedulable = message
        self.write_status(rt, kubelet=False)
        self.event(rt, "FailedScheduling", message, warning=True, component="default-scheduler")

    # the pod's progression ------------------------------------------------------------

    async def sync(self, rt: PodRuntime) -> None:
        """What a kubelet sync does: everything that can progress, progresses."""
        async with rt.lock:
            if rt.stopping or not self.schedule(rt):
                return
            if not await self._run_init(rt):
                return
            await self._start_regular(rt, None)

    async def run_init_containers(self, rt: PodRuntime) -> bool:
        async with rt.lock:
            self._require_scheduled(rt)
            return await self._run_init(rt)

    async def start(self, rt: PodRuntime, names: list[str] | None = None) -> None:
        async with rt.lock:
            self._require_scheduled(rt)
            if await self._run_init(rt):
                await self._start_regular(rt, names)

    def _require_scheduled(self, rt: PodRuntime) -> None:
        if not rt.record.scheduled:
            raise KubeletError(f"pod {rt.namespace}/{rt.name} is not scheduled")
        if rt.stopping:
            raise KubeletError(f"pod {rt.namespace}/{rt.name} is terminating")

    def _setup_sandbox(self, rt: PodRuntime) -> bool:
        pod = self.pod_object(rt)
        if pod is None:
            return False
        if rt.sandbox is None:
            rt.sandbox = Sandbox(self.base_dir / rt.namespace / f"{rt.name}-{rt.uid[:8]}")
            rt.record.start_time = utcnow()
            rt.record.host_ip = HOST_IP
        try:
            materialize_volumes(rt.sandbox, pod, self._secret)
        except MountError as exc:
            self.write_status(rt)
            self.event(rt, "FailedMount", str(exc), warning=True)
            return False
        if not rt.record.sandbox_ready:
            rt.record.sandbox_ready = True
            rt.record.pod_ip = f"10.244.0.{next(self._ips) % 250 + 2}"
            self.write_status(rt)
        return True

    async def _run_init(self, rt: PodRuntime) -> bool:
        if rt.record.initialized:
            return True
        if not rt.record.sandbox_ready and not self._setup_sandbox(rt):
            return False
        for rec in rt.init_records():
            if rec.state == "terminated" and rec.exit_code == 0:
                continue
            if rec.state == "waiting" and rec.last_terminated is not None:
                return False  # crash-looping init container: needs restart()
            if rec.state != "running" and not self._start_container(rt, rec):
                self.write_status(rt)
                return False
            self.write_status(rt)
            if await rt.exits[rec.name] != 0 or rt.stopping:
                return False
        rt.record.initialized = True
        for rec in rt.regular_records():
            if rec.state == "waiting" and rec.reason == "PodInitializing":
                rec.reason = "ContainerCreating"
        self.write_status(rt)
        return True

    async def _start_regular(self, rt: PodRuntime, names: list[str] | None) -> None:
        for rec in rt.regular_records():
            if names is not None and rec.name not in names:
                continue
            if rec.state == "waiting" and rec.last_terminated is None:
                self._start_container(rt, rec)
        self.write_status(rt)
        if self.auto and any(r.reason == "ErrImagePull" for r in rt.regular_records()):
            await asyncio.sleep(0)
            for rec in rt.regular_records():
                if rec.reason == "ErrImagePull":
                    self._start_container(rt, rec)
            self.write_status(rt)

    # containers -----------------------------------------------------------------------

    def _secret(self, namespace: str, name: str) -> JsonDict | None:
        return self.store.get("secrets", namespace, name)

    def _waiting(self, rt: PodRuntime, rec: ContainerRecord, reason: str, message: str) -> bool:
        rec.state, rec.reason, rec.message = "waiting", reason, message
        self.event(rt, "Failed", f"Error: {reason}" if reason != "CreateContainerConfigError"
                   else f"Error: {message}", warning=True, container=rec.name)
        return False

    def _start_container(self, rt: PodRuntime, rec: ContainerRecord) -> bool:
        """Pull, configure and start one container. False when it is left waiting."""
        pod = self.pod_object(rt)
        if pod is None or rt.sandbox is None:
            return False
        fault = self.cluster.faults.container_fault(rt.namespace, rt.name, rec.name, rec.image)
        reason = fault.reason if fault else None
        if reason == "InvalidImageName" or not image_is_valid(rec.image):
            return self._waiting(rt, rec, "InvalidImageName", (fault and fault.message) or (
                f'Failed to apply default image tag "{rec.image}": couldn\'t parse image name '
                f'"{rec.image}": invalid reference format'))
        if reason == "ErrImagePull":
            return self._pull_failed(rt, rec, fault.message if fault else None)
        try:
            if reason == "CreateContainerConfigError":
                raise ConfigError((fault and fault.message) or 'secret "missing" not found')
            declared = container_env(pod, rec.spec, self._secret)
        except ConfigError as exc:
            return self._waiting(rt, rec, "CreateContainerConfigError", str(exc))
        rec.image_id = self._image_id(rec.image)
        self._pulled(rt, rec)
        rec.container_id = "containerd://" + hex_id()
        rec.reason = rec.message = None
        self.event(rt, "Created", f"Created container: {rec.name}", container=rec.name)
        env = process_env(pod, rec.spec, declared, rt.sandbox)
        argv = container_argv(rec.spec, env, rt.sandbox)
        rt.exits[rec.name] = asyncio.get_running_loop().create_future()
        rec.state, rec.started_at, rec.finished_at = "running", utcnow(), None
        self.event(rt, "Started", f"Started container {rec.name}", container=rec.name)
        if not argv:
            if rec.init:  # an init container without a command has nothing to do
                self.container_exited(rt, rec, 0)
            return True
        watcher = asyncio.get_running_loop().create_task(
            self._run_process(rt, rec, argv, rt.sandbox.working_dir(rec.spec), env))
        rt.watchers[rec.name] = watcher
        return True

    def _pull_failed(self, rt: PodRuntime, rec: ContainerRecord, message: str | None) -> bool:
        image = normalize_image(rec.image)
        if rec.reason == "ErrImagePull":
            rec.reason, rec.message = "ImagePullBackOff", f'Back-off pulling image "{rec.image}"'
            self.event(rt, "BackOff", rec.message, warning=True, container=rec.name)
            return False
        self.event(rt, "Pulling", f'Pulling image "{rec.image}"', container=rec.name)
        text = message or (f'failed to pull and unpack image "{image}": failed to resolve '
                           f'reference "{image}": pull access denied, repository does not exist '
                           "or may require authorization: server message: insufficient_scope: "
                           "authorization failed")
        self.event(rt, "Failed", f'Failed to pull image "{rec.image}": {text}', warning=True,
                   container=rec.name)
        return self._waiting(rt, rec, "ErrImagePull", text)

    def _pulled(self, rt: PodRuntime, rec: ContainerRecord) -> None:
        if rec.spec.get("imagePullPolicy") == "IfNotPresent" or rec.restart_count:
            self.event(rt, "Pulled", f'Container image "{rec.image}" already present on '
                       "machine", container=rec.name)
            return
        self.event(rt, "Pulling", f'Pulling image "{rec.image}"', container=rec.name)
        self.event(rt, "Pulled", f'Successfully pulled image "{rec.image}" in 412ms (412ms '
                   "including waiting). Image size: 2154311 bytes.", container=rec.name)

    @staticmethod
    def _image_id(image: str) -> str:
        normalized = normalize_image(image)
        repo = normalized.split("@")[0].rsplit(":", 1)[0] if "/" in normalized else normalized
        return f"{repo}@sha256:{hashlib.sha256(normalized.encode()).hexdigest()}"

    async def _run_process(self, rt: PodRuntime, rec: ContainerRecord, argv: list[str],
                           cwd: Path, env: dict[str, str]) -> None:
        log = rt.logs[rec.name]
        try:
            proc = await spawn(argv, cwd, env)
        except OSError as exc:
            rec.finished_at = utcnow()
            self.container_exited(rt, rec, 128, "StartError", (
                "failed to create containerd task: failed to create shim task: OCI runtime "
                "create failed: runc create failed: unable to start container process: exec: "
                f'"{argv[0]}": {exc.strerror or exc}: unknown'))
            return
        if rt.stopping or rt.watchers.get(rec.name) is not asyncio.current_task():
            kill_group(proc.pid, signal.SIGKILL)  # stopped or terminated while starting
        else:
            rt.processes[rec.name] = proc
        pumps = asyncio.gather(pump(proc.stdout, log.append), pump(proc.stderr, log.append))
        returncode = await proc.wait()
        kill_group(proc.pid, signal.SIGKILL)  # the container's PID namespace goes away
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(pumps, 5)
        log.close()
        if rt.processes.get(rec.name) is proc:
            del rt.processes[rec.name]
            self.container_exited(rt, rec, exit_status(returncode))

    def container_exited(self, rt: PodRuntime, rec: ContainerRecord, code: int,
                         reason: str | None = None, message: str | None = None) -> None:
        rec.state, rec.exit_code = "terminated", code
        rec.reason = reason or ("Completed" if code == 0 else "Error")
        rec.message = message or self._termination_message(rt, rec)
        rec.finished_at = utcnow()
        if rec.name not in rt.processes and rec.name not in rt.watchers:
            rt.logs[rec.name].close()
        future = rt.exits.get(rec.name)
        if future is not None and not future.done():
            future.set_result(code)
        policy = rt.spec.get("restartPolicy", "Always")
        restart = policy == "Always" or (policy == "OnFailure" and code != 0)
        if rec.init:
            restart = policy != "Never" and code != 0
        if restart and not rt.stopping and rt.record.terminal_phase is None:
            rec.last_terminated = rec.terminated_dict()
            rec.restart_count += 1
            rec.state, rec.reason = "waiting", "CrashLoopBackOff"
            rec.message = (f"back-off 10s restarting failed container={rec.name} "
                           f"pod={rt.name}_{rt.namespace}({rt.uid})")
            self.event(rt, "BackOff", f"Back-off restarting failed container {rec.name} in pod "
                       f"{rt.name}_{rt.namespace}({rt.uid})", warning=True, container=rec.name)
        if not rt.stopping:  # a stopping pod reports once, when all its containers ended
            self.write_status(rt)

    def _termination_message(self, rt: PodRuntime, rec: ContainerRecord) -> str | None:
        policy = rec.spec.get("terminationMessagePolicy")
        if rec.exit_code == 0 or policy != "FallbackToLogsOnError":
            return None
        tail = b"".join(rt.logs[rec.name].data().splitlines(keepends=True)[-80:])[-2048:]
        return tail.decode("utf-8", "replace") or None

    # stepping by tests ------------------------------------------------------------------

    async def terminate(self, rt: PodRuntime, name: str, exit_code: int = 0,
                        reason: str | None = None, message: str | None = None) -> None:
        rec = rt.containers[name]
        proc = rt.processes.pop(name, None)
        watcher = rt.watchers.pop(name, None)
        if proc is not None:
            kill_group(proc.pid, signal.SIGKILL)
        if watcher is not None:
            await watcher
        if rec.started_at is None:
            rec.started_at = utcnow()
        self.container_exited(rt, rec, exit_code, reason, message)

    async def restart(self, rt: PodRuntime, name: str) -> None:
        rec = rt.containers[name]
        if rec.state != "waiting" or rec.last_terminated is None:
            raise KubeletError(f"container {name} is not waiting to restart")
        rt.previous_logs[name] = rt.logs[name]
        rt.logs[name] = LogBuffer(self.on_change)
        rt.watchers.pop(name, None)
        self._start_container(rt, rec)
        self.write_status(rt)
        if self.auto:
            self._spawn(self.sync(rt))

    def _kill_everything(self, rt: PodRuntime) -> None:
        for proc in list(rt.processes.values()) + list(rt.exec_processes):
            kill_group(proc.pid, signal.SIGKILL)

    async def stop_pod(self, rt: PodRuntime) -> None:
        """Graceful termination after a delete: TERM, wait a little, KILL, report, remove."""
        if not self.node_ready or self.hold_deletions:
            rt.pending_deletion = True
            return
        rt.stopping, rt.pending_deletion = True, False
        for rec in rt.containers.values():
            if rec.state == "running":
                self.event(rt, "Killing", f"Stopping container {rec.name}", container=rec.name)
        await self._stop_containers(rt, 137)
        for proc in list(rt.exec_processes):
            kill_group(proc.pid, signal.SIGKILL)
        self.cluster.finish_pod_deletion(rt.namespace, rt.name, rt.uid)

    async def _stop_containers(self, rt: PodRuntime, idle_exit: int,
                               reason: str | None = None) -> None:
        procs = dict(rt.processes)
        for proc in procs.values():
            kill_group(proc.pid, signal.SIGTERM)
        waits = [asyncio.ensure_future(p.wait()) for p in procs.values()]
        if waits:
            grace = min(self.kill_grace, float(rt.spec.get("terminationGracePeriodSeconds", 30)))
            await asyncio.wait(waits, timeout=grace)
        for proc in procs.values():
            kill_group(proc.pid, signal.SIGKILL)
        watchers = [rt.watchers[n] for n in procs if n in rt.watchers]
        if watchers:
            await asyncio.wait(watchers, timeout=10)
        for rec in rt.containers.values():
            if rec.state == "running" and rec.name not in rt.processes:
                self.container_exited(rt, rec, idle_exit, reason)
        self.write_status(rt)

    async def fail_pod(self, rt: PodRuntime, reason: str, message: str,
                       disruption: JsonDict | None = None) -> None:
        """Kubelet-side termination: eviction, deadline exceeded."""
        rt.stopping = True
        rt.record.disruption = disruption
        rt.record.reason, rt.record.message = reason, message
        procs = dict(rt.processes)
        for proc in procs.values():
            kill_group(proc.pid, signal.SIGKILL)
        rt.processes.clear()
        for name in procs:
            watcher = rt.watchers.pop(name, None)
            if watcher is not None:
                await watcher
        for rec in rt.containers.values():
            if rec.state == "running":
                self.container_exited(rt, rec, 137)
            elif rec.state == "waiting" and rec.started_at is None and rt.record.initialized:
                self.container_exited(rt, rec, 137, "ContainerStatusUnknown",
                                      "The container could not be located when the pod was "
                                      "terminated")
        rt.record.terminal_phase = "Failed"
        self.write_status(rt)

    # node ---------------------------------------------------------------------------

    def lose_node(self) -> None:
        """The node stops reporting; the node controller marks its pods not ready."""
        if not self.node_ready:
            return
        for rt in self.pods.values():
            rt.record.node_ready = False
            if rt.record.scheduled and rt.record.terminal_phase is None:
                self.write_status(rt, kubelet=False)
                self.event(rt, "NodeNotReady", "Node is not ready", warning=True,
                           component="node-controller")
        self.node_ready = False

    async def restore_node(self) -> None:
        self.node_ready = True
        for rt in list(self.pods.values()):
            rt.record.node_ready = True
            if rt.pending_deletion:
                self._spawn(self.stop_pod(rt))
            else:
                self.write_status(rt)
        if self.auto:
            self.resync_all()

    async def finish_deletions(self) -> None:
        self.hold_deletions = False
        for rt in list(self.pods.values()):
            if rt.pending_deletion:
                await self.stop_pod(rt)

    async def shutdown(self) -> None:
        for rt in self.pods.values():
            rt.removed = rt.stopping = True
            self._kill_everything(rt)
        tasks = [t for rt in self.pods.values() for t in rt.watchers.values()]
        tasks += list(self._tasks)
        for task in self._tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
