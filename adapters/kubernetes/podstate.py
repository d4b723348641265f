"""How a job is doing, judged from its pod (a pure function, table-tested).

The phase alone says too little: with ``restartPolicy: Never`` a worker that is
OOMKilled while the coordinator runs leaves the pod Running, so the job is judged from
the container statuses, the pod's conditions and its reason. Waits (an unschedulable
pod, a node that stopped answering, image pulls that keep failing, a pod that never
starts) are measured from the conditions' transition times and the pod's creation, so
they survive a restart of the adapter.

Registries fail transiently, and the kubelet retries pulls with back-off: a failing pull
(``ErrImagePull``, then ``ImagePullBackOff``) fails the job only after
``Waits.image_pull_seconds``; an image name that cannot be pulled at all does at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.execution.ports import JobStatus, Phase

Obj = Mapping[str, Any]

# Waiting reasons a container does not recover from by itself (for a CI job).
STUCK = frozenset({
    "InvalidImageName", "ErrImageNeverPull",
    "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
    "CrashLoopBackOff",
})  # fmt: skip
# Waiting reasons of a pull the kubelet keeps retrying (the registry may recover).
PULL_FAILING = frozenset({"ErrImagePull", "ImagePullBackOff"})
_PLAIN_ENDINGS = frozenset({"Error", "Completed", ""})


@dataclass(frozen=True)
class Waits:
    unschedulable_seconds: float = 300.0
    node_lost_seconds: float = 60.0
    start_seconds: float = 900.0
    image_pull_seconds: float = 120.0


def judge(
    pod: Obj, now: datetime, waits: Waits, pull_errors: Mapping[str, str] | None = None
) -> JobStatus:
    """``pull_errors``: the last ``ErrImagePull`` message seen per container (the
    kubelet shows only "Back-off pulling image" between its attempts)."""
    status = pod.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    for verdict in (
        _pod_failed(status),
        _disrupted(conditions),
        _deleted(pod),
        _unschedulable(conditions, now, waits),
        _node_lost(status, conditions, now, waits),
        _checkout(status),
        _stuck_container(status),
        _worker_ended(status),
    ):
        if verdict is not None:
            return verdict
    containers = _by_name(status.get("containerStatuses"))
    coordinator = (containers.get("coordinator") or {}).get("state") or {}
    if "terminated" in coordinator:
        ended = coordinator["terminated"]
        reason = ended.get("reason") or ""
        return JobStatus(
            Phase.EXITED, int(ended.get("exitCode", 0)), "" if reason in _PLAIN_ENDINGS else reason
        )
    pulling = _pull_failing(pod, conditions, now, waits, pull_errors or {})
    if pulling is not None:
        return pulling
    worker = (containers.get("worker") or {}).get("state") or {}
    if "running" in coordinator and "running" in worker:
        return JobStatus(Phase.RUNNING)
    return _preparing(pod, status, now, waits)


def _disrupted(conditions: Mapping[str, Obj]) -> JobStatus | None:
    condition = conditions.get("DisruptionTarget")
    if condition is None or condition.get("status") != "True":
        return None
    why = condition.get("reason") or "DisruptionTarget"
    return _failed(f"the pod was disrupted ({why}): {condition.get('message') or ''}".strip())


def _pod_failed(status: Obj) -> JobStatus | None:
    reason, message = status.get("reason") or "", (status.get("message") or "").strip()
    if reason == "Evicted":
        return _failed(f"the pod was evicted: {message}".strip())
    if reason == "DeadlineExceeded":
        return _failed("the pod ran past its activeDeadlineSeconds and was stopped")
    if status.get("phase") == "Failed" and reason:
        return _failed(f"the pod failed ({reason}): {message}".strip())
    return None


def _deleted(pod: Obj) -> JobStatus | None:
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return _failed("the pod was deleted outside Danube")
    return None


def _unschedulable(conditions: Mapping[str, Obj], now: datetime, waits: Waits) -> JobStatus | None:
    condition = conditions.get("PodScheduled")
    if condition is None or condition.get("status") != "False":
        return None
    waited = _since(condition, now)
    if condition.get("reason") == "Unschedulable" and waited >= waits.unschedulable_seconds:
        return _failed(
            f"the pod could not be scheduled for {waited:.0f}s: {condition.get('message') or ''}"
        )
    return JobStatus(Phase.PREPARING, reason=str(condition.get("message") or ""))


def on_lost_node(pod: Obj) -> bool:
    """The node controller marks a lost node's pods not ready; their containers are
    still reported ready (the kubelet is not there to say otherwise). Such a pod can
    only be deleted with grace period 0."""
    status = pod.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    ready, containers_ready = conditions.get("Ready"), conditions.get("ContainersReady")
    return (
        status.get("phase") == "Running"
        and (ready or {}).get("status") == "False"
        and (containers_ready or {}).get("status") == "True"
    )


def _node_lost(
    status: Obj, conditions: Mapping[str, Obj], now: datetime, waits: Waits
) -> JobStatus | None:
    if not on_lost_node({"status": status}):
        return None
    waited = _since(conditions["Ready"], now)
    if waited >= waits.node_lost_seconds:
        return _failed(f"the node running the pod stopped responding {waited:.0f}s ago (node lost)")
    return None


def _checkout(status: Obj) -> JobStatus | None:
    checkout = _by_name(status.get("initContainerStatuses")).get("checkout")
    state = (checkout or {}).get("state") or {}
    waiting, ended = state.get("waiting") or {}, state.get("terminated")
    if waiting.get("reason") in STUCK:
        return _failed(_could_not_start("checkout", checkout or {}, waiting))
    if ended is not None and int(ended.get("exitCode", 0)) != 0:
        lines = [ln.strip() for ln in (ended.get("message") or "").splitlines() if ln.strip()]
        detail = f": {lines[-1]}" if lines else ""
        return _failed(f"checkout failed (exit code {ended.get('exitCode')}){detail}")
    return None


def _stuck_container(status: Obj) -> JobStatus | None:
    for name, container in sorted(_by_name(status.get("containerStatuses")).items()):
        waiting = ((container.get("state") or {}).get("waiting")) or {}
        if waiting.get("reason") in STUCK:
            return _failed(_could_not_start(name, container, waiting))
    return None


def _worker_ended(status: Obj) -> JobStatus | None:
    worker = _by_name(status.get("containerStatuses")).get("worker") or {}
    ended = (worker.get("state") or {}).get("terminated")
    if ended is None:
        return None
    code, reason = ended.get("exitCode"), ended.get("reason") or ""
    if reason in _PLAIN_ENDINGS:
        return _failed(f"the worker container exited with code {code}")
    return _failed(f"the worker container was {reason} (exit code {code})")


def _pull_failing(
    pod: Obj,
    conditions: Mapping[str, Obj],
    now: datetime,
    waits: Waits,
    pull_errors: Mapping[str, str],
) -> JobStatus | None:
    status = pod.get("status") or {}
    pulls_since = {  # when the kubelet began pulling each kind of container's image
        "init": _first_time(pod, conditions.get("PodScheduled")),
        "regular": _first_time(pod, conditions.get("Initialized"), conditions.get("PodScheduled")),
    }
    for kind, key in (("init", "initContainerStatuses"), ("regular", "containerStatuses")):
        for name, container in sorted(_by_name(status.get(key)).items()):
            waiting = ((container.get("state") or {}).get("waiting")) or {}
            if waiting.get("reason") not in PULL_FAILING:
                continue
            why = _could_not_start(name, container, waiting)
            if waiting["reason"] != "ErrImagePull" and pull_errors.get(name):
                why += f" (last pull error: {' '.join(pull_errors[name].split())})"
            since = pulls_since[kind]
            waited = (now - _time(since)).total_seconds() if since else 0.0
            if waited < waits.image_pull_seconds:
                return JobStatus(Phase.PREPARING, reason=f"{why}; retrying")
            return _failed(f"{why}; still failing after {waited:.0f}s")
    return None


def pull_errors_of(pod: Obj) -> dict[str, str]:
    """The ``ErrImagePull`` messages in the pod's container statuses, by container."""
    status = pod.get("status") or {}
    found = {}
    for key in ("initContainerStatuses", "containerStatuses"):
        for name, container in _by_name(status.get(key)).items():
            waiting = ((container.get("state") or {}).get("waiting")) or {}
            if waiting.get("reason") == "ErrImagePull" and waiting.get("message"):
                found[name] = str(waiting["message"])
    return found


