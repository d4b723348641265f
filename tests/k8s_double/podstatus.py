"""Pod status as the kubelet reports it, computed from the simulated container states.

`compute_phase` follows kubelet's getPhase (pkg/kubelet/kubelet_pods.go) for regular
containers and non-sidecar init containers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .meta import rfc3339
from .objects import normalize_image

JsonDict = dict[str, Any]


@dataclass
class ContainerRecord:
    """What the simulated runtime knows about one container."""

    name: str
    spec: JsonDict
    init: bool
    state: str = "waiting"  # waiting | running | terminated
    reason: str | None = "ContainerCreating"
    message: str | None = None
    exit_code: int = 0
    signal: int | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    container_id: str | None = None
    image_id: str = ""
    restart_count: int = 0
    last_terminated: JsonDict | None = None

    @property
    def image(self) -> str:
        return str(self.spec.get("image", ""))

    @property
    def ready(self) -> bool:
        return self.state == "running"

    def terminated_dict(self) -> JsonDict:
        body: JsonDict = {"exitCode": self.exit_code}
        if self.signal is not None:
            body["signal"] = self.signal
        if self.reason:
            body["reason"] = self.reason
        if self.message:
            body["message"] = self.message
        if self.started_at:
            body["startedAt"] = rfc3339(self.started_at)
        if self.finished_at:
            body["finishedAt"] = rfc3339(self.finished_at)
        if self.container_id:
            body["containerID"] = self.container_id
        return body

    def to_status(self) -> JsonDict:
        if self.state == "running":
            state: JsonDict = {"running": {"startedAt": rfc3339(self.started_at)}}
        elif self.state == "terminated":
            state = {"terminated": self.terminated_dict()}
        else:
            waiting: JsonDict = {"reason": self.reason} if self.reason else {}
            if self.message:
                waiting["message"] = self.message
            state = {"waiting": waiting}
        status: JsonDict = {
            "name": self.name,
            "state": state,
            "lastState": {"terminated": self.last_terminated} if self.last_terminated else {},
            "ready": self.ready,
            "restartCount": self.restart_count,
            "image": normalize_image(self.image) if self.image_id else self.image,
            "imageID": self.image_id,
            "started": self.state == "running",
        }
        if self.container_id:
            status["containerID"] = self.container_id
        mounts = [
            {
                "name": m["name"],
                "mountPath": m["mountPath"],
                **(
                    {"readOnly": True, "recursiveReadOnly": "Disabled"} if m.get("readOnly") else {}
                ),
            }
            for m in self.spec.get("volumeMounts") or []
        ]
        if mounts:
            status["volumeMounts"] = mounts
        return status


@dataclass
class PodRecord:
    """Pod-level facts the kubelet and the control plane have established."""

    scheduled: bool = False
    unschedulable: str | None = None
    node: str = ""
    host_ip: str = ""
    pod_ip: str = ""
    start_time: dt.datetime | None = None
    sandbox_ready: bool = False
    initialized: bool = False
    terminal_phase: str | None = None
    reason: str | None = None
    message: str | None = None
    disruption: JsonDict | None = None
    node_ready: bool = True
    transitions: dict[str, tuple[str, str]] = field(default_factory=dict)


def compute_phase(restart_policy: str, records: list[ContainerRecord]) -> str:
    pending_init = failed_init = 0
    for rec in (r for r in records if r.init):
        if rec.state == "running":
            pending_init += 1
        elif rec.state == "terminated":
            failed_init += rec.exit_code != 0
        elif rec.last_terminated is not None:
            failed_init += rec.last_terminated.get("exitCode", 0) != 0
        else:
            pending_init += 1
    running = waiting = stopped = succeeded = 0
    regular = [r for r in records if not r.init]
    for rec in regular:
        if rec.state == "running":
            running += 1
        elif rec.state == "terminated":
            stopped += 1
            succeeded += rec.exit_code == 0
        elif rec.last_terminated is not None:
            stopped += 1
        else:
            waiting += 1
    any_started = any(r.state != "waiting" or r.last_terminated for r in regular)
    if failed_init and restart_policy == "Never":
        return "Failed"
    if (pending_init and not any_started) or waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if restart_policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Failed" if restart_policy == "Never" else "Running"
    return "Pending"


def _condition(
    pod: PodRecord, kind: str, status: bool, reason: str | None = None, message: str | None = None
) -> JsonDict:
    value = "True" if status else "False"
    previous = pod.transitions.get(kind)
    if previous is None or previous[0] != value:
        pod.transitions[kind] = (value, rfc3339())
    condition: JsonDict = {
        "type": kind,
        "status": value,
        "lastProbeTime": None,
        "lastTransitionTime": pod.transitions[kind][1],
    }
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def build_status(
    spec: JsonDict, qos: str, pod: PodRecord, records: list[ContainerRecord]
) -> JsonDict:
    if not pod.scheduled:
        status: JsonDict = {"phase": "Pending", "qosClass": qos}
        if pod.unschedulable:
            status["conditions"] = [
                _condition(pod, "PodScheduled", False, "Unschedulable", pod.unschedulable)
            ]
        return status
    phase = pod.terminal_phase or compute_phase(spec.get("restartPolicy", "Always"), records)
    if phase in ("Succeeded", "Failed"):
        pod.terminal_phase = phase
    conditions = []
    if pod.disruption:
        conditions.append(
            _condition(
                pod, "DisruptionTarget", True, pod.disruption["reason"], pod.disruption["message"]
            )
        )
    if pod.start_time is not None:
        conditions += _kubelet_conditions(pod, phase, records)
    conditions.append(_condition(pod, "PodScheduled", True))
    status = {"phase": phase, "conditions": conditions}
    if pod.reason:
        status["reason"] = pod.reason
    if pod.message:
        status["message"] = pod.message
    if pod.start_time is not None:
        status["hostIP"] = pod.host_ip
        status["hostIPs"] = [{"ip": pod.host_ip}]
        if pod.pod_ip:
            status["podIP"] = pod.pod_ip
            status["podIPs"] = [{"ip": pod.pod_ip}]
        status["startTime"] = rfc3339(pod.start_time)
        inits = [r.to_status() for r in records if r.init]
        if inits:
            status["initContainerStatuses"] = inits
        regular = sorted((r for r in records if not r.init), key=lambda r: r.name)
        status["containerStatuses"] = [r.to_status() for r in regular]
    status["qosClass"] = qos
    return status


def _kubelet_conditions(
    pod: PodRecord, phase: str, records: list[ContainerRecord]
) -> list[JsonDict]:
    done = phase in ("Succeeded", "Failed")
    completed = "PodCompleted" if phase == "Succeeded" else None
    inits = [r for r in records if r.init]
    incomplete = [r.name for r in inits if not (r.state == "terminated" and r.exit_code == 0)]
    if incomplete and not pod.initialized:
        initialized = _condition(
            pod,
            "Initialized",
            False,
            "ContainersNotInitialized",
            f"containers with incomplete status: [{' '.join(incomplete)}]",
        )
    else:
        initialized = _condition(pod, "Initialized", True, completed)
    unready = [r.name for r in records if not r.init and not r.ready]
    if phase == "Succeeded":
        ready = [
            _condition(pod, "Ready", False, "PodCompleted"),
            _condition(pod, "ContainersReady", False, "PodCompleted"),
        ]
    elif unready or not pod.node_ready:
        message = f"containers with unready status: [{' '.join(unready)}]" if unready else None
        reason = "ContainersNotReady" if unready else None
        ready = [
            _condition(pod, "Ready", False, reason, message),
            _condition(pod, "ContainersReady", not unready, reason, message),
        ]
    else:
        ready = [_condition(pod, "Ready", True), _condition(pod, "ContainersReady", True)]
    sandbox = _condition(pod, "PodReadyToStartContainers", pod.sandbox_ready and not done)
    return [sandbox, initialized, *ready]
