"""What the kubelet keeps per pod: container records, processes, logs, the sandbox."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from .podstatus import ContainerRecord, PodRecord
from .runtime import LogBuffer, Process
from .sandbox import Sandbox

JsonDict = dict[str, Any]


class KubeletError(Exception):
    """A step asked of the kubelet that does not apply to the pod's state."""


@dataclass
class PodRuntime:
    namespace: str
    name: str
    uid: str
    spec: JsonDict
    qos: str
    record: PodRecord = field(default_factory=PodRecord)
    containers: dict[str, ContainerRecord] = field(default_factory=dict)
    logs: dict[str, LogBuffer] = field(default_factory=dict)
    previous_logs: dict[str, LogBuffer] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    watchers: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    exits: dict[str, asyncio.Future[int]] = field(default_factory=dict)
    exec_processes: set[Process] = field(default_factory=set)
    sandbox: Sandbox | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    stopping: bool = False
    removed: bool = False
    pending_deletion: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.namespace, self.name

    def init_records(self) -> list[ContainerRecord]:
        return [r for r in self.containers.values() if r.init]

    def regular_records(self) -> list[ContainerRecord]:
        return [r for r in self.containers.values() if not r.init]

    def container_spec(self, name: str) -> JsonDict:
        return self.containers[name].spec

    @property
    def fully_started(self) -> bool:
        return all(
            r.state != "waiting" or r.last_terminated is not None for r in self.regular_records()
        )


def new_runtime(pod: JsonDict, on_log: Any) -> PodRuntime:
    meta, spec = pod["metadata"], pod["spec"]
    runtime = PodRuntime(
        meta["namespace"],
        meta["name"],
        meta["uid"],
        spec,
        pod["status"].get("qosClass", "BestEffort"),
    )
    inits = spec.get("initContainers") or []
    first_reason = "PodInitializing" if inits else "ContainerCreating"
    for container in inits:
        runtime.containers[container["name"]] = ContainerRecord(
            container["name"], container, True, reason="PodInitializing"
        )
    for container in spec["containers"]:
        runtime.containers[container["name"]] = ContainerRecord(
            container["name"], container, False, reason=first_reason
        )
    for name in runtime.containers:
        runtime.logs[name] = LogBuffer(on_log)
    return runtime
