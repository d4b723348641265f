"""The container runtime side of the kubelet: pull, configure, start, watch, stop.

Image pulls are simulated (faults decide whether they fail); configuration resolves
env from secrets; a container with a command runs as a local process group whose
output becomes the container's log; its exit becomes the terminated state, with the
pod's restart policy applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .meta import hex_id, utcnow
from .objects import image_is_valid, normalize_image
from .pods import KubeletError, PodRuntime
from .podstatus import ContainerRecord
from .runtime import (
    ConfigError,
    LogBuffer,
    container_argv,
    container_env,
    exit_status,
    kill_group,
    process_env,
    pump,
    reap_marked,
    spawn,
)

if TYPE_CHECKING:
    from .kubelet import Kubelet

JsonDict = dict[str, Any]


class Containers:
    def __init__(self, kubelet: Kubelet) -> None:
        self.kubelet = kubelet

    def secret(self, namespace: str, name: str) -> JsonDict | None:
        return self.kubelet.store.get("secrets", namespace, name)

    def _waiting(self, rt: PodRuntime, rec: ContainerRecord, reason: str, message: str) -> bool:
        rec.state, rec.reason, rec.message = "waiting", reason, message
        self.kubelet.event(
            rt,
            "Failed",
            f"Error: {reason}" if reason != "CreateContainerConfigError" else f"Error: {message}",
            warning=True,
            container=rec.name,
        )
        return False

    def start(self, rt: PodRuntime, rec: ContainerRecord) -> bool:
        """Pull, configure and start one container. False when it is left waiting."""
        pod = self.kubelet.pod_object(rt)
        if pod is None or rt.sandbox is None:
            return False
        fault = self.kubelet.cluster.faults.container_fault(
            rt.namespace, rt.name, rec.name, rec.image
        )
        reason = fault.reason if fault else None
        if reason == "InvalidImageName" or not image_is_valid(rec.image):
            return self._waiting(
                rt,
                rec,
                "InvalidImageName",
                (fault and fault.message)
                or (
                    f'Failed to apply default image tag "{rec.image}": couldn\'t parse image name '
                    f'"{rec.image}": invalid reference format'
                ),
            )
        if reason == "ErrImagePull":
            return self._pull_failed(rt, rec, fault.message if fault else None)
        try:
            if reason == "CreateContainerConfigError":
                raise ConfigError((fault and fault.message) or 'secret "missing" not found')
            declared = container_env(pod, rec.spec, self.secret)
        except ConfigError as exc:
            return self._waiting(rt, rec, "CreateContainerConfigError", str(exc))
        rec.image_id = self._image_id(rec.image)
        self._pulled(rt, rec)
        rec.container_id = "containerd://" + hex_id()
        rec.reason = rec.message = None
        self.kubelet.event(rt, "Created", f"Created container: {rec.name}", container=rec.name)
        env = process_env(pod, rec.spec, declared, rt.sandbox)
        argv = container_argv(rec.spec, env, rt.sandbox)
        rt.exits[rec.name] = asyncio.get_running_loop().create_future()
        rec.state, rec.started_at, rec.finished_at = "running", utcnow(), None
        self.kubelet.event(rt, "Started", f"Started container {rec.name}", container=rec.name)
        if not argv:
            if rec.init:  # an init container without a command has nothing to do
                self.exited(rt, rec, 0)
            return True
        watcher = asyncio.get_running_loop().create_task(
            self._run_process(rt, rec, argv, rt.sandbox.working_dir(rec.spec), env)
        )
        rt.watchers[rec.name] = watcher
        return True

    def _pull_failed(self, rt: PodRuntime, rec: ContainerRecord, message: str | None) -> bool:
        image = normalize_image(rec.image)
        if rec.reason == "ErrImagePull":
            rec.reason, rec.message = "ImagePullBackOff", f'Back-off pulling image "{rec.image}"'
            self.kubelet.event(rt, "BackOff", rec.message, warning=True, container=rec.name)
            return False
        self.kubelet.event(rt, "Pulling", f'Pulling image "{rec.image}"', container=rec.name)
        text = message or (
            f'failed to pull and unpack image "{image}": failed to resolve '
            f'reference "{image}": pull access denied, repository does not exist '
            "or may require authorization: server message: insufficient_scope: "
            "authorization failed"
        )
        self.kubelet.event(
            rt,
            "Failed",
            f'Failed to pull image "{rec.image}": {text}',
            warning=True,
            container=rec.name,
        )
        return self._waiting(rt, rec, "ErrImagePull", text)

    def _pulled(self, rt: PodRuntime, rec: ContainerRecord) -> None:
        if rec.spec.get("imagePullPolicy") == "IfNotPresent" or rec.restart_count:
            self.kubelet.event(
                rt,
                "Pulled",
                f'Container image "{rec.image}" already present on machine',
                container=rec.name,
            )
            return
        self.kubelet.event(rt, "Pulling", f'Pulling image "{rec.image}"', container=rec.name)
        self.kubelet.event(
            rt,
            "Pulled",
            f'Successfully pulled image "{rec.image}" in 412ms (412ms '
            "including waiting). Image size: 2154311 bytes.",
            container=rec.name,
        )

    @staticmethod
    def _image_id(image: str) -> str:
        normalized = normalize_image(image)
        repo = normalized.split("@")[0].rsplit(":", 1)[0] if "/" in normalized else normalized
        return f"{repo}@sha256:{hashlib.sha256(normalized.encode()).hexdigest()}"

    async def _run_process(
        self, rt: PodRuntime, rec: ContainerRecord, argv: list[str], cwd: Path, env: dict[str, str]
    ) -> None:
        log = rt.logs[rec.name]
        try:
            proc = await spawn(argv, cwd, env)
        except OSError as exc:
            rec.finished_at = utcnow()
            self.exited(
                rt,
                rec,
                128,
                "StartError",
                (
                    "failed to create containerd task: failed to create shim task: OCI runtime "
                    "create failed: runc create failed: unable to start container process: exec: "
                    f'"{argv[0]}": {exc.strerror or exc}: unknown'
                ),
            )
            return
        if rt.stopping or rt.watchers.get(rec.name) is not asyncio.current_task():
            kill_group(proc, rt.uid, signal.SIGKILL, rec.name)  # stopped while starting
        else:
            rt.processes[rec.name] = proc
        pumps = asyncio.gather(pump(proc.stdout, log.append), pump(proc.stderr, log.append))
        returncode = await proc.wait()
        await reap_marked(rt.uid, rec.name)  # the container's PID namespace goes away
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(pumps, 5)
        log.close()
        if rt.processes.get(rec.name) is proc:
            del rt.processes[rec.name]
            self.exited(rt, rec, exit_status(returncode))

    def exited(
        self,
        rt: PodRuntime,
        rec: ContainerRecord,
        code: int,
        reason: str | None = None,
        message: str | None = None,
    ) -> None:
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
            rec.message = (
                f"back-off 10s restarting failed container={rec.name} "
                f"pod={rt.name}_{rt.namespace}({rt.uid})"
            )
            self.kubelet.event(
                rt,
                "BackOff",
                f"Back-off restarting failed container {rec.name} in pod "
                f"{rt.name}_{rt.namespace}({rt.uid})",
                warning=True,
                container=rec.name,
            )
        if not rt.stopping:  # a stopping pod reports once, when all its containers ended
            self.kubelet.write_status(rt)

    def _termination_message(self, rt: PodRuntime, rec: ContainerRecord) -> str | None:
        policy = rec.spec.get("terminationMessagePolicy")
        if rec.exit_code == 0 or policy != "FallbackToLogsOnError":
            return None
        tail = b"".join(rt.logs[rec.name].data().splitlines(keepends=True)[-80:])[-2048:]
        return tail.decode("utf-8", "replace") or None

    async def terminate(
        self,
        rt: PodRuntime,
        name: str,
        exit_code: int = 0,
        reason: str | None = None,
        message: str | None = None,
    ) -> None:
        rec = rt.containers[name]
        proc = rt.processes.pop(name, None)
        watcher = rt.watchers.pop(name, None)
        if proc is not None:
            kill_group(proc, rt.uid, signal.SIGKILL, name)
        await reap_marked(rt.uid, name)  # exec'd processes die with their container
        if watcher is not None:
            await watcher
        if rec.started_at is None:
            rec.started_at = utcnow()
        self.exited(rt, rec, exit_code, reason, message)

    async def restart(self, rt: PodRuntime, name: str) -> None:
        rec = rt.containers[name]
        if rec.state != "waiting" or rec.last_terminated is None:
            raise KubeletError(f"container {name} is not waiting to restart")
        rt.previous_logs[name] = rt.logs[name]
        rt.logs[name] = LogBuffer(self.kubelet.on_change)
        rt.watchers.pop(name, None)
        self.start(rt, rec)
        self.kubelet.write_status(rt)
        if self.kubelet.auto:
            self.kubelet.spawn(self.kubelet.sync(rt))
