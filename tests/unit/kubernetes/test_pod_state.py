"""How a job is judged from its pod: container statuses, conditions and waits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.kubernetes.podstate import Waits, judge, on_lost_node, pull_errors_of
from domain.execution.ports import JobStatus, Phase

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
WAITS = Waits(
    unschedulable_seconds=60, node_lost_seconds=30, start_seconds=600, image_pull_seconds=120
)
JsonDict = dict[str, Any]


def ago(seconds: int) -> str:
    return datetime.fromtimestamp(NOW.timestamp() - seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def running() -> JsonDict:
    return {"running": {"startedAt": ago(5)}}


def waiting(reason: str, message: str = "") -> JsonDict:
    return {"waiting": {"reason": reason, **({"message": message} if message else {})}}


def ended(code: int, reason: str = "", message: str = "") -> JsonDict:
    body: JsonDict = {"exitCode": code}
    if reason:
        body["reason"] = reason
    if message:
        body["message"] = message
    return {"terminated": body}


def pod(
    phase: str = "Running",
    checkout: JsonDict | None = None,
    coordinator: JsonDict | None = None,
    worker: JsonDict | None = None,
    conditions: list[JsonDict] | None = None,
    created: int = 10,
    **status: Any,
) -> JsonDict:
    def entry(name: str, state: JsonDict | None, image: str) -> JsonDict:
        return {"name": name, "state": state or waiting("PodInitializing"), "image": image}

    return {
        "metadata": {"name": "danube-job-x", "creationTimestamp": ago(created)},
        "status": {
            "phase": phase,
            "conditions": conditions or [],
            "initContainerStatuses": [entry("checkout", checkout or ended(0), "danube:1")],
            "containerStatuses": [
                entry("coordinator", coordinator, "danube:1"),
                entry("worker", worker, "node:22"),
            ],
            **status,
        },
    }


def condition(
    kind: str, status: str, seconds: int = 0, reason: str = "", message: str = ""
) -> JsonDict:
    return {
        "type": kind,
        "status": status,
        "lastTransitionTime": ago(seconds),
        **({"reason": reason} if reason else {}),
        **({"message": message} if message else {}),
    }


CASES = [
    (
        "both containers running",
        pod(coordinator=running(), worker=running()),
        JobStatus(Phase.RUNNING),
    ),
    (
        "the coordinator exited 0",
        pod("Running", coordinator=ended(0, "Completed"), worker=running()),
        JobStatus(Phase.EXITED, 0, ""),
    ),
    (
        "the coordinator exited 1",
        pod("Running", coordinator=ended(1, "Error"), worker=running()),
        JobStatus(Phase.EXITED, 1, ""),
    ),
    (
        "the coordinator was OOMKilled",
        pod("Running", coordinator=ended(137, "OOMKilled"), worker=running()),
        JobStatus(Phase.EXITED, 137, "OOMKilled"),
    ),
    (
        "the worker was OOMKilled while the coordinator runs (the phase says Running)",
        pod("Running", coordinator=running(), worker=ended(137, "OOMKilled")),
        JobStatus(Phase.FAILED, reason="the worker container was OOMKilled (exit code 137)"),
    ),
    (
        "the worker exited on its own",
        pod("Running", coordinator=running(), worker=ended(2, "Error")),
        JobStatus(Phase.FAILED, reason="the worker container exited with code 2"),
    ),
    (
        "the worker image cannot be pulled, for now (registries fail transiently)",
        pod("Pending", coordinator=running(), worker=waiting("ErrImagePull", "pull access denied")),
        JobStatus(
            Phase.PREPARING,
            reason="the worker container (node:22) could not start: ErrImagePull: "
            "pull access denied; retrying",
        ),
    ),
    (
        "the worker image still cannot be pulled past the wait (counted from init's end)",
        pod(
            "Pending",
            created=500,
            coordinator=running(),
            worker=waiting("ErrImagePull", "pull access denied"),
            conditions=[
                condition("PodScheduled", "True", 400),
                condition("Initialized", "True", 121),
            ],
        ),
        JobStatus(
            Phase.FAILED,
            reason="the worker container (node:22) could not start: ErrImagePull: "
            "pull access denied; still failing after 121s",
        ),
    ),
    (
        "image pull back-off past the wait",
        pod(
            "Pending",
            created=130,
            coordinator=running(),
            worker=waiting("ImagePullBackOff", "Back-off"),
        ),
        JobStatus(
            Phase.FAILED,
            reason="the worker container (node:22) could not start: ImagePullBackOff: Back-off; "
            "still failing after 130s",
        ),
    ),
    (
        "an invalid image name",
        pod("Pending", worker=waiting("InvalidImageName")),
        JobStatus(
            Phase.FAILED, reason="the worker container (node:22) could not start: InvalidImageName"
        ),
    ),
    (
        "a container config error",
        pod("Pending", coordinator=waiting("CreateContainerConfigError", 'secret "x" not found')),
        JobStatus(
            Phase.FAILED,
            reason="the coordinator container (danube:1) could not start: "
            'CreateContainerConfigError: secret "x" not found',
        ),
    ),
    (
        "the checkout image cannot be pulled, for now",
        pod("Pending", checkout=waiting("ErrImagePull", "denied")),
        JobStatus(
            Phase.PREPARING,
            reason="the checkout container (danube:1) could not start: ErrImagePull: denied; "
            "retrying",
        ),
    ),
    (
        "the checkout image still cannot be pulled past the wait (counted from scheduling)",
        pod(
            "Pending",
            created=300,
            checkout=waiting("ImagePullBackOff", "Back-off"),
            conditions=[condition("PodScheduled", "True", 120)],
        ),
        JobStatus(
            Phase.FAILED,
            reason="the checkout container (danube:1) could not start: ImagePullBackOff: "
            "Back-off; still failing after 120s",
        ),
    ),
    (
        "the checkout failed",
        pod("Failed", checkout=ended(128, "Error", "$ git clone x\nfatal: repository not found\n")),
        JobStatus(
            Phase.FAILED, reason="checkout failed (exit code 128): fatal: repository not found"
        ),
    ),
    (
        "the checkout runs",
        pod("Pending", checkout=running()),
        JobStatus(Phase.PREPARING, reason="Pending"),
    ),
    (
        "containers are being created",
        pod(
            "Pending", coordinator=waiting("ContainerCreating"), worker=waiting("ContainerCreating")
        ),
        JobStatus(Phase.PREPARING, reason="Pending"),
    ),
    (
        "the pod was evicted",
        pod(
            "Failed",
            coordinator=ended(137),
            worker=ended(137),
            reason="Evicted",
            message="The node was low on resource: memory.",
            conditions=[condition("DisruptionTarget", "True", 1, "TerminationByKubelet", "low")],
        ),
        JobStatus(
            Phase.FAILED, reason="the pod was evicted: The node was low on resource: memory."
        ),
    ),
    (
        "the pod was preempted",
        pod(
            coordinator=running(),
            worker=running(),
            conditions=[
                condition("DisruptionTarget", "True", 1, "PreemptionByScheduler", "preempting")
            ],
        ),
        JobStatus(Phase.FAILED, reason="the pod was disrupted (PreemptionByScheduler): preempting"),
    ),
    (
        "the pod ran past its active deadline",
        pod("Failed", coordinator=ended(137), worker=ended(137), reason="DeadlineExceeded"),
        JobStatus(
            Phase.FAILED, reason="the pod ran past its activeDeadlineSeconds and was stopped"
        ),
    ),
    (
        "unschedulable, within the wait",
        pod(
            "Pending",
            conditions=[condition("PodScheduled", "False", 59, "Unschedulable", "0/1 nodes")],
        ),
        JobStatus(Phase.PREPARING, reason="0/1 nodes"),
    ),
    (
        "unschedulable, past the wait",
        pod(
            "Pending",
            conditions=[condition("PodScheduled", "False", 61, "Unschedulable", "0/1 nodes")],
        ),
        JobStatus(Phase.FAILED, reason="the pod could not be scheduled for 61s: 0/1 nodes"),
    ),
    (
        "the node stopped answering, within the wait",
        pod(
            coordinator=running(),
            worker=running(),
            conditions=[condition("Ready", "False", 29), condition("ContainersReady", "True", 99)],
        ),
        JobStatus(Phase.RUNNING),
    ),
    (
        "the node stopped answering, past the wait",
        pod(
            coordinator=running(),
            worker=running(),
            conditions=[condition("Ready", "False", 31), condition("ContainersReady", "True", 99)],
        ),
        JobStatus(
            Phase.FAILED, reason="the node running the pod stopped responding 31s ago (node lost)"
        ),
    ),
    (
        "a container not ready is no lost node",
        pod(
            coordinator=running(),
            worker=running(),
            conditions=[condition("Ready", "False", 99), condition("ContainersReady", "False", 99)],
        ),
        JobStatus(Phase.RUNNING),
    ),
    (
        "someone else deleted the pod",
        {**pod(coordinator=running(), worker=running()), "metadata": {"deletionTimestamp": ago(1)}},
        JobStatus(Phase.FAILED, reason="the pod was deleted outside Danube"),
    ),
    (
        "the pod never started",
        pod("Pending", created=601, coordinator=waiting("ContainerCreating")),
        JobStatus(Phase.FAILED, reason="the pod did not start within 600s"),
    ),
]


@pytest.mark.parametrize(("case", "manifest", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_job_is_judged_from_its_pod(case: str, manifest: JsonDict, expected: JobStatus) -> None:
    assert judge(manifest, NOW, WAITS) == expected


@pytest.mark.parametrize(
    ("conditions", "lost"),
    [
        ([condition("Ready", "False"), condition("ContainersReady", "True")], True),
        ([condition("Ready", "False"), condition("ContainersReady", "False")], False),
        ([condition("Ready", "True"), condition("ContainersReady", "True")], False),
        ([], False),
    ],
)
def test_a_pod_on_a_lost_node_is_recognised_for_deletion_without_grace(
    conditions: list[JsonDict], lost: bool
) -> None:
    assert on_lost_node(pod(coordinator=running(), worker=running(), conditions=conditions)) is lost


def test_a_pull_in_back_off_past_the_wait_fails_with_the_last_pull_error_seen() -> None:
    manifest = pod("Pending", created=200, worker=waiting("ImagePullBackOff", "Back-off"))
    errors = {"worker": "failed to resolve reference: 503 Service Unavailable"}
    assert judge(manifest, NOW, WAITS, errors) == JobStatus(
        Phase.FAILED,
        reason="the worker container (node:22) could not start: ImagePullBackOff: Back-off "
        "(last pull error: failed to resolve reference: 503 Service Unavailable); "
        "still failing after 200s",
    )


def test_the_pull_errors_of_a_pod_are_read_from_its_waiting_containers() -> None:
    manifest = pod(
        "Pending",
        checkout=waiting("ErrImagePull", "denied"),
        worker=waiting("ImagePullBackOff", "Back-off"),
    )
    assert pull_errors_of(manifest) == {"checkout": "denied"}
