"""The pod watch breaks, stalls or expires: the adapter resumes from the last
resourceVersion, or lists again after 410 Gone, and jobs finish as if nothing happened."""

from __future__ import annotations

import pytest

from tests.integration.kubernetes.conftest import Kube
from tests.support import wait_until

TWO_STEPS = """
    from danube import pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        step.run("echo ready; sleep 0.5")
        step.run("echo done")
"""


def ready(kube: Kube, job_id) -> None:  # type: ignore[no-untyped-def]
    wait_until(lambda: b"ready\n" in kube.log(job_id), timeout=20, what="the first step")


def watches(kube: Kube) -> list:  # type: ignore[type-arg]
    return kube.double.requests_matching(verb="watch", resource="pods")


def test_a_dropped_watch_resumes_from_its_resource_version(kube: Kube) -> None:
    _, job_id = kube.request(TWO_STEPS)
    ready(kube, job_id)
    assert kube.double.faults.drop_watches("pods") == 1
    assert kube.finished(job_id).state == "success"
    resumed = watches(kube)[1]
    assert resumed.query["resourceVersion"] != ["0"]
    assert len(kube.double.requests_matching(verb="list", resource="pods")) == 1
    kube.no_pods_left()


def test_a_watch_whose_version_expired_lists_again(kube: Kube) -> None:
    _, job_id = kube.request(TWO_STEPS)
    ready(kube, job_id)
    faults = kube.double.faults
    faults.stall_watches("pods")  # the adapter sees nothing from here on...
    kube.double.create_namespace("elsewhere")  # ...while the cluster moves on
    faults.compact()
    faults.drop_watches("pods")
    assert kube.finished(job_id).state == "success"
    assert len(kube.double.requests_matching(verb="list", resource="pods")) == 2
    kube.no_pods_left()


def test_a_watch_refused_with_410_lists_again(kube: Kube) -> None:
    _, job_id = kube.request(TWO_STEPS)
    ready(kube, job_id)
    kube.double.faults.fail_next(410, verb="watch", resource="pods")
    kube.double.faults.drop_watches("pods")
    assert kube.finished(job_id).state == "success"
    assert len(kube.double.requests_matching(verb="list", resource="pods")) == 2


def test_a_cleanly_closed_watch_is_opened_again(kube: Kube) -> None:
    _, job_id = kube.request(TWO_STEPS)
    ready(kube, job_id)
    kube.double.faults.close_watches("pods")
    assert kube.finished(job_id).state == "success"
    assert len(watches(kube)) >= 2


@pytest.mark.parametrize("executor_tweaks", [{"watch_read_timeout": 1.0}])
def test_a_stalled_watch_is_given_up_after_the_read_timeout(kube: Kube) -> None:
    _, job_id = kube.request(TWO_STEPS)
    ready(kube, job_id)
    kube.double.faults.stall_watches("pods")
    assert kube.finished(job_id).state == "success"
    assert len(watches(kube)) >= 2
    kube.no_pods_left()
