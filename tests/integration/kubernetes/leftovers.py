"""The check every Kubernetes test ends with: no pod and no Secret of Danube's is left.

It reads the API double's state directly (so it neither adds requests that a test counts
nor meets the faults it injected), or a real cluster through the API.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from kubernetes.client import ApiClient, CoreV1Api

from domain.ids import JobId

MANAGED_BY = "app.kubernetes.io/managed-by"
JOB_LABEL = "danube.dev/job"


class Objects(Protocol):
    """What is in a namespace (the double has these methods)."""

    def pods(self, namespace: str) -> list[dict[str, Any]]: ...
    def secrets(self, namespace: str) -> list[dict[str, Any]]: ...


class ClusterObjects:
    """``Objects`` of a real cluster."""

    def __init__(self, api: ApiClient) -> None:
        self._api, self._core = api, CoreV1Api(api)

    def pods(self, namespace: str) -> list[dict[str, Any]]:
        found = self._core.list_namespaced_pod(namespace, label_selector=f"{MANAGED_BY}=danube")
        return [self._api.sanitize_for_serialization(pod) for pod in found.items]

    def secrets(self, namespace: str) -> list[dict[str, Any]]:
        found = self._core.list_namespaced_secret(namespace, label_selector=f"{MANAGED_BY}=danube")
        return [self._api.sanitize_for_serialization(secret) for secret in found.items]


def ours(objects: list[dict[str, Any]], job: JobId | None) -> list[str]:
    names = []
    for obj in objects:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if labels.get(MANAGED_BY) != "danube":
            continue
        if job is None or labels.get(JOB_LABEL) == str(job):
            names.append(obj["metadata"]["name"])
    return names


def assert_nothing_left(
    objects: Objects, namespace: str, job: JobId | None = None, timeout: float = 20.0
) -> None:
    """Wait until no pod and no Secret labelled as Danube's (of ``job``, or of any job)
    is left in ``namespace``; fail naming what is still there."""
    deadline = time.monotonic() + timeout
    while True:
        left = {
            "pods": ours(objects.pods(namespace), job),
            "secrets": ours(objects.secrets(namespace), job),
        }
        if not left["pods"] and not left["secrets"]:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout}s, still left in {namespace}: {left}")
        time.sleep(0.02)
