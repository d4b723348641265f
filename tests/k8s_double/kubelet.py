"""The simulated scheduler + kubelet of the double's single node.

Pods progress only when a test steps them (`schedule`, `run_init_containers`, `start`,
`terminate`, ...) or, in auto mode, as soon as they are created. Process exits are
always observed, as a kubelet would. Every change is written to the pod's status and so
reaches watches as a MODIFIED event.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cluster import NODE_NAME, Cluster
from .containers import Containers
from .faults import DEFAULT_UNSCHEDULABLE
from .meta import utcnow
from .pods import KubeletError, PodRuntime, new_runtime
from .podstatus import build_status
from .runtime import kill_group, kill_marked_pods, reap_marked
from .sandbox import MountError, Sandbox, materialize_volumes

JsonDict = dict[str, Any]
HOST_IP = "10.88.0.2"
NODE_LOST_UNSCHEDULABLE = (
    "0/1 nodes are available: 1 node(s) had untolerated taint "
    "{node.kubernetes.io/unreachable: }. preemption: 0/1 nodes are "
    "available: 1 Preemption is not helpful for scheduling."
)


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
        self.containers = Containers(self)

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
            self.spawn(self.sync(rt))

    def pod_deleting(self, pod: JsonDict) -> None:
        rt = self.pods.get(pod["metadata"]["uid"])
        if rt is not None:
            self.spawn(self.stop_pod(rt))

    def pod_removed(self, pod: JsonDict) -> None:
        rt = self.pods.get(pod["metadata"]["uid"])
        if rt is not None and not rt.removed:
            rt.removed = rt.stopping = True
            self._kill_groups(rt)
            self.spawn(reap_marked(rt.uid))  # what left its group: off the loop

    def secret_changed(self, namespace: str) -> None:
        if not self.auto:
            return
        for rt in list(self.pods.values()):
            if rt.namespace == namespace and not rt.stopping and not rt.fully_started:
                self.spawn(self.sync(rt))

    def set_auto(self, auto: bool) -> None:
        self.auto = auto
        if auto:
            self.resync_all()

    def resync_all(self) -> None:
        for rt in list(self.pods.values()):
            if not rt.stopping and not rt.fully_started:
                self.spawn(self.sync(rt))

    def spawn(self, coro: Any) -> None:
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
        # copy on write (see Store): a new pod sharing what does not change
        updated = {**pod, "metadata": {**pod["metadata"]}}
        if rt.record.scheduled and not pod["spec"].get("nodeName"):
            updated["spec"] = {**pod["spec"], "nodeName": rt.record.node}
        updated["status"] = build_status(rt.spec, rt.qos, rt.record, list(rt.containers.values()))
        if updated != pod:
            self.store.modify("pods", updated)

    def event(
        self,
        rt: PodRuntime,
        reason: str,
        message: str,
        *,
        warning: bool = False,
        container: str | None = None,
        component: str = "kubelet",
    ) -> None:
        pod = self.pod_object(rt)
        if pod is not None and (self.node_ready or component != "kubelet"):
            self.cluster.events.pod(
                pod, reason, message, warning=warning, component=component, container=container
            )

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
        self.event(
            rt,
            "Scheduled",
            f"Successfully assigned {rt.namespace}/{rt.name} to {rt.record.node}",
            component="default-scheduler",
        )
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
            materialize_volumes(rt.sandbox, pod, self.containers.secret)
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
            if rec.state == "terminated":
                return False  # failed for good (restartPolicy Never): never run again
            if rec.state == "waiting" and rec.last_terminated is not None:
                return False  # crash-looping init container: needs restart()
            if rec.state != "running" and not self.containers.start(rt, rec):
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
                self.containers.start(rt, rec)
        self.write_status(rt)
        if self.auto and any(r.reason == "ErrImagePull" for r in rt.regular_records()):
            await asyncio.sleep(0)
            for rec in rt.regular_records():
                if rec.reason == "ErrImagePull":
                    self.containers.start(rt, rec)
            self.write_status(rt)

    # containers -----------------------------------------------------------------------

    def _kill_groups(self, rt: PodRuntime) -> None:
        for proc in list(rt.processes.values()) + list(rt.exec_processes):
            kill_group(proc, rt.uid, signal.SIGKILL)

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
            kill_group(proc, rt.uid, signal.SIGKILL)
        await reap_marked(rt.uid)
        self.cluster.finish_pod_deletion(rt.namespace, rt.name, rt.uid)

    async def _stop_containers(
        self, rt: PodRuntime, idle_exit: int, reason: str | None = None
    ) -> None:
        procs = dict(rt.processes)
        for name, proc in procs.items():
            kill_group(proc, rt.uid, signal.SIGTERM, name)
        waits = [asyncio.ensure_future(p.wait()) for p in procs.values()]
        if waits:
            grace = min(self.kill_grace, float(rt.spec.get("terminationGracePeriodSeconds", 30)))
            await asyncio.wait(waits, timeout=grace)
        for name, proc in procs.items():
            kill_group(proc, rt.uid, signal.SIGKILL, name)
        watchers = [rt.watchers[n] for n in procs if n in rt.watchers]
        if watchers:
            await asyncio.wait(watchers, timeout=10)
        for rec in rt.containers.values():
            if rec.state == "running" and rec.name not in rt.processes:
                self.containers.exited(rt, rec, idle_exit, reason)
        self.write_status(rt)

    async def fail_pod(
        self, rt: PodRuntime, reason: str, message: str, disruption: JsonDict | None = None
    ) -> None:
        """Kubelet-side termination: eviction, deadline exceeded."""
        rt.stopping = True
        rt.record.disruption = disruption
        rt.record.reason, rt.record.message = reason, message
        procs = dict(rt.processes)
        for name, proc in procs.items():
            kill_group(proc, rt.uid, signal.SIGKILL, name)
        rt.processes.clear()  # before anything else runs: their watchers report nothing
        await reap_marked(rt.uid)
        for name in procs:
            watcher = rt.watchers.pop(name, None)
            if watcher is not None:
                await watcher
        for rec in rt.containers.values():
            if rec.state == "running":
                self.containers.exited(rt, rec, 137)
            elif rec.state == "waiting" and rec.started_at is None and rt.record.initialized:
                self.containers.exited(
                    rt,
                    rec,
                    137,
                    "ContainerStatusUnknown",
                    "The container could not be located when the pod was terminated",
                )
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
                self.event(
                    rt,
                    "NodeNotReady",
                    "Node is not ready",
                    warning=True,
                    component="node-controller",
                )
        self.node_ready = False

    async def restore_node(self) -> None:
        self.node_ready = True
        for rt in list(self.pods.values()):
            rt.record.node_ready = True
            if rt.pending_deletion:
                self.spawn(self.stop_pod(rt))
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
            self._kill_groups(rt)
        kill_marked_pods([rt.uid for rt in self.pods.values()])  # one scan for all
        tasks = [t for rt in self.pods.values() for t in rt.watchers.values()]
        tasks += list(self._tasks)
        for task in self._tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
