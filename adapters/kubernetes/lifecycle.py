"""The side-effecting edge of a job's pod: creating it (Secret, pod, ownership) and
deleting it, idempotently.

Creation is at-least-once: an ambiguous create (no response) is retried with the same
deterministic name, and 409 AlreadyExists for an object labelled with this job is
success. Deletion treats 404 as done; a pod stuck terminating past its grace period (its
node is gone) is deleted again with grace period 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from adapters.kubernetes.client import KubeApi, Obj
from adapters.kubernetes.errors import ApiError
from adapters.kubernetes.pods import (
    PodTemplate,
    job_id_of,
    owner_patch,
    pod_manifest,
    secret_manifest,
    secret_name,
)
from adapters.kubernetes.podstate import on_lost_node
from domain.execution.ports import JobLaunch
from domain.ids import JobId

log = logging.getLogger(__name__)
CONFLICT_ROUNDS = 3


class JobStoppedError(Exception):
    """The job was stopped while its pod was being created."""


def create_pod(
    api: KubeApi, launch: JobLaunch, template: PodTemplate, stopped: Callable[[], bool]
) -> Obj:
    """Create the job's pod, then at once its Secret, owned by the pod (the kubelet
    waits for a Secret volume that is not there yet; the owner reference, set in the
    create itself, saves the patch that made the pod its owner later, and the API's
    garbage collector deletes the Secret with its pod, or at once if the pod was gone
    before it). Returns the pod once both exist. Raises ``ApiError`` (either failed: the
    job fails and deleting it deletes both) or ``JobStoppedError``."""
    if stopped():
        raise JobStoppedError()
    namespace, job_id = template.namespace, launch.job_id
    manifest = pod_manifest(launch, template)
    pod = _ensure(
        lambda: api.create_pod(namespace, manifest),
        lambda: api.read_pod(namespace, manifest["metadata"]["name"]),
        job_id,
        "pod",
    )
    ensure_secret(api, launch, template, pod)
    return pod


def ensure_secret(api: KubeApi, launch: JobLaunch, template: PodTemplate, pod: Obj) -> None:
    """The job's Secret, owned by its pod: created if it is missing (also for a pod an
    adapter stopped between the two creates left without one, which the kubelet would
    otherwise wait for), made the pod's if an earlier adapter created it unowned."""
    secret = secret_manifest(launch, template, owner=pod)
    created = _ensure(
        lambda: api.create_secret(template.namespace, secret),
        lambda: api.read_secret(template.namespace, secret["metadata"]["name"]),
        launch.job_id,
        "Secret",
    )
    if not _owned_by(created, pod):  # one an earlier adapter created before its pod
        own_secret(api, template.namespace, pod)


def _owned_by(obj: Obj, owner: Obj) -> bool:
    uid = owner["metadata"]["uid"]
    return any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or [])


def own_secret(api: KubeApi, namespace: str, pod: Obj) -> None:
    """Make the pod the owner of its job's Secret, so the Secret goes with the pod even
    if nobody deletes it. Not fatal: deleting the job deletes its Secret too."""
    job_id = job_id_of(pod)
    if job_id is None:
        return
    try:
        api.patch_secret(namespace, secret_name(job_id), owner_patch(pod))
    except ApiError as error:
        log.warning("could not make pod %s own its Secret: %s", pod["metadata"]["name"], error)


def _ensure(
    create: Callable[[], Obj], read: Callable[[], Obj | None], job_id: JobId, kind: str
) -> Obj:
    for _ in range(CONFLICT_ROUNDS):
        try:
            return create()
        except ApiError as error:
            if error.status != 409:
                raise
            existing = read()
        if existing is None:
            continue  # it went away meanwhile: create it again
        if job_id_of(existing) != job_id:
            name = existing["metadata"]["name"]
            raise ApiError(409, f"a {kind} named {name} exists and is not this job's")
        return existing
    raise ApiError(409, f"the {kind} kept conflicting")


def delete_pod(
    api: KubeApi, namespace: str, job_id: JobId, pod: Obj | None, force_after: float
) -> None:
    """Delete the job's pod as last seen and its Secret, each only if it is this job's;
    with grace period 0 if its node is lost or it is stuck terminating."""
    if pod is not None and job_id_of(pod) == job_id:
        meta = pod["metadata"]
        grace = 0 if on_lost_node(pod) or _overdue(pod, force_after) else None
        if not meta.get("deletionTimestamp") or grace == 0:
            api.delete_pod(namespace, meta["name"], meta["uid"], grace)
    secret = api.read_secret(namespace, secret_name(job_id))
    if secret is not None and job_id_of(secret) == job_id:
        api.delete_secret(namespace, secret["metadata"]["name"], secret["metadata"]["uid"])


def _overdue(pod: Obj | None, after: float) -> bool:
    stamp = ((pod or {}).get("metadata") or {}).get("deletionTimestamp")
    if not stamp:
        return False
    deadline = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (datetime.now(UTC) - deadline).total_seconds() > after