def _first_time(pod: Obj, *conditions: Obj | None) -> str | None:
    """The transition time of the first of ``conditions`` that is True, else when the
    pod was created."""
    for condition in conditions:
        if condition is not None and condition.get("status") == "True":
            stamp = condition.get("lastTransitionTime")
            if stamp:
                return str(stamp)
    created = (pod.get("metadata") or {}).get("creationTimestamp")
    return str(created) if created else None


def _preparing(pod: Obj, status: Obj, now: datetime, waits: Waits) -> JobStatus:
    created = (pod.get("metadata") or {}).get("creationTimestamp")
    age = (now - _time(created)).total_seconds() if created else 0.0
    if age >= waits.start_seconds:
        return _failed(f"the pod did not start within {waits.start_seconds:.0f}s")
    return JobStatus(Phase.PREPARING, reason=str(status.get("phase") or "Pending"))


def _could_not_start(name: str, container: Obj, waiting: Obj) -> str:
    image = container.get("image") or "?"
    message = " ".join(str(waiting.get("message") or "").split())
    return f"the {name} container ({image}) could not start: {waiting['reason']}" + (
        f": {message}" if message else ""
    )


def _by_name(statuses: Any) -> dict[str, Obj]:
    return {s.get("name", ""): s for s in statuses or []}


def _since(condition: Obj, now: datetime) -> float:
    stamp = condition.get("lastTransitionTime")
    return (now - _time(stamp)).total_seconds() if stamp else 0.0


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _failed(reason: str) -> JobStatus:
    return JobStatus(Phase.FAILED, reason=reason)
